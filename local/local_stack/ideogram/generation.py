"""What a generate call means once its body is valid: size, seeds, Magic Prompt and the response data."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local_stack.ideogram.store import ImageRecord, ImageStore

MAX_SEED = 2147483647
DEFAULT_ASPECT_RATIO = "1x1"
# Ideogram 3.0's size for each aspect ratio; every value is a member of the spec's ResolutionV3 enum
# (a contract test checks that), so v3 responses stay valid.
RESOLUTION_BY_ASPECT_RATIO: dict[str, str] = {
    "1x1": "1024x1024",
    "16x9": "1312x736",
    "9x16": "736x1312",
    "4x3": "1152x864",
    "3x4": "864x1152",
    "3x2": "1248x832",
    "2x3": "832x1248",
    "16x10": "1280x800",
    "10x16": "800x1280",
    "5x4": "1120x896",
    "4x5": "896x1120",
    "2x1": "1408x704",
    "1x2": "704x1408",
    "3x1": "1536x512",
    "1x3": "512x1536",
}
_LEGACY_RESOLUTION = re.compile(r"^RESOLUTION_(?P<width>\d+)_(?P<height>\d+)$")
_LEGACY_ASPECT = re.compile(r"^ASPECT_(?P<width>\d+)_(?P<height>\d+)$")
_MAGIC_SUFFIXES = (
    "soft cinematic lighting, rich colour and fine detail",
    "a clean, balanced composition with a gentle depth of field",
    "vivid contrast, crisp edges and a harmonious palette",
    "warm golden-hour light and subtle, tactile textures",
)


class GenerationError(ValueError):
    """A request that is valid against the schema but breaks a rule stated in prose (HTTP 400)."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    num_images: int
    seed: int | None
    width: int
    height: int
    magic_prompt: str  # AUTO, ON or OFF
    style_type: str  # as it will appear in the response


def _size(resolution: str) -> tuple[int, int]:
    width, height = resolution.split("x")
    return int(width), int(height)


def _resolved_style(requested: Any) -> str:
    # Like Ideogram, AUTO is resolved to a concrete style in the response.
    return "GENERAL" if requested in (None, "AUTO") else str(requested)


def legacy_request(body: Mapping[str, Any]) -> GenerationRequest:
    """From a valid GenerateImageRequest (`{"image_request": {...}}`)."""
    request = body["image_request"]
    if "resolution" in request and "aspect_ratio" in request:
        raise GenerationError("image_request: resolution cannot be used together with aspect_ratio")
    if "resolution" in request:
        match = _LEGACY_RESOLUTION.match(request["resolution"])
        if match is None:
            raise GenerationError(f"image_request.resolution: unsupported value {request['resolution']!r}")
        width, height = int(match["width"]), int(match["height"])
    else:
        aspect = _LEGACY_ASPECT.match(request.get("aspect_ratio", "ASPECT_1_1"))
        ratio = DEFAULT_ASPECT_RATIO if aspect is None else f"{aspect['width']}x{aspect['height']}"
        if ratio not in RESOLUTION_BY_ASPECT_RATIO:
            raise GenerationError(f"image_request.aspect_ratio: unsupported value {ratio!r}")
        width, height = _size(RESOLUTION_BY_ASPECT_RATIO[ratio])
    return GenerationRequest(
        prompt=request["prompt"],
        num_images=request.get("num_images", 1),
        seed=request.get("seed"),
        width=width,
        height=height,
        magic_prompt=request.get("magic_prompt_option", "AUTO"),
        style_type=_resolved_style(request.get("style_type")),
    )


def v3_request(body: Mapping[str, Any]) -> GenerationRequest:
    """From a valid GenerateImageRequestV3 (multipart already decoded)."""
    if "resolution" in body and "aspect_ratio" in body:
        raise GenerationError("resolution cannot be used together with aspect_ratio")
    if body.get("style_codes") and (body.get("style_reference_images") or "style_type" in body):
        raise GenerationError("style_codes cannot be used together with style_reference_images or style_type")
    aspect_ratio = body.get("aspect_ratio", DEFAULT_ASPECT_RATIO)
    resolution = body.get("resolution") or RESOLUTION_BY_ASPECT_RATIO[aspect_ratio]
    width, height = _size(resolution)
    return GenerationRequest(
        prompt=body["prompt"],
        num_images=body.get("num_images", 1),
        seed=body.get("seed"),
        width=width,
        height=height,
        magic_prompt=body.get("magic_prompt", "AUTO"),
        style_type=_resolved_style(body.get("style_type")),
    )


def expand_prompt(prompt: str, magic_prompt: str) -> str:
    """Magic Prompt stand-in: AUTO and ON add a descriptive suffix chosen by the prompt, OFF keeps it."""
    if magic_prompt == "OFF":
        return prompt
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return f"{prompt.rstrip(' .')}, with {_MAGIC_SUFFIXES[digest[0] % len(_MAGIC_SUFFIXES)]}."


def seeds(request: GenerationRequest, count: int | None = None) -> list[int]:
    """A requested seed is used for the first image and counted up for the rest, so images differ.

    `count` images (default: as many as requested; Ideogram may return another number).
    """
    count = request.num_images if count is None else count
    if request.seed is None:
        return [secrets.randbelow(MAX_SEED + 1) for _ in range(count)]
    return [(request.seed + index) % (MAX_SEED + 1) for index in range(count)]


def created_now() -> str:
    """ISO-8601 with offset and microseconds, as Ideogram sends (`2024-12-15T17:32:00.965408+00:00`)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def generate(
    request: GenerationRequest,
    *,
    unsafe: bool,
    store: ImageStore,
    url_for: Callable[[str], str],
    count: int | None = None,
) -> dict[str, Any]:
    """The response body; unsafe images get `is_image_safe: false` and a null url (nothing stored).

    `count` is how many images data[] holds (default: the number requested).
    """
    prompt = expand_prompt(request.prompt, request.magic_prompt)
    data: list[dict[str, Any]] = []
    for index, seed in enumerate(seeds(request, count)):
        url: str | None = None
        if not unsafe:
            # Rendered from the text the model works from (the expanded prompt under Magic
            # Prompt), as Ideogram does: the same text, seed and size give the same pixels.
            image = ImageRecord(prompt, seed, request.width, request.height, index=index)
            url = url_for(store.add(image))
        data.append(
            {
                "url": url,
                "prompt": prompt,
                "resolution": f"{request.width}x{request.height}",
                "is_image_safe": not unsafe,
                "seed": seed,
                "style_type": request.style_type,
            }
        )
    return {"created": created_now(), "data": data}
