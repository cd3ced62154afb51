"""`generate`'s options → the body of POST /generations (field names as the API spells them).

Only what the caller chose is sent: the API applies its own defaults and does every check,
so the command line never disagrees with it about what is valid.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from ideogram_assets.ideogram import ColorPalettePreset, MagicPrompt, ModelVersion, RenderingSpeed, StyleType


class DuplicatePolicy(StrEnum):
    """on_duplicate: what the API does when the same prompt and parameters are stored already."""

    GENERATE = "generate"
    REUSE = "reuse"
    REJECT = "reject"


@dataclass(frozen=True)
class GenerateOptions:
    prompt: str
    model: ModelVersion | None = None
    rendering_speed: RenderingSpeed | None = None
    style_type: StyleType | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    magic_prompt: MagicPrompt | None = None
    seed: int | None = None
    num_images: int | None = None
    negative_prompt: str | None = None
    color_palette: ColorPalettePreset | None = None
    tags: list[str] = field(default_factory=list)
    on_duplicate: DuplicatePolicy | None = None


def generation_body(options: GenerateOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": options.prompt}
    chosen: dict[str, Any] = {
        "negative_prompt": options.negative_prompt,
        "model": options.model,
        "rendering_speed": options.rendering_speed,
        "style_type": options.style_type,
        "aspect_ratio": options.aspect_ratio,
        "resolution": options.resolution,
        "magic_prompt": options.magic_prompt,
        "seed": options.seed,
        "num_images": options.num_images,
        "color_palette": options.color_palette,
        "on_duplicate": options.on_duplicate,
    }
    for name, value in chosen.items():
        if value is not None:
            body[name] = value.value if isinstance(value, Enum) else value
    if options.tags:
        body["tags"] = list(options.tags)
    return body


def new_idempotency_key() -> str:
    """A key for this one run: a retry of it (same key, same body) is never generated or billed twice."""
    return f"cli-{secrets.token_hex(16)}"
