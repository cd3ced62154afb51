"""The body rule: 415 for what is not JSON, 400 for JSON that cannot be read, None otherwise
(the request model then answers 422 for a readable body that is not a valid request)."""

from __future__ import annotations

import base64
import sys

import pytest

from ideogram_assets.request_guards import RefusedBody, check_json_body, check_media_type, parse_json_body


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        'application/json; charset="UTF-8"',
        "application/json;charset=utf8",
        "application/json; version=2",
    ],
)
def test_json_in_utf8_is_accepted(content_type: str | None) -> None:
    check_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=xx",
        "application/octet-stream",
        "application/jsonl",
        "application/merge-patch+json",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
    ],
)
def test_anything_else_is_an_unsupported_media_type(content_type: str) -> None:
    with pytest.raises(RefusedBody) as refused:
        check_media_type(content_type)
    assert (refused.value.status, refused.value.field) == (415, "Content-Type")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(None, None, id="no body"),
        pytest.param("", None, id="empty body"),
        pytest.param('{"prompt": "x", "seed": 7}', {"prompt": "x", "seed": 7}, id="an object"),
        pytest.param("[1, 2]", [1, 2], id="an array is readable (the model refuses it)"),
        pytest.param('"text"', "text", id="a string is readable"),
        pytest.param(
            '{"a": {"b": 1}, "c": {"b": 2}}', {"a": {"b": 1}, "c": {"b": 2}}, id="same key elsewhere"
        ),
        pytest.param('{"p": "\\ud83d\\ude00"}', {"p": "\U0001f600"}, id="an escaped surrogate pair"),
        pytest.param('{"p": "a\\u0000b"}', {"p": "a\x00b"}, id="an escaped NUL is JSON"),
        pytest.param(" \n{}\t ", {}, id="surrounding whitespace"),
    ],
)
def test_readable_json_is_parsed(body: str | None, expected: object) -> None:
    assert parse_json_body(body) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param('{"prompt": "a", "prompt": "b"}', "appears twice", id="duplicate keys"),
        pytest.param('{"a": [{"k": 1, "k": 2}]}', "appears twice", id="duplicate keys deep inside"),
        pytest.param('{"seed": NaN}', "NaN is not a JSON value", id="NaN"),
        pytest.param('{"seed": -Infinity}', "-Infinity is not a JSON value", id="-Infinity"),
        pytest.param("\ufeff{}", "byte order mark", id="BOM"),
        pytest.param('{"prompt": "x"', "not valid JSON", id="cut short"),
        pytest.param("{} {}", "Extra data at line 1, column 4", id="two documents"),
        pytest.param('{"p": "a\x00b"}', "Invalid control character at line 1", id="raw NUL"),
        pytest.param('{"p": "a\\ud800b"}', "lone surrogate", id="lone surrogate escape"),
        pytest.param('{"p": ["\\udfff"]}', "lone surrogate", id="lone surrogate in a list"),
        pytest.param('{"\\ud800": 1}', "lone surrogate", id="lone surrogate in a key"),
        pytest.param('{"p": "\\ude00\\ud83d"}', "lone surrogate", id="a pair in the wrong order"),
        pytest.param('{"p": "\ud800"}', "lone surrogate", id="a raw surrogate in the event's text"),
        pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="100,000 levels"),
        pytest.param('{"seed": ' + "9" * 5000 + "}", "more than", id="5,000 digits"),
    ],
)
def test_unreadable_json_is_a_bad_request(body: str, reason: str) -> None:
    with pytest.raises(RefusedBody) as refused:
        parse_json_body(body)
    assert (refused.value.status, refused.value.field) == (400, "body")
    assert reason in refused.value.reason


def test_an_integer_up_to_the_conversion_limit_is_readable() -> None:
    digits = sys.get_int_max_str_digits()
    assert parse_json_body("9" * digits) == int("9" * digits)


def test_a_base64_body_is_decoded_as_utf8() -> None:
    encoded = base64.b64encode('{"prompt": "café"}'.encode()).decode()
    assert parse_json_body(encoded, is_base64_encoded=True) == {"prompt": "café"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            base64.b64encode(b'{"p": "caf\xe9"}').decode(), "not valid UTF-8 (byte 10)", id="latin-1"
        ),
        pytest.param("not base64 at all!", "not valid base64", id="not base64"),
        pytest.param(base64.b64encode(b"\xef\xbb\xbf{}").decode(), "byte order mark", id="BOM"),
    ],
)
def test_a_base64_body_that_is_not_utf8_json_is_a_bad_request(body: str, reason: str) -> None:
    with pytest.raises(RefusedBody) as refused:
        parse_json_body(body, is_base64_encoded=True)
    assert refused.value.status == 400
    assert reason in refused.value.reason


def test_the_media_type_is_judged_before_the_body() -> None:
    with pytest.raises(RefusedBody) as refused:
        check_json_body("text/plain", "not json", is_base64_encoded=False)
    assert refused.value.status == 415
