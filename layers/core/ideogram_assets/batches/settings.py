"""The batches API function's settings: the base, plus the queue its items go to."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Self

from ideogram_assets.config import ConfigurationError, Settings


@dataclass(frozen=True, slots=True)
class BatchSettings(Settings):
    # The generation requests queue's URL (template: !Ref GenerationRequestsQueue).
    queue_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        queue_url = env.get("GENERATION_REQUESTS_QUEUE_URL", "").strip()
        if not queue_url:
            raise ConfigurationError("environment variable GENERATION_REQUESTS_QUEUE_URL is not set")
        return cls(**cls._base_fields(env), queue_url=queue_url)


@cache
def batch_settings() -> BatchSettings:
    """This execution environment's batch settings, validated on first use."""
    return BatchSettings.from_env()
