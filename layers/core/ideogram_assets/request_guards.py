"""What a request body must be before its fields are validated, and the status when it is not.

The API reads JSON only. A body goes through three checks, and the first one that fails decides
the reply (always `{"message", "errors"}`):

1. 415 Unsupported Media Type: `Content-Type` is neither absent nor `application/json`, or it
   names a charset other than UTF-8 (form data, multipart, `text/plain`, JSON in latin-1...).
2. 400 Bad Request: the body cannot be read as exactly one JSON document of Unicode text:
   bytes that are not UTF-8, a byte order mark, text that is not JSON (`NaN`, a document cut
   short, two documents, a raw control character), a string that is not Unicode (a lone
   surrogate escape such as "\\ud800"), an ambiguous document (a key twice in one object), or
   one beyond what the parser takes (nesting past Python's recursion limit, an integer longer
   than its int-string conversion limit).
3. 422 Unprocessable Content: a readable JSON document that is not a valid request (not an
   object, a missing or unknown field, a value of the wrong type or out of range); the request
   model decides and `errors` names each field.

An absent or empty body is readable (there is nothing to read), so the model's "field required"
answers it with 422.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
from typing import Any

JSON_MEDIA_TYPE = "application/json"
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
# json.loads joins an escaped surrogate pair into one character; what is left unpaired is no
# Unicode text, and fails later wherever the string is encoded (hashing, storage, logs).
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")

SUMMARIES = {
    400: "the body cannot be read as one JSON document",
    415: f"the body must be {JSON_MEDIA_TYPE} in UTF-8",
}


class RefusedBody(Exception):
    """A body refused before validation: `status` (400 or 415), `field` (the part to fix) and why."""

    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.field = field
        self.reason = reason

    @property
    def summary(self) -> str:
        return SUMMARIES[self.status]


def _unsupported(reason: str) -> RefusedBody:
    return RefusedBody(415, "Content-Type", reason)


def _unreadable(reason: str) -> RefusedBody:
    return RefusedBody(400, "body", reason)


def check_media_type(content_type: str | None) -> None:
    """Raises RefusedBody (415) unless the header says JSON in UTF-8 (absent means JSON)."""
    if content_type is None or not content_type.strip():
        return
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        raise _unsupported(f"{media_type.strip()!r} is not supported; send {JSON_MEDIA_TYPE}")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in _UTF8_NAMES:
            raise _unsupported(f"charset {charset!r} is not supported; send UTF-8")


def _body_text(body: str, is_base64_encoded: bool) -> str:
    if not is_base64_encoded:
        return body
    try:
        raw = base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise _unreadable("the body is flagged as base64 but is not valid base64") from error
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _unreadable(f"the body is not valid UTF-8 (byte {error.start})") from error


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; which one the caller meant is anyone's guess.
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _unreadable(f"the key {key!r} appears twice in one object")
        document[key] = value
    return document


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError as error:  # past sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        raise _unreadable(f"an integer in the body has more than {limit} digits") from error


def _not_json_constant(name: str) -> Any:
    raise _unreadable(f"{name} is not a JSON value")


def _has_lone_surrogate(document: Any) -> bool:
    pending = [document]  # iterative: a document can be nested as deep as the parser allows
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_json_body(body: str | None, is_base64_encoded: bool = False) -> Any:
    """The body as one JSON document (None when empty); raises RefusedBody (400) if unreadable."""
    if not body:
        return None
    text = _body_text(body, is_base64_encoded)
    if text.startswith("\ufeff"):
        raise _unreadable("the body starts with a byte order mark; JSON must be sent without one")
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_int=_integer,
            parse_constant=_not_json_constant,
        )
    except json.JSONDecodeError as error:
        # e.g. "Expecting value", "Invalid control character at", "Extra data"
        problem = error.msg.removesuffix(" at")
        where = f"line {error.lineno}, column {error.colno}"
        raise _unreadable(f"the body is not valid JSON: {problem} at {where}") from error
    except RecursionError as error:
        raise _unreadable("the body is nested too deeply to read") from error
    if _has_lone_surrogate(document):
        raise _unreadable("a string in the body has a lone surrogate (e.g. \\ud800); send Unicode text")
    return document


def check_json_body(content_type: str | None, body: str | None, is_base64_encoded: bool) -> None:
    """Raises RefusedBody when the body is not JSON (415) or cannot be read as JSON (400)."""
    check_media_type(content_type)
    parse_json_body(body, is_base64_encoded)
