"""Where a generation comes from: the trigger, the caller's correlation id, its batch or parent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["api", "event", "batch", "reproduce"]


@dataclass(frozen=True)
class Origin:
    source: Source = "api"
    # Ties the records (and the events announcing them) to what caused them: the API request's
    # id, the upstream event's id, the batch's id.
    correlation_id: str | None = None
    batch_id: str | None = None
    # A reproduction's original, and its image's SHA-256 (to tell whether the bytes match).
    parent_id: str | None = None
    parent_sha256: str | None = None
