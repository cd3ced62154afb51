"""Generate: a GenerationSpec as Ideogram's generate parameters, refused before any write or call
when the chosen model cannot take it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ideogram_assets.ideogram.errors import IdeogramRequestError
from ideogram_assets.ideogram.models import GenerateParams
from ideogram_assets.ideogram.payload import problems

if TYPE_CHECKING:
    from ideogram_assets.generation.spec import GenerationSpec


def generate_params(spec: GenerationSpec) -> GenerateParams:
    """Ideogram's parameters for `spec`; IdeogramRequestError lists what its model cannot take."""
    params = GenerateParams(
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        model=spec.model,
        rendering_speed=spec.rendering_speed,
        style_type=spec.style_type,
        aspect_ratio=spec.aspect_ratio,
        resolution=spec.resolution,
        magic_prompt=spec.magic_prompt,
        seed=spec.seed,
        num_images=spec.num_images,
        color_palette=spec.color_palette,
    )
    found = problems(params)
    if found:
        raise IdeogramRequestError(found)
    return params
