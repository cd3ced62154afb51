"""GenerateParams -> the HTTP request of the endpoint its model uses, refusing what that endpoint can't take.

V_3 goes to POST /v1/ideogram-v3/generate as multipart/form-data (Ideogram's documented form);
V_1, V_2 and V_2A go to the legacy POST /generate as JSON {"image_request": {...}}, where the
rendering speed is part of the model name (V_2 + TURBO -> V_2_TURBO). The model-specific rules
come from the spec's field descriptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ideogram_assets.ideogram.errors import IdeogramRequestError
from ideogram_assets.ideogram.models import (
    ColorPalettePreset,
    Endpoint,
    GenerateParams,
    ModelVersion,
    RenderingSpeed,
)
from ideogram_assets.ideogram.spec_values import (
    LEGACY_ASPECT_RATIOS,
    LEGACY_RESOLUTIONS,
    V3_ASPECT_RATIOS,
    V3_RESOLUTIONS,
    V3_STYLE_TYPES,
)

LEGACY_PATH = "/generate"
V3_PATH = "/v1/ideogram-v3/generate"

# The legacy ModelEnum folds the speed into the name; it has no FLASH, BALANCED or QUALITY.
_LEGACY_SPEED_SUFFIX = {RenderingSpeed.DEFAULT: "", RenderingSpeed.TURBO: "_TURBO"}
# Prose rules of the spec's ImageRequest fields, per model generation.
_NEGATIVE_PROMPT_MODELS = frozenset({ModelVersion.V_1, ModelVersion.V_2, ModelVersion.V_3})
_COLOR_PALETTE_MODELS = frozenset({ModelVersion.V_2, ModelVersion.V_3})
_STYLE_TYPE_MODELS = frozenset({ModelVersion.V_2, ModelVersion.V_2A, ModelVersion.V_3})
# "For model_version for 2.0 only" (Resolution); 3.0 has its own ResolutionV3.
_RESOLUTION_MODELS = frozenset({ModelVersion.V_2, ModelVersion.V_3})

# A multipart part as requests' `files=` takes it: (filename, value) or (filename, value, content type).
FormPart = tuple[str, tuple[None, str] | tuple[None, str, str]]


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """The endpoint and the body to send; `json` for legacy, `files` (multipart parts) for 3.0."""

    endpoint: Endpoint
    path: str
    json: dict[str, Any] | None = None
    files: list[FormPart] | None = None


def endpoint_for(model: ModelVersion) -> Endpoint:
    return Endpoint.V3 if model is ModelVersion.V_3 else Endpoint.LEGACY


def legacy_model_name(model: ModelVersion, speed: RenderingSpeed) -> str | None:
    """The legacy ModelEnum value (V_2 + TURBO -> "V_2_TURBO"), None when the pair does not exist."""
    if model is ModelVersion.V_3 or speed not in _LEGACY_SPEED_SUFFIX:
        return None
    return f"{model.value}{_LEGACY_SPEED_SUFFIX[speed]}"


def _not_for(field: str, model: ModelVersion, allowed: frozenset[ModelVersion]) -> str:
    names = ", ".join(sorted(allowed))
    return f"{field} is not supported by model {model.value} (only by {names})"


def problems(params: GenerateParams) -> list[str]:
    """Every reason the params cannot be sent to their model's endpoint (empty when they can)."""
    model, found = params.model, []
    if model not in _NEGATIVE_PROMPT_MODELS and params.negative_prompt is not None:
        found.append(_not_for("negative_prompt", model, _NEGATIVE_PROMPT_MODELS))
    if model not in _COLOR_PALETTE_MODELS and params.color_palette is not None:
        found.append(_not_for("color_palette", model, _COLOR_PALETTE_MODELS))
    if model not in _STYLE_TYPE_MODELS and params.style_type is not None:
        found.append(_not_for("style_type", model, _STYLE_TYPE_MODELS))
    if model not in _RESOLUTION_MODELS and params.resolution is not None:
        found.append(_not_for("resolution", model, _RESOLUTION_MODELS))
    if endpoint_for(model) is Endpoint.V3:
        aspect_ratios, resolutions = V3_ASPECT_RATIOS, V3_RESOLUTIONS
        if params.style_type is not None and params.style_type not in V3_STYLE_TYPES:
            allowed = ", ".join(sorted(V3_STYLE_TYPES))
            found.append(f"style_type {params.style_type} is not available for V_3 (only {allowed})")
    else:
        aspect_ratios, resolutions = LEGACY_ASPECT_RATIOS, LEGACY_RESOLUTIONS
        if legacy_model_name(model, params.rendering_speed) is None:
            found.append(
                f"rendering_speed {params.rendering_speed} is only available for V_3 "
                f"(model {model.value} offers TURBO or DEFAULT)"
            )
    if params.aspect_ratio is not None and params.aspect_ratio not in aspect_ratios:
        found.append(f"aspect_ratio {params.aspect_ratio} is not available for model {model.value}")
    if params.resolution is not None and model in _RESOLUTION_MODELS and params.resolution not in resolutions:
        found.append(f"resolution {params.resolution} is not available for model {model.value}")
    return found


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


