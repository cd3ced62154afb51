"""The function loader reads each function's triggers and refuses events the local stack cannot run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_stack.functions import load_functions
from local_stack.template import Resolver, TemplateError
from local_stack.triggers.http import HttpRoute


def _template(events: dict[str, Any]) -> dict[str, Any]:
    return {
        "Globals": {"Function": {"Handler": "app.handler", "Timeout": 5}},
        "Resources": {
            "ThumbnailFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "functions/thumbnail/", "Events": events},
            }
        },
    }


def _load(events: dict[str, Any]) -> list[Any]:
    resolver = Resolver(_template(events), "stack", "us-east-1", "111122223333")
    return load_functions(resolver, base_dir=Path("/project"))


def test_http_api_events_become_routes() -> None:
    [spec] = _load(
        {
            "Get": {"Type": "HttpApi", "Properties": {"Path": "/thumbnails/{id}", "Method": "get"}},
            "Any": {"Type": "HttpApi", "Properties": {"Path": "/files/{proxy+}", "Method": "ANY"}},
        }
    )
    assert spec.routes == (HttpRoute("GET", "/thumbnails/{id}"), HttpRoute("ANY", "/files/{proxy+}"))
    assert spec.code_dir == Path("/project/functions/thumbnail")
    assert spec.timeout_seconds == 5


def test_a_function_without_events_loads_with_no_triggers() -> None:
    [spec] = _load({})
    assert spec.triggers == ()


def test_an_event_type_the_local_stack_does_not_run_fails_at_load_naming_it() -> None:
    events = {
        "Get": {"Type": "HttpApi", "Properties": {"Path": "/thumbnails/{id}", "Method": "GET"}},
        "Uploaded": {
            "Type": "S3",
            "Properties": {"Bucket": {"Ref": "Uploads"}, "Events": "s3:ObjectCreated:*"},
        },
    }
    with pytest.raises(TemplateError) as failure:
        _load(events)
    message = str(failure.value)
    assert message.startswith(
        "ThumbnailFunction: event Uploaded has Type S3, which the local stack does not run"
    )
    assert "(it runs DynamoDB, HttpApi, SQS, Schedule, ScheduleV2)" in message


def test_an_event_without_a_type_fails_too() -> None:
    with pytest.raises(TemplateError, match="ThumbnailFunction: event Odd has Type None"):
        _load({"Odd": {"Properties": {}}})


def test_an_http_api_event_without_path_or_method_fails_naming_the_event() -> None:
    with pytest.raises(
        TemplateError, match="ThumbnailFunction event Get: an HttpApi event needs Path and Method"
    ):
        _load({"Get": {"Type": "HttpApi", "Properties": {"Path": "/thumbnails"}}})


def _load_reserved(declared: Any, stage: str = "dev") -> int | None:
    template = _template({})
    template["Parameters"] = {"Stage": {"Type": "String", "Default": "dev"}, "Cap": {"Type": "Number"}}
    template["Conditions"] = {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}
    template["Resources"]["ThumbnailFunction"]["Properties"]["ReservedConcurrentExecutions"] = declared
    resolver = Resolver(
        template, "stack", "us-east-1", "111122223333", parameter_overrides={"Stage": stage, "Cap": "3"}
    )
    [spec] = load_functions(resolver, base_dir=Path("/project"))
    return spec.reserved_concurrency


def test_reserved_concurrency_is_read_resolved_or_absent() -> None:
    assert _load_reserved(5) == 5
    assert _load_reserved({"Ref": "Cap"}) == 3
    conditional = {"Fn::If": ["IsProd", {"Ref": "Cap"}, {"Ref": "AWS::NoValue"}]}
    assert _load_reserved(conditional, stage="prod") == 3
    assert _load_reserved(conditional, stage="dev") is None
    [spec] = _load({})
    assert spec.reserved_concurrency is None
