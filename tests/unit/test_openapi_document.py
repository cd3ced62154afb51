"""docs/openapi.json is generated from the API functions; it must match what the code serves."""

from __future__ import annotations

import json
from typing import Any

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


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _schema_name(entry: dict[str, Any]) -> str:
    return str(entry["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


def test_every_operation_lists_the_authorizers_403_and_an_unexpected_500() -> None:
    for name, operation in _operations(build_document()):
        for status in ("403", "500"):
            assert status in operation["responses"], f"{name} does not list {status}"
            assert _schema_name(operation["responses"][status]) == "ErrorResponse"


def test_an_operation_with_a_body_lists_413_and_415_and_the_others_do_not() -> None:
    for name, operation in _operations(build_document()):
        listed = {"413", "415"} & set(operation["responses"])
        assert listed == ({"413", "415"} if "requestBody" in operation else set()), name


def test_every_error_reply_has_the_apis_shape() -> None:
    document = build_document()
    for name, operation in _operations(document):
        for status, entry in operation["responses"].items():
            if int(status) < 400 or (name == "GET /health" and status == "503"):
                continue  # /health answers 503 with its report, which names the failing dependency
            assert _schema_name(entry) == "ErrorResponse", f"{name} {status}"
    assert "HTTPValidationError" not in json.dumps(document)


def test_422_is_listed_only_where_something_is_validated() -> None:
    for name, operation in _operations(build_document()):
        validates = "requestBody" in operation or bool(operation.get("parameters"))
        assert ("422" in operation["responses"]) == validates, name
