"""Reproduction: the same image again from a record, with everything that shaped it.

Ideogram's output is a function of the text the model works from, the seed, the model, speed,
style, size and palette. A record keeps all of them; the text is the prompt as Magic Prompt
expanded it, so the reproduction sends that text with Magic Prompt off (a second expansion could
differ). The new record names its original (`parentId`), is tagged `reproduced`, and tells
whether its bytes match (`parentSha256`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ideogram_assets.generation.errors import CannotReproduce
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.ideogram import IdeogramRequestError
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.records.index_items import MAX_TAGS

if TYPE_CHECKING:
    from ideogram_assets.records.model import GenerationRecord

REPRODUCED_TAG = "reproduced"


def reproduction_spec(record: GenerationRecord) -> GenerationSpec:
    if record.seed is None:
        raise CannotReproduce(f"generation {record.id} has no seed: Ideogram never answered for it")
    tags = [*sorted(set(record.tags or ()) - {REPRODUCED_TAG})[: MAX_TAGS - 1], REPRODUCED_TAG]
    wanted: dict[str, Any] = {
        "prompt": record.expanded_prompt or record.prompt,
        "negative_prompt": record.negative_prompt,
        "model": record.model,
        "rendering_speed": record.rendering_speed,
        "style_type": record.style_type,
        "magic_prompt": "OFF",
        "seed": int(record.seed),
        "num_images": 1,
        "color_palette": record.color_palette,
        "tags": tags,
    }
    if record.resolution:
        wanted["resolution"] = record.resolution
    elif record.aspect_ratio:
        wanted["aspect_ratio"] = record.aspect_ratio
    try:
        spec = GenerationSpec.model_validate(
            {name: value for name, value in wanted.items() if value is not None}
        )
        generate_params(spec)  # what the model cannot take together (a style it lacks, say)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the record"
        raise CannotReproduce(
            f"generation {record.id} cannot be asked for again: {where}: {first['msg']}"
        ) from None
    except IdeogramRequestError as error:
        raise CannotReproduce(f"generation {record.id} cannot be asked for again: {error}") from None
    return spec
