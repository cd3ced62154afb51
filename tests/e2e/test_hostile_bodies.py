"""POST /generations with bodies no client should send: each gets a 4xx in the API's error shape.

Signed requests go through the local gateway, which builds the event as API Gateway does
(a body that is not UTF-8 text arrives base64-encoded). The rule the API follows:

- 415: the body is not JSON (`Content-Type` other than `application/json`, or a charset other
  than UTF-8);
- 400: the body cannot be read as one JSON document of Unicode text (not UTF-8, not JSON, a
  lone surrogate, ambiguous, beyond what the parser takes);
- 422: a JSON document that does not describe a valid request (`errors` names the fields).

For each one, nothing is written (no record, no object) and Ideogram is not called: a marker
scripted into the emulator's `fail_next` (a plain 200) is still there afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.stack import LocalStack

NOT_CALLED_MARKER = [{"status": 200}]


def _post_raw(stack: LocalStack, body: bytes, content_type: str | None) -> requests.Response:
    """A signed POST /generations with exactly these bytes and this Content-Type (or none)."""
    auth = SigV4Auth(stack.caller, stack.options.region)
    request = requests.Request("POST", f"{stack.api_url}/generations", data=body).prepare()
    request.headers.pop("Content-Type", None)
    if content_type is not None:
        request.headers["Content-Type"] = content_type
    with requests.Session() as session:
        return session.send(auth(request), timeout=90)


def _stored_state(stack: LocalStack) -> tuple[int, set[str]]:
    resources = stack.endpoints()["resources"]
    records = stack.aws.client("dynamodb").scan(TableName=resources["AssetsTable"], Select="COUNT")["Count"]
    listing = stack.aws.client("s3").list_objects_v2(Bucket=resources["AssetsBucket"])
    return records, {item["Key"] for item in listing.get("Contents", [])}


def _faults(stack: LocalStack, **updates: Any) -> dict[str, Any]:
    if updates:
        reply = requests.put(f"{stack.ideogram_url}/_emulator/faults", json=updates, timeout=10)
    else:
        reply = requests.get(f"{stack.ideogram_url}/_emulator/faults", timeout=10)
    reply.raise_for_status()
    return reply.json()  # type: ignore[no-any-return]


@pytest.fixture
def untouched(stack: LocalStack) -> Iterator[None]:
    """Fails the test if the request wrote anything or reached Ideogram."""
    before = _stored_state(stack)
    _faults(stack, fail_next=NOT_CALLED_MARKER)
    try:
        yield
        assert _faults(stack)["fail_next"] == NOT_CALLED_MARKER, "Ideogram was called"
        assert _stored_state(stack) == before, "something was written"
    finally:
        requests.post(f"{stack.ideogram_url}/_emulator/reset", timeout=10).raise_for_status()


DEEP = 100_000
JSON = "application/json"

HOSTILE_BODIES = [
    # 400: not readable as one JSON document
    pytest.param(JSON, b'{"prompt": "caf\xe9"}', 400, id="invalid-utf8"),
    pytest.param(None, b'{"prompt": "caf\xe9"}', 400, id="invalid-utf8-without-content-type"),
    pytest.param(JSON, b"[" * DEEP + b"]" * DEEP, 400, id="nested-100000-deep"),
    pytest.param(JSON, b'{"prompt": "x", "tags": ' + b"[" * DEEP + b"]" * DEEP + b"}", 400, id="deep-field"),
    pytest.param(JSON, b'{"prompt": "x", "seed": ' + b"9" * 5000 + b"}", 400, id="5000-digit-integer"),
    pytest.param(JSON, b'{"prompt": "a\x00b"}', 400, id="raw-nul-byte"),
    pytest.param(JSON, b'\x00{"prompt": "x"}', 400, id="leading-nul-byte"),
    pytest.param(JSON, b'\xef\xbb\xbf{"prompt": "x"}', 400, id="utf8-bom"),
    pytest.param(JSON, b'{"prompt": "a", "prompt": "b"}', 400, id="duplicate-keys"),
    pytest.param(JSON, b'{"prompt": "x", "seed": NaN}', 400, id="nan-is-not-json"),
    pytest.param(JSON, b'{"prompt": "x"', 400, id="truncated"),
    pytest.param(JSON, b'{"prompt": "x"} {"prompt": "y"}', 400, id="two-documents"),
    pytest.param(JSON, b'{"prompt": "a\\ud800b"}', 400, id="lone-surrogate"),
    pytest.param(JSON, b'{"prompt": "x", "tags": ["\\udfff"]}', 400, id="lone-surrogate-in-a-list"),
    pytest.param(JSON, b'{"prompt": "x", "\\udfff": 1}', 400, id="lone-surrogate-in-a-key"),
    # 415: not JSON at all
    pytest.param("multipart/form-data", b"--x\r\n", 415, id="multipart-without-boundary"),
    pytest.param(
        "multipart/form-data; boundary=xx",
        b'--xx\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--xx--\r\n',
        415,
        id="multipart-with-boundary",
    ),
    pytest.param("application/x-www-form-urlencoded", b"prompt=x", 415, id="form-urlencoded"),
    pytest.param("text/plain", b'{"prompt": "x"}', 415, id="text-plain"),
    pytest.param("application/octet-stream", b'{"prompt": "x"}', 415, id="octet-stream-base64-event"),
    pytest.param("application/json; charset=latin-1", b'{"prompt": "caf\xe9"}', 415, id="latin-1"),
    pytest.param("application/json; charset=latin-1", b'{"prompt": "x"}', 415, id="latin-1-ascii"),
    pytest.param("application/jsonl", b'{"prompt": "x"}', 415, id="json-lookalike-type"),
    # 422: a readable document that is not a valid request
    pytest.param(JSON, b'["a lighthouse"]', 422, id="array"),
    pytest.param(JSON, b'"a lighthouse"', 422, id="string"),
    pytest.param(JSON, b"null", 422, id="null"),
    pytest.param(JSON, b"42", 422, id="number"),
    pytest.param(JSON, b"", 422, id="empty"),
    pytest.param(JSON, b'{"prompt": "' + b"x" * 5_000_000 + b'"}', 422, id="5mb-prompt"),
    pytest.param(JSON, b'{"prompt": "x", "seed": ' + b"9" * 4000 + b"}", 422, id="4000-digit-integer"),
    pytest.param("application/json; charset=UTF-8", b'{"prompt": ""}', 422, id="utf-8-charset-is-json"),
]


@pytest.mark.usefixtures("untouched")
@pytest.mark.parametrize(("content_type", "body", "status"), HOSTILE_BODIES)
def test_a_hostile_body_gets_a_clear_4xx_and_changes_nothing(
    stack: LocalStack, content_type: str | None, body: bytes, status: int
) -> None:
    reply = _post_raw(stack, body, content_type)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    error = reply.json()
    assert set(error) <= {"message", "errors"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["errors"], error
    for item in error["errors"]:
        assert set(item) == {"field", "message"}, item
    assert "Traceback" not in reply.text
    assert len(reply.content) < 4096, "the reply must not echo the body back"


@pytest.mark.parametrize(
    ("content_type", "body", "field"),
    [
        pytest.param(JSON, b'{"prompt": "caf\xe9"}', "body", id="unreadable"),
        pytest.param("text/plain", b'{"prompt": "x"}', "Content-Type", id="not-json"),
        pytest.param(JSON, b'{"prompt": "a", "prompt": "b"}', "body", id="ambiguous"),
    ],
)
def test_the_error_says_what_to_fix(stack: LocalStack, content_type: str, body: bytes, field: str) -> None:
    reply = _post_raw(stack, body, content_type)
    [error] = reply.json()["errors"]
    assert error["field"] == field
    assert error["message"]


def test_a_plain_json_body_still_generates(stack: LocalStack) -> None:
    """The rules above refuse only what they name: a well-formed request is served as before."""
    reply = _post_raw(stack, b'{"prompt": "a lighthouse", "tags": ["hostile-bodies"]}', JSON)
    assert reply.status_code == 201, reply.text
    charset = _post_raw(stack, '{"prompt": "café au lait"}'.encode(), "application/json; charset=utf-8")
    assert charset.status_code == 201, charset.text
    assert charset.json()["generations"][0]["prompt"] == "café au lait"
