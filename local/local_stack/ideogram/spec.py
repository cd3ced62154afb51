"""Ideogram's vendored OpenAPI document: request/response schemas, validation and form decoding.

Shapes are never retyped here: schemas are looked up in openapi.json by operation and validated with
the OpenAPI 3.0 dialect of jsonschema (openapi-schema-validator, which understands `nullable`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC_PATH = Path(__file__).with_name("openapi.json")
_COMPONENT_REF = re.compile(r"^#/components/schemas/(?P<name>[^/]+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_MAX_MESSAGE = 400  # enum listings and echoed values can be long; keep error bodies readable


class SpecError(LookupError):
    """The spec has no such operation, media type or schema (a bug in the emulator, not the client)."""


class FormError(ValueError):
    """A multipart part that cannot be decoded into what the schema asks for."""


def _schema_name(node: Mapping[str, Any]) -> str:
    match = _COMPONENT_REF.match(str(node.get("$ref", "")))
    if match is None:
        raise SpecError(f"expected a reference to a component schema, got {dict(node)!r}")
    return match["name"]


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _describe(error: Any) -> str:
    """One readable line per jsonschema error: where (dotted field path) and what."""
    location = ".".join(str(part) for part in error.absolute_path) or "body"
    context = list(error.context or [])
    if context:
        # oneOf/anyOf: the alternatives' errors at the deepest path say what is actually wrong.
        deepest = max(len(sub.absolute_path) for sub in context)
        reasons = sorted({sub.message for sub in context if len(sub.absolute_path) == deepest})
        return _shorten(f"{location}: " + " or ".join(reasons))
    return _shorten(f"{location}: {error.message}")


class OpenApiSpec:
    """Read-only view of the spec; thread-safe (validators are built once and only read)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._components = document.get("components", {})
        self._validators: dict[str, Any] = {}

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> OpenApiSpec:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def schema(self, name: str) -> Mapping[str, Any]:
        try:
            schema: Mapping[str, Any] = self._components["schemas"][name]
        except KeyError as error:
            raise SpecError(f"no component schema {name!r} in the spec") from error
        return schema

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow component references until a concrete schema is reached."""
        while "$ref" in node:
            node = self.schema(_schema_name(node))
        return node

    def _content(self, path: str, method: str, media_type: str) -> Mapping[str, Any]:
        try:
            content: Mapping[str, Any] = self.document["paths"][path][method]["requestBody"]["content"]
        except KeyError as error:
            raise SpecError(f"no request body for {method.upper()} {path} in the spec") from error
        if media_type not in content:
            raise SpecError(f"{method.upper()} {path} does not accept {media_type}")
        media: Mapping[str, Any] = content[media_type]
        return media

    def request_media_types(self, path: str, method: str = "post") -> list[str]:
        try:
            return list(self.document["paths"][path][method]["requestBody"]["content"])
        except KeyError as error:
            raise SpecError(f"no request body for {method.upper()} {path} in the spec") from error

    def request_schema_name(self, path: str, media_type: str, method: str = "post") -> str:
        return _schema_name(self._content(path, method, media_type)["schema"])

    def response_schema_name(self, path: str, status: int, method: str = "post") -> str | None:
        """The JSON schema of a documented response, or None when the spec gives that status no body."""
        try:
            response = self.document["paths"][path][method]["responses"][str(status)]
        except KeyError as error:
            raise SpecError(f"{method.upper()} {path} documents no {status} response") from error
        content = response.get("content", {}).get("application/json")
        return None if content is None else _schema_name(content["schema"])

    def _validator(self, schema_name: str) -> Any:
        validator = self._validators.get(schema_name)
        if validator is None:
            self.schema(schema_name)  # fail early and clearly on a typo
            # `components` rides along in the root so "#/components/schemas/..." references resolve.
            root = {"$ref": f"#/components/schemas/{schema_name}", "components": self._components}
            validator = OAS30Validator(root, format_checker=oas30_format_checker)
            self._validators[schema_name] = validator
        return validator

    def errors(self, schema_name: str, instance: Any) -> list[str]:
        """Every way `instance` violates the named component schema, as readable lines."""
        found = self._validator(schema_name).iter_errors(instance)
        return sorted(_describe(error) for error in found)

    def decode_form(
        self,
        path: str,
        fields: Mapping[str, Sequence[str]],
        files: Mapping[str, Sequence[bytes]],
        method: str = "post",
    ) -> dict[str, Any]:
        """Turn multipart parts (all text or bytes) into the typed object the schema describes.

        Form parts carry no types, so each part is cast by its property's schema: integers, numbers
        and booleans are parsed, arrays collect repeated parts, binary stays bytes, and parts whose
        `encoding` says application/json are parsed as JSON. Values that do not parse are left as
        text so that schema validation reports them with the field name.
        """
        media = self._content(path, method, "multipart/form-data")
        properties = self.resolve(media["schema"]).get("properties", {})
        encodings = media.get("encoding", {})
        decoded: dict[str, Any] = {}
        for name in [*fields, *(name for name in files if name not in fields)]:
            parts: list[str | bytes] = [*fields.get(name, ()), *files.get(name, ())]
            schema = self.resolve(properties.get(name, {}))
            content_type = str(encodings.get(name, {}).get("contentType", ""))
            if schema.get("type") == "array":
                items = self.resolve(schema.get("items", {}))
                decoded[name] = [self._decode_part(name, part, items, content_type) for part in parts]
            elif len(parts) == 1:
                decoded[name] = self._decode_part(name, parts[0], schema, content_type)
            else:
                raise FormError(f"{name}: given {len(parts)} times, expected once")
        return decoded

    @staticmethod
    def _decode_part(name: str, part: str | bytes, schema: Mapping[str, Any], content_type: str) -> Any:
        if schema.get("format") == "binary":
            return part.encode() if isinstance(part, str) else part
        if isinstance(part, bytes):
            try:
                part = part.decode("utf-8")
            except UnicodeDecodeError as error:
                raise FormError(f"{name}: expected UTF-8 text, got binary data") from error
        kind = schema.get("type")
        if "json" in content_type or kind == "object" or "oneOf" in schema or "anyOf" in schema:
            try:
                return json.loads(part)
            except ValueError as error:
                raise FormError(f"{name}: expected a JSON value, got {_shorten(part)!r}") from error
        if kind == "integer" and _INTEGER.match(part):
            return int(part)
        if kind == "number":
            try:
                return float(part)
            except ValueError:
                return part
        if kind == "boolean" and part.lower() in {"true", "false"}:
            return part.lower() == "true"
        return part


@functools.cache
def ideogram_spec() -> OpenApiSpec:
    """The vendored spec, parsed once per process."""
    return OpenApiSpec.load()
