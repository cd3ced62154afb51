"""GenerationSpec: what a caller asks us to generate, in our words, whatever the trigger.

The HTTP API, upstream events and reproduction all describe a generation with this model; the
Ideogram operation that serves it (ideogram.operations.generate) turns it into the vendor's
parameters. Sizes are spelled "WxH"; tags are stored lower case.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ideogram_assets.ideogram.models import (
    AspectRatio,
    ColorPalette,
    ColorPalettePreset,
    ImageCount,
    MagicPrompt,
    ModelField,
    ModelVersion,
    RenderingSpeed,
    Resolution,
    Seed,
    SpeedField,
    StyleField,
    check_size_choice,
)
from ideogram_assets.records.index_items import MAX_TAGS

MAX_PROMPT_CHARS = 4000
MAX_TAG_CHARS = 64
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
_TAG = re.compile(TAG_PATTERN)

# Characters that render as nothing although Unicode files them as letters or symbols.
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
# Control, format (zero-width space, joiners, BOM, bidi marks), surrogate, private use, separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def _is_invisible(character: str) -> bool:
    return (
        character.isspace()
        or character in _BLANK_LOOKALIKES
        or unicodedata.category(character) in _INVISIBLE_CATEGORIES
    )


def _visible(value: str) -> str:
    """Refuses text made only of characters that show nothing (Ideogram would bill a blank
    prompt) and control characters other than tab and line breaks (NUL, escape sequences)."""
    if any(unicodedata.category(character) == "Cc" and character not in "\t\n\r" for character in value):
        raise ValueError("must not contain control characters (other than tab and line breaks)")
    if all(_is_invisible(character) for character in value):
        raise ValueError("must contain visible characters (not only spaces or invisible characters)")
    return value


def _valid_tag(tag: str) -> str:
    if not 1 <= len(tag) <= MAX_TAG_CHARS or not _TAG.fullmatch(tag):
        raise ValueError(
            f"tag {tag!r} must be 1-{MAX_TAG_CHARS} characters of letters, digits, '_', '.', ':' or '-', "
            "starting with a letter or digit"
        )
    return tag.lower()


def _sorted_unique(tags: list[str]) -> list[str]:
    return sorted(set(tags))


VisibleText = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS), AfterValidator(_visible)]
# Checked by _valid_tag (for a message that says what a tag may hold); documented in the schema.
Tag = Annotated[
    str,
    AfterValidator(_valid_tag),
    Field(
        description="Letters, digits, '_', '.', ':' or '-', starting with a letter or digit; "
        "stored lower case.",
        json_schema_extra={"pattern": TAG_PATTERN, "minLength": 1, "maxLength": MAX_TAG_CHARS},
    ),
]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_sorted_unique)]


class GenerationSpec(BaseModel):
    """What to generate and how to label it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: VisibleText
    negative_prompt: VisibleText | None = None
    model: ModelField = ModelVersion.V_3
    rendering_speed: SpeedField = RenderingSpeed.DEFAULT
    style_type: StyleField | None = None
    aspect_ratio: AspectRatio | None = None
    resolution: Resolution | None = None
    magic_prompt: MagicPrompt | None = None  # unset: Ideogram's default (AUTO)
    seed: Seed | None = None
    num_images: ImageCount = 1
    color_palette: ColorPalette | None = None
    tags: Annotated[Tags, Field(default_factory=list)]

    @model_validator(mode="after")
    def _aspect_ratio_or_resolution(self) -> Self:
        check_size_choice(self.aspect_ratio, self.resolution)
        return self

    def palette_json(self) -> Any:
        """The palette as plain JSON (a preset name or a list of members), as records keep it."""
        palette = self.color_palette
        if palette is None or isinstance(palette, ColorPalettePreset):
            return None if palette is None else palette.value
        return [member.model_dump(mode="json") for member in palette]
