"""HTTP requests become API Gateway HTTP API (2.0) events, and results become HTTP replies."""

from __future__ import annotations

import base64
import json

from local_stack.apigw import build_event, build_reply, match_route
from local_stack.sigv4 import VerifiedCaller
from local_stack.triggers.http import HttpRoute

ROUTES = [
    HttpRoute("GET", "/items/{id}"),
    HttpRoute("GET", "/items/special"),
    HttpRoute("ANY", "/files/{proxy+}"),
    HttpRoute("POST", "/items"),
]
CALLER = VerifiedCaller("AKIALOCAL", "111122223333", "arn:aws:iam::111122223333:user/dev")


def test_literal_routes_win_over_parameters_and_parameters_are_decoded() -> None:
    special = match_route(ROUTES, "GET", "/items/special")
    assert special is not None
    assert special.route.path == "/items/special"
    item = match_route(ROUTES, "GET", "/items/a%20b")
    assert item is not None
    assert item.route.path == "/items/{id}"
    assert item.path_parameters == {"id": "a b"}


def test_greedy_any_route_and_misses() -> None:
    found = match_route(ROUTES, "DELETE", "/files/a/b/c.png")
    assert found is not None
    assert found.path_parameters == {"proxy": "a/b/c.png"}
    assert match_route(ROUTES, "DELETE", "/items/1") is None
    assert match_route(ROUTES, "GET", "/nothing") is None


def _event(headers: list[tuple[str, str]], body: bytes, query: str = "") -> dict:  # type: ignore[type-arg]
    match = match_route(ROUTES, "POST", "/items")
    assert match is not None
    return build_event(
        method="POST",
        raw_path="/items",
        raw_query=query,
        headers=headers,
        body=body,
        match=match,
        caller=CALLER,
        source_ip="127.0.0.1",
        api_id="local",
        region="us-east-1",
    )


def test_event_follows_payload_format_2() -> None:
    event = _event(
        [("Content-Type", "application/json"), ("X-Tag", "a"), ("x-tag", "b"), ("Cookie", "a=1; b=2")],
        b'{"prompt": "fox"}',
        query="tag=a&tag=b&q=red+fox",
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items"
    assert event["headers"]["x-tag"] == "a,b"
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "red fox"}
    assert event["rawQueryString"] == "tag=a&tag=b&q=red+fox"
    assert event["body"] == '{"prompt": "fox"}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["authorizer"]["iam"]["userArn"] == CALLER.user_arn
    assert event["requestContext"]["http"]["method"] == "POST"


def test_binary_bodies_are_base64_encoded() -> None:
    body = b"\x89PNG\r\n\x1a\n\x00\xff"
    event = _event([("Content-Type", "image/png")], body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_structured_reply_with_cookies_and_base64_body() -> None:
    reply = build_reply(
        {
            "statusCode": 201,
            "headers": {"content-type": "image/png"},
            "cookies": ["a=1"],
            "isBase64Encoded": True,
            "body": base64.b64encode(b"\x89PNG").decode(),
        }
    )
    assert reply.status == 201
    assert ("set-cookie", "a=1") in reply.headers
    assert reply.body == b"\x89PNG"


def test_a_bare_result_is_served_as_json() -> None:
    reply = build_reply({"hello": "world"})
    assert reply.status == 200
    assert json.loads(reply.body) == {"hello": "world"}
    assert ("content-type", "application/json") in reply.headers
