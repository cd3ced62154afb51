"""Ideogram's image generation API: typed parameters and results, one client, mapped errors.

    client = IdeogramClient(base_url, api_key, session)  # once per execution environment
    result = client.generate(GenerateParams(prompt="a red fox"), deadline=time.monotonic() + 20)

Light on purpose (cold start): the spec is read by tests, not here, and the client (with
requests and the tracer behind it) loads on first use, so a handler that only validates
parameters at import does not pay for it.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ideogram_assets.ideogram.errors import (
    IdeogramAuthError,
    IdeogramError,
    IdeogramInsufficientCredits,
    IdeogramNoImages,
    IdeogramProtocolError,
    IdeogramRejected,
    IdeogramRequestError,
    IdeogramUnavailable,
)
from ideogram_assets.ideogram.models import (
    ColorPaletteMember,
    ColorPalettePreset,
    Endpoint,
    GeneratedImage,
    GenerateParams,
    GenerationResult,
    MagicPrompt,
    ModelVersion,
    RenderingSpeed,
    StyleType,
)
from ideogram_assets.ideogram.payload import LEGACY_PATH, V3_PATH, legacy_model_name, problems

if TYPE_CHECKING:
    from ideogram_assets.ideogram.client import IdeogramClient, RetryPolicy

_LAZY = {
    "IdeogramClient": "ideogram_assets.ideogram.client",
    "RetryPolicy": "ideogram_assets.ideogram.client",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LEGACY_PATH",
    "V3_PATH",
    "ColorPaletteMember",
    "ColorPalettePreset",
    "Endpoint",
    "GenerateParams",
    "GeneratedImage",
    "GenerationResult",
    "IdeogramAuthError",
    "IdeogramClient",
    "IdeogramError",
    "IdeogramInsufficientCredits",
    "IdeogramNoImages",
    "IdeogramProtocolError",
    "IdeogramRejected",
    "IdeogramRequestError",
    "IdeogramUnavailable",
    "MagicPrompt",
    "ModelVersion",
    "RenderingSpeed",
    "RetryPolicy",
    "StyleType",
    "legacy_model_name",
    "problems",
]
