"""The batches API function's settings: the base, plus the queue its items go to."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Self

from ideogram_assets.config import Settings, _required


@dataclass(frozen=True, slots=True)
class BatchSettings(Settings):
    # The generation requests queue's URL (template: !Ref GenerationRequestsQueue).
    queue_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        return cls(**cls._base_fields(env), queue_url=_required(env, "GENERATION_REQUESTS_QUEUE_URL"))


@cache
def batch_settings() -> BatchSettings:
    """This execution environment's batch settings, validated on first use."""
    return BatchSettings.from_env()
