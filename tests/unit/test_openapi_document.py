"""docs/openapi.json is generated from the API functions; it must match what the code serves."""

from __future__ import annotations

import json

from local_stack.openapi_doc import DOCUMENT_PATH, build_document, render
from local_stack.template import load_template, resources_of_type


def test_the_checked_in_document_is_current() -> None:
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run `.venv/bin/python -m local_stack.openapi_doc`"
    )


def test_every_route_of_the_template_is_documented_and_signed() -> None:
    document = build_document()
    template_routes = {
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for function in resources_of_type(load_template(), "AWS::Serverless::Function").values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == template_routes
    assert document["security"] == [{"sigv4": []}]
    post = document["paths"]["/generations"]["post"]
    assert {"201", "202", "422", "503"} <= set(post["responses"])
    assert json.dumps(post["requestBody"]).count("GenerationRequest") == 1
