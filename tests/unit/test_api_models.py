"""The API's bodies: what POST /generations accepts (and how it says no), what the generate
operation hands Ideogram, and the camelCase names replies use."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from ideogram_assets.api.errors import ErrorResponse
from ideogram_assets.api.generations import GenerationRequest, GenerationsResponse, GenerationView
from ideogram_assets.generation.spec import MAX_PROMPT_CHARS, MAX_TAG_CHARS, GenerationSpec
from ideogram_assets.ideogram import (
    ColorPaletteMember,
    ColorPalettePreset,
    GenerateParams,
    MagicPrompt,
    ModelVersion,
    RenderingSpeed,
    StyleType,
)
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.ideogram.spec_values import MAX_IMAGES, MAX_SEED
from ideogram_assets.records.index_items import MAX_TAGS


def request(**fields: Any) -> GenerationRequest:
    return GenerationRequest.model_validate({"prompt": "a red fox", **fields})


def rejection(**fields: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        request(**fields)
    return caught.value


def failing_fields(error: ValidationError) -> set[tuple[str | int, ...]]:
    return {tuple(item["loc"]) for item in error.errors()}


# -- defaults ---------------------------------------------------------------------------------


def test_a_prompt_alone_is_a_complete_request_with_ideograms_defaults() -> None:
    minimal = request()

    assert minimal.model is ModelVersion.V_3
    assert minimal.rendering_speed is RenderingSpeed.DEFAULT
    assert minimal.num_images == 1
    assert minimal.tags == []
    assert minimal.seed is None
    assert minimal.negative_prompt is None
    assert minimal.aspect_ratio is None
    assert minimal.resolution is None
    assert minimal.magic_prompt is None
    assert minimal.color_palette is None


def test_a_request_is_our_generation_spec_not_the_vendors_parameters() -> None:
    assert isinstance(request(), GenerationSpec)
    assert not isinstance(request(), GenerateParams)


def test_a_request_is_immutable() -> None:
    with pytest.raises(ValidationError):
        setattr(request(), "prompt", "something else")  # noqa: B010 -- the assignment is the test


# -- unknown fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["style", "width", "numImages", "magic_prompt_option", "Tags"])
def test_an_unknown_field_is_rejected_by_name(field: str) -> None:
    error = rejection(**{field: "x"})

    assert failing_fields(error) == {(field,)}
    assert error.errors()[0]["type"] == "extra_forbidden"


def test_a_missing_prompt_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        GenerationRequest.model_validate({"tags": ["a"]})

    assert failing_fields(caught.value) == {("prompt",)}


# -- prompt -----------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, MAX_PROMPT_CHARS - 1, MAX_PROMPT_CHARS])
def test_a_prompt_of_1_to_4000_characters_is_accepted(length: int) -> None:
    assert len(request(prompt="x" * length).prompt) == length


def test_the_prompt_limit_is_4000() -> None:
    assert MAX_PROMPT_CHARS == 4000


def test_the_prompt_limit_counts_characters_not_bytes() -> None:
    assert request(prompt="é" * MAX_PROMPT_CHARS).prompt == "é" * MAX_PROMPT_CHARS


def test_an_empty_prompt_is_rejected() -> None:
    assert failing_fields(rejection(prompt="")) == {("prompt",)}


def test_a_blank_prompt_is_rejected() -> None:
    error = rejection(prompt=" \t\n ")

    assert failing_fields(error) == {("prompt",)}
    assert "visible characters" in str(error)


@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param("\u200b\u200b", id="zero-width spaces"),
        pytest.param("\ufeff", id="byte order mark"),
        pytest.param("\u200b \u200d\u2060\ufeff\u00a0\u3000", id="mixed invisible and spaces"),
        pytest.param("\u202e\u202d", id="bidi overrides"),
        pytest.param("\u3164\u115f", id="Hangul fillers"),
        pytest.param("\u2800", id="braille blank"),
    ],
)
@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
def test_a_prompt_made_only_of_invisible_characters_is_rejected(prompt: str, field: str) -> None:
    error = rejection(**{field: prompt})

    assert failing_fields(error) == {(field,)}
    assert "visible characters" in error.errors()[0]["msg"]


@pytest.mark.parametrize("prompt", ["a fox\x00", "\x1b[31ma red fox", "\x00\x07", "a\x7ffox"])
def test_a_prompt_with_control_characters_is_rejected(prompt: str) -> None:
    error = rejection(prompt=prompt)

    assert failing_fields(error) == {("prompt",)}
    assert "control characters" in error.errors()[0]["msg"]


def test_tabs_and_line_breaks_are_fine_in_a_prompt() -> None:
    assert request(prompt="a fox\n\tin snow\r\n").prompt == "a fox\n\tin snow\r\n"


@pytest.mark.parametrize("prompt", ["\u200ba fox\u200b", "\ufeffé", "日本の狐", "🦊"])
def test_a_prompt_with_something_visible_is_accepted_as_written(prompt: str) -> None:
    assert request(prompt=prompt).prompt == prompt


def test_a_prompt_over_4000_characters_is_rejected() -> None:
    error = rejection(prompt="x" * (MAX_PROMPT_CHARS + 1))

    assert failing_fields(error) == {("prompt",)}
    assert error.errors()[0]["type"] == "string_too_long"


def test_the_prompt_is_kept_as_written() -> None:
    assert request(prompt="  A Red   Fox ").prompt == "  A Red   Fox "


@pytest.mark.parametrize(("length", "accepted"), [(1, True), (MAX_PROMPT_CHARS, True), (0, False)])
def test_the_negative_prompt_has_the_prompts_bounds(length: int, accepted: bool) -> None:
    if accepted:
        assert request(negative_prompt="x" * length).negative_prompt == "x" * length
    else:
        assert failing_fields(rejection(negative_prompt="x" * length)) == {("negative_prompt",)}


def test_a_negative_prompt_over_4000_characters_is_rejected() -> None:
    assert failing_fields(rejection(negative_prompt="x" * (MAX_PROMPT_CHARS + 1))) == {("negative_prompt",)}


# -- tags -------------------------------------------------------------------------------------


def test_tags_are_lower_cased_deduplicated_and_sorted() -> None:
    assert request(tags=["Zoo", "alpha", "ZOO", "beta", "alpha"]).tags == ["alpha", "beta", "zoo"]


def test_surrounding_whitespace_in_a_tag_is_refused_as_the_documented_pattern_says() -> None:
    assert failing_fields(rejection(tags=["ok", "  campaign:spring "])) == {("tags", 1)}


@pytest.mark.parametrize("tag", ["a", "7", "campaign:spring-2025", "v1.2_final", "x" * MAX_TAG_CHARS])
def test_a_tag_of_letters_digits_and_separators_is_accepted(tag: str) -> None:
    assert request(tags=[tag]).tags == [tag]


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("x" * (MAX_TAG_CHARS + 1), id="too long"),
        pytest.param("two words", id="inner space"),
        pytest.param("-leading-dash", id="starts with a separator"),
        pytest.param(".hidden", id="starts with a dot"),
        pytest.param("a/b", id="slash"),
        pytest.param("a#b", id="hash"),
        pytest.param("émoji", id="non-ASCII letter"),
        pytest.param("a\nb", id="inner newline"),
    ],
)
def test_a_tag_outside_the_charset_or_length_is_rejected_with_a_clear_message(tag: str) -> None:
    error = rejection(tags=["ok", tag])

    assert failing_fields(error) == {("tags", 1)}
    message = error.errors()[0]["msg"]
    assert repr(tag) in message
    assert f"1-{MAX_TAG_CHARS} characters" in message
    assert "starting with a letter or digit" in message


@pytest.mark.parametrize("count", [0, 1, MAX_TAGS])
def test_up_to_20_tags_are_accepted(count: int) -> None:
    tags = [f"tag-{index:02d}" for index in range(count)]
    assert request(tags=tags).tags == tags


def test_more_than_20_tags_are_rejected_with_the_limit_in_the_message() -> None:
    error = rejection(tags=[f"tag-{index:02d}" for index in range(MAX_TAGS + 1)])

    assert failing_fields(error) == {("tags",)}
    assert error.errors()[0]["type"] == "too_long"
    assert str(MAX_TAGS) in error.errors()[0]["msg"]


def test_tags_must_be_a_list_of_strings() -> None:
    assert failing_fields(rejection(tags="spring")) == {("tags",)}
    assert failing_fields(rejection(tags=[1])) == {("tags", 0)}


# -- sizes ------------------------------------------------------------------------------------


def test_aspect_ratio_and_resolution_together_are_rejected() -> None:
    error = rejection(aspect_ratio="16x9", resolution="1024x1024")

    assert "aspect_ratio and resolution cannot be used together" in str(error)


@pytest.mark.parametrize(("field", "value"), [("aspect_ratio", "16x9"), ("resolution", "1024x1024")])
def test_aspect_ratio_or_resolution_alone_is_accepted(field: str, value: str) -> None:
    assert getattr(request(**{field: value}), field) == value


def test_a_legacy_size_spelling_is_read_as_width_x_height() -> None:
    assert request(aspect_ratio="ASPECT_16_9").aspect_ratio == "16x9"
    assert request(resolution="RESOLUTION_1024_1024").resolution == "1024x1024"


@pytest.mark.parametrize(("field", "value"), [("aspect_ratio", "7x3"), ("resolution", "1000x1000")])
def test_an_unknown_size_is_rejected(field: str, value: str) -> None:
    assert failing_fields(rejection(**{field: value})) == {(field,)}


# -- num_images and seed ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 4, MAX_IMAGES])
def test_1_to_8_images_are_accepted(count: int) -> None:
    assert request(num_images=count).num_images == count


@pytest.mark.parametrize("count", [0, -1, MAX_IMAGES + 1])
def test_a_number_of_images_outside_1_to_8_is_rejected(count: int) -> None:
    assert failing_fields(rejection(num_images=count)) == {("num_images",)}


@pytest.mark.parametrize("count", ["2", 2.0, True])
def test_a_number_of_images_must_be_a_json_integer(count: Any) -> None:
    assert failing_fields(rejection(num_images=count)) == {("num_images",)}


@pytest.mark.parametrize("seed", [0, 1, MAX_SEED])
def test_a_seed_from_0_to_2147483647_is_accepted(seed: int) -> None:
    assert request(seed=seed).seed == seed


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
def test_a_seed_outside_its_bounds_is_rejected(seed: int) -> None:
    assert failing_fields(rejection(seed=seed)) == {("seed",)}


@pytest.mark.parametrize("seed", ["12", 12.0, True])
def test_a_seed_must_be_a_json_integer(seed: Any) -> None:
    assert failing_fields(rejection(seed=seed)) == {("seed",)}


def test_the_seed_limit_is_ideograms() -> None:
    assert MAX_SEED == 2**31 - 1


# -- generate_params: the spec as Ideogram's parameters ----------------------------------------

FULL_REQUEST: dict[str, Any] = {
    "prompt": "a red fox",
    "negative_prompt": "blurry",
    "model": "V_2",
    "rendering_speed": "TURBO",
    "style_type": "REALISTIC",
    "aspect_ratio": "16x9",
    "magic_prompt": "OFF",
    "seed": 1234,
    "num_images": 3,
    "color_palette": [{"color_hex": "#ff0000", "color_weight": 0.5}, {"color_hex": "#00f"}],
    "tags": ["Campaign", "team-a"],
}


def test_ideogram_params_is_a_plain_generate_params_without_tags() -> None:
    params = generate_params(GenerationRequest.model_validate(FULL_REQUEST))

    assert type(params) is GenerateParams
    assert "tags" not in GenerateParams.model_fields
    assert "tags" not in params.model_dump()


def test_ideogram_params_keeps_every_other_field() -> None:
    params = generate_params(GenerationRequest.model_validate(FULL_REQUEST))

    assert params == GenerateParams(
        prompt="a red fox",
        negative_prompt="blurry",
        model=ModelVersion.V_2,
        rendering_speed=RenderingSpeed.TURBO,
        style_type=StyleType.REALISTIC,
        aspect_ratio="16x9",
        magic_prompt=MagicPrompt.OFF,
        seed=1234,
        num_images=3,
        color_palette=[
            ColorPaletteMember(color_hex="#ff0000", color_weight=0.5),
            ColorPaletteMember(color_hex="#00f"),
        ],
    )


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"resolution": "1024x1024", "color_palette": "PASTEL"}, id="resolution and preset"),
        pytest.param({k: v for k, v in FULL_REQUEST.items() if k != "prompt"}, id="every field"),
    ],
)
def test_ideogram_params_equals_the_request_field_by_field_except_tags(fields: dict[str, Any]) -> None:
    generation = request(**fields)
    params = generate_params(generation)

    assert params.model_dump() == generation.model_dump(exclude={"tags", "on_duplicate"})


def test_ideogram_params_keeps_a_preset_palette_as_the_preset() -> None:
    params = generate_params(request(color_palette={"name": "PASTEL"}))

    assert params.color_palette is ColorPalettePreset.PASTEL


# -- replies: camelCase -----------------------------------------------------------------------


def view_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": "gen-1",
        "request_id": "req-1",
        "index_in_request": 0,
        "status": "STORED",
        "source": "api",
        "prompt": "a red fox",
        "model": "V_3",
        "rendering_speed": "DEFAULT",
        "prompt_hash": "ab" * 32,
        "created_at": "2025-03-07T09:05:00.000Z",
    }
    return {**fields, **overrides}


def test_a_view_serialises_with_camel_case_names() -> None:
    view = GenerationView.model_validate(
        view_fields(
            parent_id="gen-0",
            expanded_prompt="a red fox, detailed",
            image_url="https://bucket.s3.amazonaws.com/images/x.png?X-Amz-Signature=1",
            image_url_expires_in=900,
            is_safe=True,
            stored_uri="s3://bucket/images/x.png",
            size_bytes=10,
            content_type="image/png",
            cost_usd=0.06,
            failure_kind=None,
        )
    )
    dumped = view.model_dump(by_alias=True)

    assert dumped["requestId"] == "req-1"
    assert dumped["indexInRequest"] == 0
    assert dumped["imageUrl"] == "https://bucket.s3.amazonaws.com/images/x.png?X-Amz-Signature=1"
    assert dumped["imageUrlExpiresIn"] == 900
    assert dumped["parentId"] == "gen-0"
    assert dumped["expandedPrompt"] == "a red fox, detailed"
    assert dumped["renderingSpeed"] == "DEFAULT"
    assert dumped["promptHash"] == "ab" * 32
    assert dumped["createdAt"] == "2025-03-07T09:05:00.000Z"
    assert dumped["isSafe"] is True
    assert dumped["storedUri"] == "s3://bucket/images/x.png"
    assert dumped["sizeBytes"] == 10
    assert dumped["contentType"] == "image/png"
    assert dumped["costUsd"] == 0.06
    assert dumped["sha256"] is None
    assert "failureKind" in dumped


def test_no_snake_case_name_appears_in_a_serialised_view() -> None:
    dumped = GenerationView.model_validate(view_fields()).model_dump(by_alias=True)

    assert not [name for name in dumped if "_" in name]


def test_a_view_serialises_camel_case_even_without_by_alias() -> None:
    dumped = GenerationView.model_validate(view_fields()).model_dump()

    assert "requestId" in dumped
    assert "request_id" not in dumped


def test_a_view_reads_either_spelling() -> None:
    by_name = GenerationView.model_validate(view_fields())
    by_alias = GenerationView.model_validate(by_name.model_dump(by_alias=True))

    assert by_alias == by_name
    assert by_alias.request_id == "req-1"


def test_a_generations_response_json_uses_camel_case_all_the_way_down() -> None:
    reply = GenerationsResponse(
        request_id="req-1",
        complete=False,
        generations=[
            GenerationView.model_validate(view_fields(index_in_request=0, image_url="https://signed/0")),
            GenerationView.model_validate(view_fields(id="gen-2", index_in_request=1, status="PENDING")),
        ],
    )
    body = json.loads(reply.model_dump_json())

    assert body["requestId"] == "req-1"
    assert body["complete"] is False
    assert [item["indexInRequest"] for item in body["generations"]] == [0, 1]
    assert body["generations"][0]["imageUrl"] == "https://signed/0"
    assert body["generations"][1]["imageUrl"] is None
    assert body["generations"][1]["status"] == "PENDING"
    assert "request_id" not in body
    assert "index_in_request" not in body["generations"][0]


def test_a_views_tags_default_to_an_empty_list() -> None:
    assert GenerationView.model_validate(view_fields()).tags == []


def test_an_error_response_leaves_out_errors_it_does_not_have() -> None:
    assert ErrorResponse(message="not found").model_dump(exclude_none=True) == {"message": "not found"}
