"""Typed request parameters and results of an Ideogram generation, following Ideogram's OpenAPI spec.

`GenerateParams` is endpoint-neutral: one spelling for sizes ("16x9", "1024x1024"), our model
version plus a rendering speed. payload.py turns it into the legacy or the 3.0 request and checks
what only one endpoint allows. Enum values are the spec's; a unit test compares them with it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ideogram_assets.ideogram.spec_values import (
    COLOR_HEX_PATTERN,
    LEGACY_RESOLUTIONS,
    MAX_COLOR_WEIGHT,
    MAX_IMAGES,
    MAX_PALETTE_MEMBERS,
    MAX_SEED,
    MIN_COLOR_WEIGHT,
    V3_ASPECT_RATIOS,
    V3_RESOLUTIONS,
)


class ModelVersion(StrEnum):
    """Ideogram model generation; the speed variant (V_2_TURBO, ...) comes from RenderingSpeed."""

    V_1 = "V_1"
    V_2 = "V_2"
    V_2A = "V_2A"
    V_3 = "V_3"


class RenderingSpeed(StrEnum):
    """Spec: RenderingSpeed (default DEFAULT). The legacy endpoint knows only TURBO and DEFAULT."""

    FLASH = "FLASH"
    TURBO = "TURBO"
    BALANCED = "BALANCED"
    DEFAULT = "DEFAULT"
    QUALITY = "QUALITY"


class MagicPrompt(StrEnum):
    """Spec: MagicPromptOption (`magic_prompt` on 3.0, `magic_prompt_option` on legacy)."""

    AUTO = "AUTO"
    ON = "ON"
    OFF = "OFF"


class StyleType(StrEnum):
    """Spec: StyleType (legacy); Ideogram 3.0 accepts the subset in spec_values.V3_STYLE_TYPES."""

    AUTO = "AUTO"
    GENERAL = "GENERAL"
    FICTION = "FICTION"
    REALISTIC = "REALISTIC"
    DESIGN = "DESIGN"
    RENDER_3D = "RENDER_3D"
    ANIME = "ANIME"
    CUSTOM = "CUSTOM"
    STYLIZED = "STYLIZED"


class ColorPalettePreset(StrEnum):
    """Spec: ColorPalettePresetName."""

    EMBER = "EMBER"
    FRESH = "FRESH"
    JUNGLE = "JUNGLE"
    MAGIC = "MAGIC"
    MELON = "MELON"
    MOSAIC = "MOSAIC"
    PASTEL = "PASTEL"
    ULTRAMARINE = "ULTRAMARINE"


class Endpoint(StrEnum):
    LEGACY = "legacy"  # POST /generate, JSON {"image_request": {...}}
    V3 = "v3"  # POST /v1/ideogram-v3/generate, multipart/form-data


class ColorPaletteMember(BaseModel):
    """Spec: ColorPaletteMember."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    color_hex: Annotated[str, Field(pattern=COLOR_HEX_PATTERN)]
    color_weight: Annotated[float | None, Field(ge=MIN_COLOR_WEIGHT, le=MAX_COLOR_WEIGHT)] = None


PaletteMembers = Annotated[list[ColorPaletteMember], Field(min_length=1, max_length=MAX_PALETTE_MEMBERS)]

_KNOWN_RESOLUTIONS = V3_RESOLUTIONS | LEGACY_RESOLUTIONS
_LEGACY_SIZE = re.compile(r"^(?:ASPECT|RESOLUTION)_(?P<width>\d+)_(?P<height>\d+)$")


def _neutral_size(value: Any) -> Any:
    """Accept the legacy spelling too (ASPECT_16_9, RESOLUTION_1024_1024), so either spec's value works."""
    if isinstance(value, str):
        match = _LEGACY_SIZE.match(value.strip())
        if match is not None:
            return f"{match['width']}x{match['height']}"
    return value


def _known_aspect_ratio(value: str) -> str:
    # Legacy ratios are a subset of 3.0's; which model may use which is checked in payload.py.
    if value not in V3_ASPECT_RATIOS:
        raise ValueError(f"unknown aspect_ratio {value!r}; expected one of {sorted(V3_ASPECT_RATIOS)}")
    return value


def _known_resolution(value: str) -> str:
    if value not in _KNOWN_RESOLUTIONS:
        raise ValueError(f"unknown resolution {value!r}; expected WIDTHxHEIGHT as Ideogram lists them")
    return value


