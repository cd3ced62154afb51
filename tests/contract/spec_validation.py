"""Validate a `requests.PreparedRequest` against Ideogram's vendored OpenAPI spec with openapi-core.

JSON bodies are validated as sent. openapi-core 0.23.1 cannot cast multipart text parts by schema
(`num_images=3` arrives as the string "3" and fails `type: integer`), so a multipart request is
validated through its JSON twin, as tests/contract/test_ideogram_emulator_contract.py does: the
v3 operation accepts application/json with the very same schema. Here the twin is built from the
bytes actually sent: the body is parsed back into parts, each part's declared Content-Type is
checked against the spec's `encoding`, and the parts are cast by the spec (the emulator's
spec-driven `decode_form`) before openapi-core sees them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

import local_stack.ideogram
from local_stack.ideogram.spec import ideogram_spec

SPEC_PATH = Path(local_stack.ideogram.__file__).with_name("openapi.json")


@functools.cache
def openapi() -> OpenAPI:
    """The vendored spec for openapi-core, parsed once per test session."""
    return OpenAPI.from_file_path(str(SPEC_PATH))


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None  # the part's own Content-Type header, None when it has none
    value: bytes


def multipart_parts(prepared: requests.PreparedRequest) -> list[FormPart]:
    """The parts of a multipart/form-data body, in order (parsed with the standard email parser)."""
    content_type = prepared.headers.get("Content-Type", "")
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    body = prepared.body
    assert isinstance(body, bytes), type(body)
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    assert isinstance(message, EmailMessage)
    assert message.is_multipart()
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str), f"a part without a name: {part}"
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append(FormPart(name, part.get_filename(), part["Content-Type"], payload))
    return parts


def _path(prepared: requests.PreparedRequest) -> str:
    return urlsplit(prepared.url or "").path


def json_twin(prepared: requests.PreparedRequest) -> requests.PreparedRequest:
    """The same request as application/json, with the multipart parts typed by the spec."""
    path = _path(prepared)
    media = ideogram_spec().document["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]
    encodings: dict[str, Any] = media.get("encoding", {})
    fields: dict[str, list[str]] = {}
    files: dict[str, list[bytes]] = {}
    for part in multipart_parts(prepared):
        expected = encodings.get(part.name, {}).get("contentType")
        if part.filename is not None:
            files.setdefault(part.name, []).append(part.value)
            continue
        if expected is not None:
            assert part.content_type == expected, (
                f"{part.name}: sent as {part.content_type}, spec says {expected}"
            )
        else:  # a primitive form field: OpenAPI's default is text/plain
            assert part.content_type in (None, "text/plain"), f"{part.name}: sent as {part.content_type}"
        fields.setdefault(part.name, []).append(part.value.decode("utf-8"))
    decoded = ideogram_spec().decode_form(path, fields, files)
    headers = {name: value for name, value in prepared.headers.items() if name.lower() != "content-type"}
    twin = requests.Request(prepared.method or "POST", prepared.url, json=decoded, headers=headers)
    return twin.prepare()


def validate_request(prepared: requests.PreparedRequest) -> None:
    """Raise openapi-core's validation error unless the request is one the spec accepts."""
    content_type = prepared.headers.get("Content-Type", "")
    spec_request = json_twin(prepared) if content_type.startswith("multipart/form-data") else prepared
    openapi().validate_request(RequestsOpenAPIRequest(spec_request))
