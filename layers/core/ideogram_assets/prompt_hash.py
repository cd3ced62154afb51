"""The duplicate-check key of a generation: normalized prompt plus the parameters that shape it."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from ideogram_assets.ideogram.models import GenerateParams

# Parameters that change what is generated; num_images only changes how many.
_SHAPING_FIELDS = (
    "negative_prompt",
    "model",
    "rendering_speed",
    "style_type",
    "aspect_ratio",
    "resolution",
    "magic_prompt",
    "seed",
    "color_palette",
)


def normalize_prompt(prompt: str) -> str:
    """Case, Unicode form and runs of whitespace do not make a different prompt."""
    return " ".join(unicodedata.normalize("NFKC", prompt).casefold().split())


def prompt_hash(params: GenerateParams) -> str:
    shaping: dict[str, Any] = params.model_dump(mode="json", include=set(_SHAPING_FIELDS))
    if shaping.get("negative_prompt"):
        shaping["negative_prompt"] = normalize_prompt(shaping["negative_prompt"])
    canonical = json.dumps(
        {"prompt": normalize_prompt(params.prompt), **shaping}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
