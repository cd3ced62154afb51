"""Ideogram's image generation API: typed parameters and results, one client, mapped errors.

    client = IdeogramClient(base_url, api_key, session)  # once per execution environment
    result = client.generate(GenerateParams(prompt="a red fox"), deadline=time.monotonic() + 20)

Light on purpose (cold start): requests and pydantic only; the spec is read by tests, not here.
"""

from ideogram_assets.ideogram.client import IdeogramClient, RetryPolicy
from ideogram_assets.ideogram.errors import (
    IdeogramAuthError,
    IdeogramError,
    IdeogramInsufficientCredits,
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
