"""Writes events/schemas/: the JSON Schemas of the events the application takes and announces.

Each schema is the `detail` of one EventBridge event (or an SQS message body written directly),
generated from the Pydantic model the code validates it with, so it says what the code accepts:
- in: GenerationRequested and ReproductionRequested (events.requests), as validated;
- out: ImagePersisted and GenerationFailed (events.results), as serialized (camelCase).

Field types come from the models; the value sets and the one cross-field rule that the models
check in validators (known aspect ratios and resolutions, not both of them, no control
characters) are written in as JSON Schema from the same constants, so a producer that validates
against the schema meets the service's checks. What JSON Schema cannot say (a prompt must show a
visible character) is in the field's description. `python -m local_stack.event_schemas` rewrites
them; a test fails when a checked-in schema is stale, and another generates details from each
schema and checks that the models accept them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from ideogram_assets.events.requests import (
    GENERATION_REQUESTED,
    REPRODUCTION_REQUESTED,
    GenerationRequested,
    ReproductionRequested,
)
from ideogram_assets.events.results import (
    EVENT_SOURCE,
    GENERATION_FAILED,
    IMAGE_PERSISTED,
    GenerationFailed,
    ImagePersisted,
)
from ideogram_assets.ideogram.spec_values import LEGACY_RESOLUTIONS, V3_ASPECT_RATIOS, V3_RESOLUTIONS
from local_stack.template import PROJECT_ROOT

SCHEMAS_DIR = PROJECT_ROOT / "events" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Control characters (Unicode category Cc) other than tab, line feed and carriage return, which
# GenerationSpec refuses in a prompt; written as an ECMA-262 character class.
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
VISIBLE_TEXT_NOTE = (
    "Must show at least one visible character (not only spaces or invisible characters such as "
    "zero-width spaces): the service checks this beyond the schema."
)


@dataclass(frozen=True)
class EventSchema:
    detail_type: str
    model: type[BaseModel]
    direction: Literal["in", "out"]
    how: str  # how the detail travels, for the schema's description
    refine: Callable[[dict[str, Any]], None] | None = None

    @property
    def path(self) -> Path:
        return SCHEMAS_DIR / f"{self.detail_type}.json"


def _string_branch(field: dict[str, Any]) -> dict[str, Any]:
    """The string schema of a field that may also be null (`anyOf: [{string}, {null}]`)."""
    if field.get("type") == "string":
        return field
    for branch in field.get("anyOf", []):
        if branch.get("type") == "string":
            found: dict[str, Any] = branch
            return found
    raise ValueError(f"no string schema in {field}")


def _by_pixels(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def _refine_generation_requested(schema: dict[str, Any]) -> None:
    fields = schema["properties"]
    _string_branch(fields["aspect_ratio"])["enum"] = sorted(V3_ASPECT_RATIOS, key=_by_pixels)
    _string_branch(fields["resolution"])["enum"] = sorted(V3_RESOLUTIONS | LEGACY_RESOLUTIONS, key=_by_pixels)
    for name in ("prompt", "negative_prompt"):
        text = _string_branch(fields[name])
        text["pattern"] = NO_CONTROL_CHARACTERS
        text["description"] = VISIBLE_TEXT_NOTE
    # aspect_ratio and resolution cannot be used together (either may be null).
    schema["not"] = {
        "required": ["aspect_ratio", "resolution"],
        "properties": {"aspect_ratio": {"type": "string"}, "resolution": {"type": "string"}},
    }


SCHEMAS = (
    EventSchema(
        GENERATION_REQUESTED,
        GenerationRequested,
        "in",
        "The detail of a GenerationRequested event on the assets bus (any source), or the body of a "
        "message written to the generation requests queue directly.",
        _refine_generation_requested,
    ),
    EventSchema(
        REPRODUCTION_REQUESTED,
        ReproductionRequested,
        "in",
        "The detail of a ReproductionRequested event on the assets bus (any source): generate a "
        "stored image again, as POST /generations/{id}/reproduce does.",
    ),
    EventSchema(
        IMAGE_PERSISTED,
        ImagePersisted,
        "out",
        f"The detail of an ImagePersisted event the application puts on the assets bus (source "
        f"{EVENT_SOURCE}) once a record reaches STORED, whatever stored it.",
    ),
    EventSchema(
        GENERATION_FAILED,
        GenerationFailed,
        "out",
        f"The detail of a GenerationFailed event the application puts on the assets bus (source "
        f"{EVENT_SOURCE}) once a record reaches FAILED or LOST.",
    ),
)


def build_schema(event: EventSchema) -> dict[str, Any]:
    # Requests as the code validates them; results as the code writes them.
    mode: JsonSchemaMode = "validation" if event.direction == "in" else "serialization"
    generated = event.model.model_json_schema(by_alias=True, mode=mode)
    if event.refine is not None:
        event.refine(generated)
    summary = str(generated.pop("description", "")).replace("\n", " ")
    generated.pop("title", None)
    return {
        "$schema": DIALECT,
        "$id": f"urn:ideogram-assets:events:{event.detail_type}",
        "title": event.detail_type,
        "description": f"{summary} {event.how}".strip(),
        # Where the event travels, for tools (JSON Schema ignores keywords it does not know).
        "x-detail-type": event.detail_type,
        "x-source": EVENT_SOURCE if event.direction == "out" else None,
        **generated,
    }


def render(event: EventSchema) -> str:
    return json.dumps(build_schema(event), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    for event in SCHEMAS:
        event.path.write_text(render(event), encoding="utf-8")
        print(f"wrote {event.path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
