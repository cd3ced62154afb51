"""Writes docs/openapi.json: the API's OpenAPI document, generated from the functions' resolvers.

Each API function has its own Powertools resolver; the document merges their paths, so it is
whatever the code accepts and returns. `python -m local_stack.openapi_doc` rewrites it; a test
fails when the checked-in copy is stale.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from ideogram_assets import __version__
from local_stack.template import PROJECT_ROOT, load_template, resources_of_type

DOCUMENT_PATH = PROJECT_ROOT / "docs" / "openapi.json"
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
        document["paths"].update(part.get("paths", {}))
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
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    DOCUMENT_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOCUMENT_PATH.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
