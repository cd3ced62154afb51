"""The duplicate-check key: equivalent prompts hash alike; any parameter that shapes the image
changes the hash; how many images were asked for does not."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from ideogram_assets.ideogram import (
    ColorPaletteMember,
    ColorPalettePreset,
    GenerateParams,
    MagicPrompt,
    ModelVersion,
    RenderingSpeed,
    StyleType,
)
from ideogram_assets.prompt_hash import normalize_prompt, prompt_hash

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def params(**fields: Any) -> GenerateParams:
    return GenerateParams.model_validate({"prompt": "A red fox in the snow", **fields})


# -- normalize_prompt -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "normalized"),
    [
        pytest.param("A Red FOX", "a red fox", id="case"),
        pytest.param("Straße", "strasse", id="casefold, not just lower"),
        pytest.param("  a red fox  ", "a red fox", id="leading and trailing whitespace"),
        pytest.param("a   red\t\tfox", "a red fox", id="runs of spaces and tabs"),
        pytest.param("a red\nfox\r\n", "a red fox", id="newlines"),
        pytest.param("a\u00a0red\u3000fox", "a red fox", id="no-break and ideographic spaces"),
        pytest.param(
            "\uff21 \uff52\uff45\uff44 \uff46\uff4f\uff58", "a red fox", id="NFKC fullwidth letters"
        ),
        pytest.param("\ufb01re", "fire", id="NFKC ligature"),
        pytest.param("cafe\u0301", "caf\u00e9", id="NFKC composes accents"),
        pytest.param("x\u00b2", "x2", id="NFKC superscript"),
    ],
)
def test_normalize_prompt_ignores_case_unicode_form_and_whitespace_runs(prompt: str, normalized: str) -> None:
    assert normalize_prompt(prompt) == normalized


def test_normalize_prompt_keeps_punctuation_and_word_order() -> None:
    assert normalize_prompt("Fox, red!") == "fox, red!"
    assert normalize_prompt("red fox") != normalize_prompt("fox red")


def test_normalize_prompt_keeps_words_apart() -> None:
    assert normalize_prompt("red fox") != normalize_prompt("redfox")


def test_normalize_prompt_is_idempotent() -> None:
    once = normalize_prompt("  \uff34he \ufb01ne   Straße\t")
    assert normalize_prompt(once) == once


# -- prompt_hash: stable ----------------------------------------------------------------------


def test_prompt_hash_is_a_lowercase_hex_sha256() -> None:
    assert SHA256_HEX.match(prompt_hash(params()))


def test_prompt_hash_is_deterministic() -> None:
    assert prompt_hash(params(seed=7)) == prompt_hash(params(seed=7))


def test_prompt_hash_is_stable_across_releases() -> None:
    # Stored records are matched by this value: a change here orphans every earlier duplicate check.
    assert prompt_hash(GenerateParams(prompt="A Red  Fox")) == (
        "d12a5b8ac89c8ba72ffcc1d4bb6c3841953543521a7c379fe6eeee4ba31e8503"
    )


def test_prompt_hash_is_the_sha256_of_the_sorted_compact_json_of_prompt_and_shaping_fields() -> None:
    canonical = (
        '{"aspect_ratio":null,"color_palette":null,"magic_prompt":null,"model":"V_3",'
        '"negative_prompt":null,"prompt":"a red fox","rendering_speed":"DEFAULT","resolution":null,'
        '"seed":null,"style_type":null}'
    )
    assert prompt_hash(GenerateParams(prompt="a red fox")) == hashlib.sha256(canonical.encode()).hexdigest()


# -- prompt_hash: equivalent requests ---------------------------------------------------------


@pytest.mark.parametrize(
    "equivalent",
    [
        "a red fox in the snow",
        "A RED FOX IN THE SNOW",
        "  A red   fox\nin the\tsnow ",
        "\uff21 red fox in the snow",
    ],
)
def test_equivalent_prompts_hash_alike(equivalent: str) -> None:
    assert prompt_hash(params(prompt=equivalent)) == prompt_hash(params())


def test_equivalent_negative_prompts_hash_alike() -> None:
    assert prompt_hash(params(negative_prompt="Blurry,  TEXT")) == prompt_hash(
        params(negative_prompt="blurry, text")
    )


def test_num_images_does_not_change_the_hash() -> None:
    assert prompt_hash(params(num_images=1)) == prompt_hash(params(num_images=8))


def test_legacy_and_neutral_size_spellings_hash_alike() -> None:
    assert prompt_hash(params(aspect_ratio="ASPECT_16_9")) == prompt_hash(params(aspect_ratio="16x9"))
    assert prompt_hash(params(resolution="RESOLUTION_1024_1024")) == prompt_hash(
        params(resolution="1024x1024")
    )


def test_a_preset_palette_hashes_alike_in_either_spelling() -> None:
    assert prompt_hash(params(color_palette={"name": "PASTEL"})) == prompt_hash(
        params(color_palette=ColorPalettePreset.PASTEL)
    )


def test_spelling_out_a_default_does_not_change_the_hash() -> None:
    assert prompt_hash(params(model="V_3", rendering_speed="DEFAULT")) == prompt_hash(params())


# -- prompt_hash: shaping parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", "a blue fox in the snow"),
        ("seed", 42),
        ("model", ModelVersion.V_2),
        ("rendering_speed", RenderingSpeed.TURBO),
        ("style_type", StyleType.REALISTIC),
        ("aspect_ratio", "16x9"),
        ("resolution", "1024x1024"),
        ("negative_prompt", "blurry"),
        ("magic_prompt", MagicPrompt.OFF),
        ("color_palette", ColorPalettePreset.EMBER),
        ("color_palette", [ColorPaletteMember(color_hex="#ff0000", color_weight=0.5)]),
    ],
)
def test_a_shaping_parameter_changes_the_hash(field: str, value: Any) -> None:
    assert prompt_hash(params(**{field: value})) != prompt_hash(params())


@pytest.mark.parametrize(
    ("field", "first", "second"),
    [
        ("seed", 1, 2),
        ("seed", 0, None),
        ("model", "V_2", "V_2A"),
        ("rendering_speed", "TURBO", "QUALITY"),
        ("style_type", "GENERAL", "DESIGN"),
        ("aspect_ratio", "16x9", "9x16"),
        ("negative_prompt", "blurry", "text"),
        ("color_palette", "EMBER", "PASTEL"),
        ("color_palette", [{"color_hex": "#ff0000"}], [{"color_hex": "#00ff00"}]),
        (
            "color_palette",
            [{"color_hex": "#ff0000", "color_weight": 0.5}],
            [{"color_hex": "#ff0000", "color_weight": 0.9}],
        ),
    ],
)
def test_two_values_of_a_shaping_parameter_hash_differently(field: str, first: Any, second: Any) -> None:
    assert prompt_hash(params(**{field: first})) != prompt_hash(params(**{field: second}))


def test_the_prompt_and_the_negative_prompt_are_not_interchangeable() -> None:
    swapped = GenerateParams(prompt="blurry", negative_prompt="a red fox")
    assert prompt_hash(swapped) != prompt_hash(GenerateParams(prompt="a red fox", negative_prompt="blurry"))
