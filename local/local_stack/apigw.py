"""Translation between HTTP and API Gateway HTTP API (payload format 2.0) events.

Follows the documented payload format: lower-cased headers with repeated values joined by
commas, cookies split out, a base64 body for anything that is not text, and responses either
in the structured form or as a bare value that API Gateway serialises as JSON.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from local_stack.sigv4 import VerifiedCaller
from local_stack.triggers.http import HttpRoute

_TEXT_TYPES = re.compile(
    r"^(text/|application/(json|xml|x-www-form-urlencoded|.*\+json|.*\+xml))", re.IGNORECASE
)


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.endswith("+}") and segment.startswith("{"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


def match_route(routes: Iterable[HttpRoute], method: str, path: str) -> RouteMatch | None:
    """The most specific route for method and path, as API Gateway picks it (literal before greedy)."""
    candidates = []
    for route in routes:
        if route.method not in (method.upper(), "ANY"):
            continue
        found = _path_pattern(route.path).match(path)
        if found:
            greedy = "+}" in route.path
            variables = route.path.count("{")
            candidates.append(((greedy, variables, route.method == "ANY"), route, found.groupdict()))
    if not candidates:
        return None
    _, route, parameters = min(candidates, key=lambda candidate: candidate[0])
    return RouteMatch(route=route, path_parameters={key: unquote(value) for key, value in parameters.items()})


def build_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    match: RouteMatch,
    caller: VerifiedCaller,
    source_ip: str,
    api_id: str,
    region: str,
) -> dict[str, Any]:
    """The event API Gateway sends a Lambda integration for one request."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[lowered] = f"{merged[lowered]},{value}" if lowered in merged else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    is_text = _TEXT_TYPES.match(merged.get("content-type", "application/json")) is not None
    try:
        text_body = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text_body = None
    now = datetime.now(UTC)
    route_key = match.route.route_key
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": caller.account_id,
            "apiId": api_id,
            "authorizer": {
                "iam": {
                    "accessKey": caller.access_key_id,
                    "accountId": caller.account_id,
                    "callerId": caller.access_key_id,
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": caller.user_arn,
                    "userId": caller.access_key_id,
                }
            },
            "domainName": merged.get("host", "localhost"),
            "domainPrefix": merged.get("host", "localhost").split(".")[0],
            "http": {
                "method": method.upper(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": text_body is None,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if body:
        event["body"] = text_body if text_body is not None else base64.b64encode(body).decode("ascii")
    return event


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def build_reply(result: Any) -> HttpReply:
    """The HTTP response API Gateway makes of a Lambda result (payload format 2.0)."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        # A bare value: API Gateway answers 200 with the value as JSON.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpReply(200, [("content-type", "application/json")], text.encode("utf-8"))
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return HttpReply(int(result["statusCode"]), headers, body)


def error_reply(status: int, message: str) -> HttpReply:
    """API Gateway's own error shape, e.g. {"message": "Forbidden"}."""
    return HttpReply(
        status, [("content-type", "application/json")], json.dumps({"message": message}).encode()
    )