def _palette(params: GenerateParams) -> dict[str, Any] | None:
    """Spec: ColorPaletteWithPresetNameOrMembers."""
    palette = params.color_palette
    if palette is None:
        return None
    if isinstance(palette, ColorPalettePreset):
        return {"name": palette.value}
    return {"members": [member.model_dump(exclude_none=True) for member in palette]}


def _legacy_size(prefix: str, size: str | None) -> str | None:
    return None if size is None else prefix + size.replace("x", "_")  # "16x9" -> "ASPECT_16_9"


def legacy_body(params: GenerateParams) -> dict[str, Any]:
    """Spec: GenerateImageRequest; call only with params `problems` accepts."""
    request: dict[str, Any] = {
        "prompt": params.prompt,
        "model": legacy_model_name(params.model, params.rendering_speed),
        "num_images": params.num_images,
    }
    optional: dict[str, Any] = {
        "negative_prompt": params.negative_prompt,
        "style_type": _value(params.style_type),
        "aspect_ratio": _legacy_size("ASPECT_", params.aspect_ratio),
        "resolution": _legacy_size("RESOLUTION_", params.resolution),
        "magic_prompt_option": _value(params.magic_prompt),
        "seed": params.seed,
        "color_palette": _palette(params),
    }
    request.update({name: value for name, value in optional.items() if value is not None})
    return {"image_request": request}


def v3_form(params: GenerateParams) -> list[FormPart]:
    """Spec: GenerateImageRequestV3 as multipart parts; color_palette is a JSON part (its `encoding`)."""
    fields: dict[str, Any] = {
        "prompt": params.prompt,
        "negative_prompt": params.negative_prompt,
        "rendering_speed": params.rendering_speed,
        "style_type": params.style_type,
        "aspect_ratio": params.aspect_ratio,
        "resolution": params.resolution,
        "magic_prompt": params.magic_prompt,
        "seed": params.seed,
        "num_images": params.num_images,
    }
    # (None, value): a plain form field, no filename; StrEnum's str() is its value.
    parts: list[FormPart] = [
        (name, (None, str(value))) for name, value in fields.items() if value is not None
    ]
    palette = _palette(params)
    if palette is not None:
        parts.append(("color_palette", (None, json.dumps(palette), "application/json")))
    return parts


def prepare_call(params: GenerateParams) -> PreparedCall:
    """The request for `params`, or IdeogramRequestError listing everything wrong (no HTTP sent)."""
    found = problems(params)
    if found:
        raise IdeogramRequestError(found)
    if endpoint_for(params.model) is Endpoint.V3:
        return PreparedCall(Endpoint.V3, V3_PATH, files=v3_form(params))
    return PreparedCall(Endpoint.LEGACY, LEGACY_PATH, json=legacy_body(params))
