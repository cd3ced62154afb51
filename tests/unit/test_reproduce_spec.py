"""A reproduction asks Ideogram for what shaped the stored image: the prompt as Magic Prompt
expanded it (with Magic Prompt off), its seed, model, speed, style, size and palette, with the
original's tags and `reproduced`. A record that cannot be asked for again says why."""

from __future__ import annotations

from typing import Any

import pytest

from ideogram_assets.generation.errors import CannotReproduce
from ideogram_assets.generation.reproduce import REPRODUCED_TAG, reproduction_spec
from ideogram_assets.ideogram.models import ColorPaletteMember, ColorPalettePreset, MagicPrompt
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.records.index_items import MAX_TAGS
from ideogram_assets.records.model import GenerationRecord
from tests.unit.search_records import record

GEN_ID = "4a3a778ee1ae4e81a7bd9fc35963fb9e"
EXPANDED = "A red fox logo in minimal line art, orange on cream, centred, generous white space"


def original(**overrides: Any) -> GenerationRecord:
    """A STORED record made with Magic Prompt on, as Ideogram answered it."""
    fields: dict[str, Any] = {
        "prompt": "a red fox logo",
        "expanded_prompt": EXPANDED,
        "negative_prompt": "text, watermark",
        "model": "V_3",
        "rendering_speed": "QUALITY",
        "style_type": "DESIGN",
        "magic_prompt": "ON",
        "requested_seed": None,
        "seed": 1234,
        "resolution": "1312x736",
        "aspect_ratio": "16x9",
        "tags": {"brand", "fox"},
        **overrides,
    }
    return record(GEN_ID, **fields)


def test_the_expanded_prompt_is_sent_again_with_magic_prompt_off() -> None:
    spec = reproduction_spec(original())

    assert spec.prompt == EXPANDED
    assert spec.magic_prompt is MagicPrompt.OFF
    assert spec.seed == 1234
    assert spec.negative_prompt == "text, watermark"
    assert (spec.model.value, spec.rendering_speed.value) == ("V_3", "QUALITY")
    assert spec.style_type is not None
    assert spec.style_type.value == "DESIGN"
    assert spec.num_images == 1


def test_a_prompt_never_expanded_is_sent_as_it_was() -> None:
    spec = reproduction_spec(original(expanded_prompt=None, magic_prompt="OFF"))

    assert spec.prompt == "a red fox logo"
    assert spec.magic_prompt is MagicPrompt.OFF


def test_optional_parameters_left_unset_stay_unset() -> None:
    spec = reproduction_spec(
        original(
            negative_prompt=None,
            style_type=None,
            resolution=None,
            aspect_ratio=None,
            model="V_2",
            rendering_speed="TURBO",
        )
    )

    assert (spec.negative_prompt, spec.style_type, spec.resolution, spec.aspect_ratio) == (None,) * 4
    assert spec.model.value == "V_2"


def test_seed_zero_is_a_seed() -> None:
    assert reproduction_spec(original(seed=0)).seed == 0


def test_the_resolution_is_preferred_over_the_aspect_ratio() -> None:
    spec = reproduction_spec(original(resolution="1312x736", aspect_ratio="16x9"))

    assert (spec.resolution, spec.aspect_ratio) == ("1312x736", None)


def test_the_aspect_ratio_is_used_without_a_resolution() -> None:
    spec = reproduction_spec(original(resolution=None, aspect_ratio="16x9"))

    assert (spec.resolution, spec.aspect_ratio) == (None, "16x9")


def test_a_palette_preset_is_asked_for_again() -> None:
    spec = reproduction_spec(original(color_palette="PASTEL"))

    assert spec.color_palette is ColorPalettePreset.PASTEL
    assert spec.palette_json() == "PASTEL"


def test_palette_members_are_asked_for_again() -> None:
    members = [{"color_hex": "#FF6A00", "color_weight": 0.7}, {"color_hex": "#FFF8E7", "color_weight": None}]

    spec = reproduction_spec(original(color_palette=members))

    assert spec.color_palette == [ColorPaletteMember.model_validate(member) for member in members]
    assert spec.palette_json() == members


def test_the_original_tags_are_kept_and_reproduced_added() -> None:
    assert reproduction_spec(original(tags={"fox", "brand"})).tags == ["brand", "fox", REPRODUCED_TAG]


def test_an_untagged_original_is_tagged_reproduced() -> None:
    assert reproduction_spec(original(tags=None)).tags == [REPRODUCED_TAG]


def test_a_reproduction_of_a_reproduction_is_tagged_reproduced_once() -> None:
    assert reproduction_spec(original(tags={"fox", REPRODUCED_TAG})).tags == ["fox", REPRODUCED_TAG]


def test_tags_stay_within_the_limit_with_reproduced_among_them() -> None:
    full = {f"tag-{number:02d}" for number in range(MAX_TAGS)}

    tags = reproduction_spec(original(tags=full)).tags

    assert len(tags) == MAX_TAGS == 20
    assert REPRODUCED_TAG in tags
    assert set(tags) - {REPRODUCED_TAG} == set(sorted(full)[: MAX_TAGS - 1])


def test_a_full_set_already_reproduced_keeps_every_tag() -> None:
    full = {f"tag-{number:02d}" for number in range(MAX_TAGS - 1)} | {REPRODUCED_TAG}

    assert set(reproduction_spec(original(tags=full)).tags) == full


def test_the_spec_is_one_the_model_takes() -> None:
    params = generate_params(reproduction_spec(original()))

    assert (params.prompt, params.seed, params.resolution) == (EXPANDED, 1234, "1312x736")


def test_a_record_without_a_seed_cannot_be_reproduced() -> None:
    with pytest.raises(CannotReproduce, match=rf"^generation {GEN_ID} has no seed"):
        reproduction_spec(original(seed=None, status="FAILED"))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"resolution": "999x999"}, "unknown resolution '999x999'", id="a resolution"),
        pytest.param({"resolution": None, "aspect_ratio": "7x3"}, "unknown aspect_ratio '7x3'", id="a ratio"),
        pytest.param({"model": "V_9"}, "'V_3'", id="a model"),
        pytest.param({"rendering_speed": "WARP"}, "'QUALITY'", id="a speed"),
        pytest.param({"seed": 2**31}, "less than or equal to 2147483647", id="a seed"),
        pytest.param({"color_palette": "NEON"}, "PASTEL", id="a palette"),
    ],
)
def test_a_stored_value_the_spec_no_longer_takes_cannot_be_reproduced(
    overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(CannotReproduce) as refused:
        reproduction_spec(original(**overrides))

    message = str(refused.value)
    assert message.startswith(f"generation {GEN_ID} cannot be asked for again: ")
    assert reason in message


def test_a_stored_combination_the_model_refuses_cannot_be_reproduced() -> None:
    with pytest.raises(CannotReproduce, match="RENDER_3D"):
        reproduction_spec(original(style_type="RENDER_3D"))
