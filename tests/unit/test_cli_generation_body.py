"""`generate`'s options become the body of POST /generations, with the API's field names and values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ideogram_assets.ideogram import ColorPalettePreset, MagicPrompt, ModelVersion, RenderingSpeed, StyleType
from ideogram_assets_cli.app import app
from ideogram_assets_cli.generation_body import GenerateOptions, generation_body, new_idempotency_key

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_only_the_prompt_is_sent_when_nothing_else_is_chosen() -> None:
    assert generation_body(GenerateOptions(prompt="a red fox logo")) == {"prompt": "a red fox logo"}


def test_every_option_maps_to_its_field() -> None:
    options = GenerateOptions(
        prompt="a lighthouse",
        model=ModelVersion.V_2,
        rendering_speed=RenderingSpeed.TURBO,
        style_type=StyleType.DESIGN,
        aspect_ratio="16x9",
        magic_prompt=MagicPrompt.OFF,
        seed=0,
        num_images=3,
        negative_prompt="text",
        color_palette=ColorPalettePreset.PASTEL,
        tags=["campaign", "dusk"],
    )
    body = generation_body(options)
    assert body == {
        "prompt": "a lighthouse",
        "model": "V_2",
        "rendering_speed": "TURBO",
        "style_type": "DESIGN",
        "aspect_ratio": "16x9",
        "magic_prompt": "OFF",
        "seed": 0,  # a zero seed is a choice, not "unset"
        "num_images": 3,
        "negative_prompt": "text",
        "color_palette": "PASTEL",
        "tags": ["campaign", "dusk"],
    }
    # Every field and value is one the API's published contract knows.
    schemas = json.loads(OPENAPI.read_text())["components"]["schemas"]
    assert set(body) <= set(schemas["GenerationRequest"]["properties"])
    for field, schema in [
        ("model", "ModelVersion"),
        ("rendering_speed", "RenderingSpeed"),
        ("style_type", "StyleType"),
        ("magic_prompt", "MagicPrompt"),
        ("color_palette", "ColorPalettePreset"),
    ]:
        assert body[field] in schemas[schema]["enum"], field


def test_resolution_is_sent_as_given() -> None:
    body = generation_body(GenerateOptions(prompt="x", resolution="1024x1024"))
    assert body == {"prompt": "x", "resolution": "1024x1024"}


def test_idempotency_keys_are_new_each_run_and_in_the_apis_alphabet() -> None:
    keys = {new_idempotency_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert 8 <= len(key) <= 128
        assert all(character.isalnum() or character in "_.:-" for character in key)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--model", "V_9"], "--model"),
        (["--speed", "warp"], "--speed"),
        (["--num-images", "9"], "--num-images"),
        (["--seed", "-1"], "--seed"),
        (["--color-palette", "NEON"], "--color-palette"),
        (["--json", "--num-images", "two"], "--num-images"),
    ],
)
def test_a_usage_error_exits_with_the_bad_input_code_before_any_request(
    arguments: list[str], complaint: str
) -> None:
    # No endpoints file is given or found: had the command got that far, it would exit 4.
    result = CliRunner().invoke(app, ["generate", "a fox", *arguments], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert complaint in result.stderr
    assert result.stdout == ""


def test_choices_are_taken_in_any_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no endpoints file here or above: stops right after parsing
    for name in ("IDEOGRAM_ASSETS_ENDPOINTS", "IDEOGRAM_ASSETS_API"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["generate", "a fox", "--model", "v_2a", "--speed", "Turbo"])
    assert result.exit_code == 4, result.output
    assert "no local stack found" in result.stderr
