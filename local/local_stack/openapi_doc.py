"""Writes docs/openapi.json: the API's OpenAPI document, generated from the functions' resolvers.

Each API function has its own Powertools resolver; the document merges their paths, so it is
whatever the code accepts and returns. Then it adds what no resolver knows of: the replies of
the IAM authorizer and the gateway (403, 413), the 415 and 500 every function gives in the API's
error shape, and Powertools' default 422 entry is replaced by that shape (or dropped where an
operation has nothing to validate). `python -m local_stack.openapi_doc` rewrites it; a test
fails when the checked-in copy is stale. The local gateway serves it, with Swagger UI (api_docs.py).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from ideogram_assets import __version__
from ideogram_assets.http_errors import ALWAYS_POSSIBLE_STATUSES, BODY_STATUSES, error_description
from local_stack.api_docs import DOCUMENT_PATH as DOCUMENT_PATH  # where it is written and served
from local_stack.template import PROJECT_ROOT, load_template, resources_of_type

TITLE = "ideogram-assets API"
DESCRIPTION = (
    "Generate images with Ideogram and keep every one of them. Every request must be signed with "
    "AWS Signature Version 4 for the execute-api service (IAM authorization)."
)


def _load_resolver(logical_id: str, code_dir: Path, handler: str) -> Any:
    module_name = handler.rsplit(".", 1)[0]
    spec = importlib.util.spec_from_file_location(f"_openapi_{logical_id}", code_dir / f"{module_name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


_SCHEMA_REF = "#/components/schemas/"
_ERROR_SCHEMA = "ErrorResponse"


def _error_entry(status: int) -> dict[str, Any]:
    schema = {"$ref": f"{_SCHEMA_REF}{_ERROR_SCHEMA}"}
    return {"description": error_description(status), "content": {"application/json": {"schema": schema}}}


def _is_powertools_default(entry: dict[str, Any]) -> bool:
    return f"{_SCHEMA_REF}HTTPValidationError" in json.dumps(entry)


def _document_error_replies(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    reads_body = "requestBody" in operation
    # Powertools lists 422 on every operation, in its own shape; ours is ErrorResponse, and an
    # operation with no parameters and no body has nothing that can fail validation.
    default = responses.get("422")
    if default is not None and _is_powertools_default(default):
        if reads_body or operation.get("parameters"):
            responses["422"] = _error_entry(422)
        else:
            del responses["422"]
    for status in (*ALWAYS_POSSIBLE_STATUSES, *(BODY_STATUSES if reads_body else ())):
        responses.setdefault(str(status), _error_entry(status))
    operation["responses"] = dict(sorted(responses.items()))


def _drop_unreferenced_schemas(document: dict[str, Any]) -> None:
    """Schemas nothing refers to any more (Powertools' validation error shapes) leave the document."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    while True:
        outside = {name: value for name, value in document.items() if name != "components"}
        others = [json.dumps(outside)] + [json.dumps(schema) for schema in schemas.values()]
        used = {name for name in schemas if any(f'"{_SCHEMA_REF}{name}"' in text for text in others)}
        if used == set(schemas):
            return
        for name in set(schemas) - used:
            del schemas[name]


def build_document() -> dict[str, Any]:
    template = load_template()
    document: dict[str, Any] | None = None
    for logical_id, resource in sorted(resources_of_type(template, "AWS::Serverless::Function").items()):
        properties = resource["Properties"]
        if not any(event.get("Type") == "HttpApi" for event in properties.get("Events", {}).values()):
            continue
        app = _load_resolver(logical_id, PROJECT_ROOT / properties["CodeUri"], properties["Handler"])
        part = json.loads(
            app.get_openapi_json_schema(title=TITLE, version=__version__, description=DESCRIPTION)
        )
        if document is None:
            document = part
            continue
        # Two functions may serve one path (GET and PATCH /generations/{id}): merge its operations.
        for path, operations in part.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(part.get("components", {}).get("schemas", {}))
    assert document is not None, "no function serves HTTP routes"
    document["components"]["securitySchemes"] = {
        "sigv4": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    }
    document["security"] = [{"sigv4": []}]
    document["paths"] = dict(sorted(document["paths"].items()))
    for operations in document["paths"].values():
        for operation in operations.values():
            _document_error_replies(operation)
    assert _ERROR_SCHEMA in document["components"]["schemas"], "no route uses error_responses()"
    _drop_unreferenced_schemas(document)
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    DOCUMENT_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOCUMENT_PATH.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
