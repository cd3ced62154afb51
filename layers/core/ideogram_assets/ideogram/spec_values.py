"""Allowed values copied from Ideogram's OpenAPI spec (openapi.json), in one neutral spelling.

Sizes are written "WxH" as Ideogram 3.0 spells them; the legacy endpoint spells the same values
ASPECT_W_H and RESOLUTION_W_H (see payload.py). The spec itself is not read at runtime (cold
start): tests/unit/test_ideogram_client.py checks every set here against it so they cannot drift.
"""

from __future__ import annotations

MAX_SEED = 2147483647  # Seed.maximum
MAX_IMAGES = 8  # num_images.maximum
MAX_PALETTE_MEMBERS = 8  # ColorPaletteWithMembers.members.maxItems
COLOR_HEX_PATTERN = r"^#(?:[0-9a-fA-F]{3}){1,2}$"  # ColorPaletteMember.color_hex.pattern
MIN_COLOR_WEIGHT, MAX_COLOR_WEIGHT = 0.05, 1.0  # ColorPaletteMember.color_weight bounds

# AspectRatio (legacy) is a subset of AspectRatioV3.
LEGACY_ASPECT_RATIOS = frozenset(
    {"10x16", "16x10", "9x16", "16x9", "3x2", "2x3", "4x3", "3x4", "1x1", "1x3", "3x1"}
)
V3_ASPECT_RATIOS = LEGACY_ASPECT_RATIOS | {"1x2", "2x1", "4x5", "5x4"}

# Resolution (legacy) and ResolutionV3 overlap in all but 11 values.
_SHARED_RESOLUTIONS = frozenset(
    """
    512x1536 576x1408 576x1472 576x1536 640x1344 640x1408 640x1472 640x1536 704x1152 704x1216 704x1280
    704x1344 704x1408 704x1472 736x1312 768x1088 768x1216 768x1280 768x1344 832x960 832x1024 832x1088
    832x1152 832x1216 832x1248 864x1152 896x960 896x1024 896x1088 896x1120 896x1152 960x832 960x896
    960x1024 960x1088 1024x832 1024x896 1024x960 1024x1024 1088x768 1088x832 1088x896 1088x960 1120x896
    1152x704 1152x832 1152x864 1152x896 1216x704 1216x768 1216x832 1248x832 1280x704 1280x768 1280x800
    1312x736 1344x640 1344x704 1344x768 1408x576 1408x640 1408x704 1472x576 1472x640 1472x704 1536x512
    1536x576 1536x640
    """.split()  # noqa: SIM905 -- a compact table, one line per row; the test checks it
)
LEGACY_RESOLUTIONS = _SHARED_RESOLUTIONS | {
    "640x1024",
    "720x1280",
    "768x1024",
    "768x1152",
    "768x1232",
    "1024x640",
    "1024x768",
    "1152x768",
    "1232x768",
    "1280x720",
}
V3_RESOLUTIONS = _SHARED_RESOLUTIONS | {"800x1280"}

# StyleTypeV3: the legacy StyleType minus RENDER_3D and ANIME.
V3_STYLE_TYPES = frozenset({"AUTO", "GENERAL", "REALISTIC", "DESIGN", "CUSTOM", "FICTION", "STYLIZED"})
