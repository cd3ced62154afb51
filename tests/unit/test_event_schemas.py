"""events/schemas/ is generated from the event models, and says what the code accepts.

Details are drawn from each schema (schemathesis' JSON Schema engine, on Hypothesis) and must
be accepted by the model the code validates them with; details the schema refuses must be
refused by the model too. Validation uses jsonschema-rs, whose regular expressions follow
ECMA-262 as JSON Schema says (a `$` does not match before a trailing newline, as Python's does).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from schemathesis.generation.jsonschema.builder import build

from ideogram_assets.events.requests import GenerationRequested, ReproductionRequested
from ideogram_assets.events.results import GenerationFailed, ImagePersisted
from local_stack.event_schemas import SCHEMAS, SCHEMAS_DIR, EventSchema, build_schema, render

BY_TYPE = {event.detail_type: event for event in SCHEMAS}
# The one check of GenerationRequested that JSON Schema cannot state (it is in the field's description).
BEYOND_THE_SCHEMA = "must contain visible characters"


def _schema(detail_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(BY_TYPE[detail_type].path.read_text(encoding="utf-8"))
    return loaded


def _validator(detail_type: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(_schema(detail_type))


def _refusals(model: type[BaseModel], detail: Any) -> list[str]:
    try:
        model.model_validate(detail)
    except ValidationError as error:
        return [f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors()]
    return []


@pytest.mark.parametrize("event", SCHEMAS, ids=lambda event: event.detail_type)
def test_the_checked_in_schema_is_current(event: EventSchema) -> None:
    assert event.path.read_text(encoding="utf-8") == render(event), (
        f"{event.path.name} is stale: run `.venv/bin/python -m local_stack.event_schemas`"
    )


def test_every_schema_file_belongs_to_an_event() -> None:
    assert {path.name for path in SCHEMAS_DIR.glob("*.json")} == {event.path.name for event in SCHEMAS}


@pytest.mark.parametrize("event", SCHEMAS, ids=lambda event: event.detail_type)
def test_each_schema_is_a_json_schema_naming_its_event(event: EventSchema) -> None:
    schema = build_schema(event)
    assert jsonschema_rs.meta.is_valid(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == schema["x-detail-type"] == event.detail_type
    assert schema["$id"].endswith(event.detail_type)
    assert schema["description"]
    # Results use the camelCase names of records and API replies; requests the API body's names.
    names = set(schema["properties"])
    if event.direction == "out":
        assert {"requestId", "promptHash"} <= names
        assert schema["x-source"] == "ideogram-assets"
    else:
        assert "client_request_id" in names


def _drawn(detail_type: str) -> st.SearchStrategy[Any]:
    return build(_schema(detail_type), draft=jsonschema_rs.Draft202012, formats={})


def _admitted_and_accepted(detail_type: str, model: type[BaseModel], detail: Any) -> None:
    if not _validator(detail_type).is_valid(detail):
        return  # the generator drew past the schema (Python's regular expressions): not a case
    refusals = _refusals(model, detail)
    beyond = [refusal for refusal in refusals if BEYOND_THE_SCHEMA in refusal]
    assert refusals == beyond, f"the schema admits {detail!r}, the model refuses it: {refusals}"
    for refusal in beyond:
        assert refusal.split(":", 1)[0] in {"prompt", "negative_prompt"}


CHECKED = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@CHECKED
@given(_drawn("GenerationRequested"))
def test_generation_requested_details_the_schema_admits_are_accepted(detail: Any) -> None:
    _admitted_and_accepted("GenerationRequested", GenerationRequested, detail)


@CHECKED
@given(_drawn("ReproductionRequested"))
def test_reproduction_requested_details_the_schema_admits_are_accepted(detail: Any) -> None:
    _admitted_and_accepted("ReproductionRequested", ReproductionRequested, detail)


@CHECKED
@given(_drawn("ImagePersisted"))
def test_image_persisted_details_the_schema_admits_are_read_back(detail: Any) -> None:
    _admitted_and_accepted("ImagePersisted", ImagePersisted, detail)


@CHECKED
@given(_drawn("GenerationFailed"))
def test_generation_failed_details_the_schema_admits_are_read_back(detail: Any) -> None:
    _admitted_and_accepted("GenerationFailed", GenerationFailed, detail)


VALID_GENERATION_REQUESTS: list[dict[str, Any]] = [
    {"prompt": "a red fox logo"},
    {"prompt": "ünïcödé 狐狸 logo\twith a tab\nand a line"},
    {
        "prompt": "a lighthouse at dusk",
        "negative_prompt": "text, watermark",
        "model": "V_2",
        "rendering_speed": "TURBO",
        "style_type": "DESIGN",
        "resolution": "1024x1024",
        "aspect_ratio": None,
        "magic_prompt": "OFF",
        "seed": 2147483647,
        "num_images": 8,
        "color_palette": [{"color_hex": "#ff8800", "color_weight": 0.5}, {"color_hex": "#036"}],
        "tags": ["Campaign-2026", "a.b:c_d"],
        "on_duplicate": "reject",
        "client_request_id": "cms:article-4711.hero_1",
    },
    {"prompt": "x", "aspect_ratio": "16x9", "resolution": None, "color_palette": "PASTEL"},
    {"prompt": "x", "tags": [f"tag{n}" for n in range(20)], "on_duplicate": "reuse", "seed": 0},
]

INVALID_GENERATION_REQUESTS: dict[str, dict[str, Any]] = {
    "no prompt": {"seed": 1},
    "empty prompt": {"prompt": ""},
    "prompt too long": {"prompt": "x" * 4001},
    "prompt not text": {"prompt": 42},
    "a control character": {"prompt": "a fox\u0007"},
    "an unknown field": {"prompt": "x", "width": 1024},
    "an unknown model": {"prompt": "x", "model": "V_4"},
    "an unknown speed": {"prompt": "x", "rendering_speed": "FAST"},
    "a ratio spelled with a colon": {"prompt": "x", "aspect_ratio": "16:9"},
    "an unknown resolution": {"prompt": "x", "resolution": "1000x1000"},
    "both ratio and resolution": {"prompt": "x", "aspect_ratio": "1x1", "resolution": "1024x1024"},
    "a negative seed": {"prompt": "x", "seed": -1},
    "a seed too large": {"prompt": "x", "seed": 2147483648},
    "a seed as text": {"prompt": "x", "seed": "12"},
    "no image": {"prompt": "x", "num_images": 0},
    "too many images": {"prompt": "x", "num_images": 9},
    "a count that is a boolean": {"prompt": "x", "num_images": True},
    "an empty palette": {"prompt": "x", "color_palette": []},
    "a palette colour by name": {"prompt": "x", "color_palette": [{"color_hex": "red"}]},
    "an unknown preset": {"prompt": "x", "color_palette": "NEON"},
    "a tag with a space": {"prompt": "x", "tags": ["two words"]},
    "a tag starting with a dash": {"prompt": "x", "tags": ["-draft"]},
    "too many tags": {"prompt": "x", "tags": [f"tag{n}" for n in range(21)]},
    "an unknown duplicate policy": {"prompt": "x", "on_duplicate": "sometimes"},
    "a short client request id": {"prompt": "x", "client_request_id": "abc"},
    "a client request id with a space": {"prompt": "x", "client_request_id": "cms article 4711"},
    "a client request id ending in a newline": {"prompt": "x", "client_request_id": "cms-article-4711\n"},
    "not an object": ["a red fox logo"],  # type: ignore[dict-item]
}

VALID_REPRODUCTION_REQUESTS: list[dict[str, Any]] = [
    {"generation_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"},
    {"generation_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "client_request_id": "dam-reproduce-1"},
]

INVALID_REPRODUCTION_REQUESTS: dict[str, dict[str, Any]] = {
    "no id": {},
    "an id in upper case": {"generation_id": "0F1E2D3C4B5A69788796A5B4C3D2E1F0"},
    "a short id": {"generation_id": "0f1e2d3c"},
    "an id with a trailing newline": {"generation_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n"},
    "a prompt besides": {"generation_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "prompt": "x"},
    "a short client request id": {
        "generation_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "client_request_id": "x",
    },
}


@pytest.mark.parametrize("detail", VALID_GENERATION_REQUESTS)
def test_valid_generation_requests_pass_both(detail: dict[str, Any]) -> None:
    assert _validator("GenerationRequested").is_valid(detail)
    assert _refusals(GenerationRequested, detail) == []


@pytest.mark.parametrize("detail", INVALID_GENERATION_REQUESTS.values(), ids=INVALID_GENERATION_REQUESTS)
def test_invalid_generation_requests_fail_both(detail: dict[str, Any]) -> None:
    assert not _validator("GenerationRequested").is_valid(detail)
    assert _refusals(GenerationRequested, detail)


@pytest.mark.parametrize("detail", VALID_REPRODUCTION_REQUESTS)
def test_valid_reproduction_requests_pass_both(detail: dict[str, Any]) -> None:
    assert _validator("ReproductionRequested").is_valid(detail)
    assert _refusals(ReproductionRequested, detail) == []


@pytest.mark.parametrize("detail", INVALID_REPRODUCTION_REQUESTS.values(), ids=INVALID_REPRODUCTION_REQUESTS)
def test_invalid_reproduction_requests_fail_both(detail: dict[str, Any]) -> None:
    assert not _validator("ReproductionRequested").is_valid(detail)
    assert _refusals(ReproductionRequested, detail)


def test_a_prompt_of_invisible_characters_is_the_one_check_beyond_the_schema() -> None:
    detail = {"prompt": "\u200b\u3000 "}
    assert _validator("GenerationRequested").is_valid(detail)
    assert _refusals(GenerationRequested, detail) == [
        "prompt: Value error, must contain visible characters (not only spaces or invisible characters)"
    ]
    assert "visible character" in _schema("GenerationRequested")["properties"]["prompt"]["description"]
