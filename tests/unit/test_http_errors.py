"""The API's error replies: how a validation error's location is named to the caller (the body's
fields by their own names, list positions in brackets, other locations with their prefix), and
that every reply a resolver can give, its own and an unexpected error's included, has the
`{"message", "errors"}` shape, with bodies refused by the rule of request_guards."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, ConfigDict

from ideogram_assets.http_errors import _field, error_responses, register_error_handlers
from ideogram_assets.observability import metrics


@pytest.mark.parametrize(
    ("location", "name"),
    [
        pytest.param(("body", "prompt"), "prompt", id="a body field"),
        pytest.param(("body", "tags", 0), "tags[0]", id="a list item"),
        pytest.param(("body", "tags", 12), "tags[12]", id="a list item past nine"),
        pytest.param(
            ("body", "color_palette", 1, "color_hex"),
            "color_palette[1].color_hex",
            id="a field in a list item",
        ),
        pytest.param(("body", "matrix", 0, 1), "matrix[0][1]", id="nested lists"),
    ],
)
def test_a_body_location_is_named_without_the_body_prefix(location: tuple[Any, ...], name: str) -> None:
    assert _field(location) == name


def test_the_body_itself_is_named_body() -> None:
    assert _field(("body",)) == "body"


def test_an_empty_location_is_named_body() -> None:
    assert _field(()) == "body"


@pytest.mark.parametrize(
    ("location", "name"),
    [
        pytest.param(("path", "generation_id"), "path.generation_id", id="a path parameter"),
        pytest.param(("query", "limit"), "query.limit", id="a query parameter"),
        pytest.param(("header", "content-type"), "header.content-type", id="a header"),
    ],
)
def test_a_location_outside_the_body_keeps_its_prefix(location: tuple[Any, ...], name: str) -> None:
    assert _field(location) == name


# -- every reply in the API's shape, whatever the resolver or the body --------------------------


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def _resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    register_error_handlers(app)

    @app.post("/things")
    def create(thing: Thing) -> dict[str, str]:
        if thing.name == "explode":
            raise ValueError("a bug in the route, after the body was read")
        return {"name": thing.name}

    @app.get("/plain")
    def plain() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/broken")
    def broken() -> dict[str, str]:
        raise RuntimeError("secret detail that must not leak")

    return app


def _event(
    method: str,
    path: str,
    body: str | None = None,
    content_type: str | None = "application/json",
    is_base64: bool = False,
) -> dict[str, Any]:
    headers = {"content-type": content_type} if content_type is not None else {}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
        "isBase64Encoded": is_base64,
    }
    if body is not None:
        event["body"] = body
    return event


@pytest.fixture(autouse=True)
def _no_metrics_left() -> Iterator[None]:
    yield
    metrics.clear_metrics()


def _call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    reply = _resolver().resolve(event, SimpleNamespace())  # type: ignore[arg-type]
    assert reply["headers"]["Content-Type"] == "application/json"
    return reply["statusCode"], json.loads(reply["body"])


def _assert_error_shape(body: dict[str, Any]) -> None:
    assert set(body) <= {"message", "errors"}
    assert isinstance(body["message"], str)
    for item in body.get("errors") or []:
        assert set(item) == {"field", "message"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("event", "status", "field"),
    [
        pytest.param(_event("POST", "/things", "not base64!", is_base64=True), 400, "body", id="bad base64"),
        pytest.param(
            _event("POST", "/things", _b64(b'{"name": "\xe9"}'), is_base64=True), 400, "body", id="not utf-8"
        ),
        pytest.param(_event("POST", "/things", _b64(b'{"name": "x"}')), 400, "body", id="base64 not flagged"),
        pytest.param(_event("POST", "/things", "[" * 50_000 + "]" * 50_000), 400, "body", id="too deep"),
        pytest.param(
            _event("POST", "/things", '{"name": ' + "1" * 5000 + "}"), 400, "body", id="long integer"
        ),
        pytest.param(
            _event("POST", "/things", '{"name": "a", "name": "b"}'), 400, "body", id="duplicate key"
        ),
        pytest.param(_event("POST", "/things", "{}", "text/plain"), 415, "Content-Type", id="text/plain"),
        pytest.param(
            _event("POST", "/things", "--x", "multipart/form-data"), 415, "Content-Type", id="multipart"
        ),
        pytest.param(
            _event("POST", "/things", "name=x", "application/x-www-form-urlencoded"),
            415,
            "Content-Type",
            id="form",
        ),
        pytest.param(
            _event("POST", "/things", '{"name": "x"}', "application/json; charset=latin-1"),
            415,
            "Content-Type",
            id="latin-1",
        ),
        pytest.param(_event("POST", "/things", '{"name": 1}'), 422, "name", id="wrong type"),
        pytest.param(
            _event("POST", "/things", '{"name": "\ud800"}'), 400, "body", id="lone surrogate in the event"
        ),
        pytest.param(_event("POST", "/things"), 422, "body", id="no body"),
    ],
)
def test_a_body_is_refused_before_the_route_with_the_rule_of_request_guards(
    event: dict[str, Any], status: int, field: str
) -> None:
    got, body = _call(event)
    assert got == status, body
    _assert_error_shape(body)
    assert body["errors"][0]["field"] == field


def test_a_missing_body_is_named_as_such() -> None:
    _, body = _call(_event("POST", "/things"))
    assert body["errors"] == [{"field": "body", "message": "a JSON object is required"}]


def test_a_readable_body_reaches_the_route_base64_or_not() -> None:
    assert _call(_event("POST", "/things", '{"name": "x"}')) == (200, {"name": "x"})
    assert _call(_event("POST", "/things", _b64(b'{"name": "caf\xc3\xa9"}'), is_base64=True)) == (
        200,
        {"name": "café"},
    )
    assert _call(_event("POST", "/things", '{"name": "x"}', content_type=None)) == (200, {"name": "x"})


def test_a_route_that_reads_no_body_ignores_one() -> None:
    assert _call(_event("GET", "/plain", "\x00 not json", "text/plain")) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_event("GET", "/broken"), id="a route without a body"),
        pytest.param(_event("POST", "/things", '{"name": "explode"}'), id="a readable body, then a bug"),
    ],
)
def test_an_unexpected_error_is_a_500_without_details(event: dict[str, Any]) -> None:
    status, body = _call(event)
    assert status == 500
    _assert_error_shape(body)
    assert "secret" not in json.dumps(body)
    assert "bug" not in json.dumps(body)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_event("GET", "/nowhere"), id="no such path"),
        pytest.param(_event("DELETE", "/plain"), id="no such method"),
    ],
)
def test_the_resolvers_own_404_has_the_api_shape(event: dict[str, Any]) -> None:
    status, body = _call(event)
    assert status == 404
    _assert_error_shape(body)


def test_every_route_documents_the_authorizer_and_unexpected_errors() -> None:
    assert list(error_responses(404, 422)) == [403, 404, 422, 500]
    assert list(error_responses()) == [403, 500]