def _spec_shaped_palette(value: Any) -> Any:
    """Also take the spec's own shapes: {"name": "PASTEL"} or {"members": [...]}."""
    if isinstance(value, dict) and len(value) == 1:
        if "name" in value:
            return value["name"]
        if "members" in value:
            return value["members"]
    return value


# Field types shared by every model that says what to generate (ours and the vendor's).
AspectRatio = Annotated[
    str,
    BeforeValidator(_neutral_size),
    AfterValidator(_known_aspect_ratio),
    Field(description='"WxH" as in "16x9"; not with resolution.'),
]
Resolution = Annotated[
    str,
    BeforeValidator(_neutral_size),
    AfterValidator(_known_resolution),
    Field(description='"WxH" as in "1024x1024" (V_2, V_3).'),
]
# strict: a JSON `true` or "12" is a caller mistake, not a seed or a count.
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)]
ImageCount = Annotated[int, Field(ge=1, le=MAX_IMAGES, strict=True)]
ColorPalette = Annotated[
    ColorPalettePreset | PaletteMembers,
    BeforeValidator(_spec_shaped_palette),
    Field(description="A preset name or 1-8 {color_hex, color_weight} members (V_2, V_3)."),
]
ModelField = Annotated[ModelVersion, Field(description="V_3 uses Ideogram 3.0; older ones the legacy API.")]
SpeedField = Annotated[RenderingSpeed, Field(description="Older models offer only TURBO and DEFAULT.")]
StyleField = Annotated[StyleType, Field(description="Not V_1; RENDER_3D/ANIME not V_3.")]


def check_size_choice(aspect_ratio: str | None, resolution: str | None) -> None:
    if aspect_ratio is not None and resolution is not None:
        raise ValueError("aspect_ratio and resolution cannot be used together")


class GenerateParams(BaseModel):
    """Ideogram's generate parameters; names and values follow the spec, sizes spelled "WxH".

    Built from our GenerationSpec by ideogram.operations.generate; payload.py turns it into the
    request of the endpoint its model uses.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: Annotated[str, Field(min_length=1)]
    negative_prompt: (
        Annotated[str, Field(min_length=1, description="What to leave out (not V_2A).")] | None
    ) = None
    model: ModelField = ModelVersion.V_3
    rendering_speed: SpeedField = RenderingSpeed.DEFAULT
    style_type: StyleField | None = None
    aspect_ratio: AspectRatio | None = None
    resolution: Resolution | None = None
    magic_prompt: MagicPrompt | None = None  # unset: Ideogram's default (AUTO)
    seed: Seed | None = None
    num_images: ImageCount = 1
    color_palette: ColorPalette | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be blank")
        return value

    @model_validator(mode="after")
    def _aspect_ratio_or_resolution(self) -> Self:
        check_size_choice(self.aspect_ratio, self.resolution)
        return self


def _parse_created(value: Any) -> Any:
    """ISO-8601 leniently: "Z" or an offset, any number of fractional digits, basic format."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return value  # pydantic reports it (or parses what it knows, like a Unix time)
    return value


def _assume_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


CreatedAt = Annotated[datetime, BeforeValidator(_parse_created), AfterValidator(_assume_utc)]


class GeneratedImage(BaseModel):
    """Spec: ImageObject / ImageGenerationObjectV3, kept lenient: a billed image must not be lost
    because Ideogram added a style or a field, so style_type stays a plain string."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str | None = None  # null (or empty) when is_image_safe is false
    prompt: str  # what Ideogram generated from; Magic Prompt may have rewritten the request's prompt
    resolution: str
    is_image_safe: bool
    seed: int
    style_type: str | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _empty_url_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class _ResponseBody(BaseModel):
    """Spec: GenerateImageResponse / ImageGenerationResponseV3."""

    model_config = ConfigDict(extra="ignore")

    created: CreatedAt
    data: list[GeneratedImage]


class GenerationResult(BaseModel):
    """Ideogram's response plus how we got it: endpoint, attempts and the successful attempt's latency."""

    model_config = ConfigDict(frozen=True)

    created: CreatedAt
    data: list[GeneratedImage]
    endpoint: Endpoint
    attempts: Annotated[int, Field(ge=1)] = 1
    latency_ms: Annotated[float, Field(ge=0)] = 0.0


def parse_generation(
    content: bytes, *, endpoint: Endpoint, attempts: int, latency_ms: float
) -> GenerationResult:
    """Parse a 200 body; raises pydantic.ValidationError when it is not the spec's response."""
    body = _ResponseBody.model_validate_json(content)
    return GenerationResult(
        created=body.created, data=body.data, endpoint=endpoint, attempts=attempts, latency_ms=latency_ms
    )
