"""Settings read from the environment once per execution environment (cold start)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


class ConfigurationError(RuntimeError):
    """The function's environment is missing a setting it needs."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    stage: str
    table_name: str
    bucket_name: str
    region: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            stage=os.environ.get("STAGE", "dev"),
            table_name=_required("TABLE_NAME"),
            bucket_name=_required("BUCKET_NAME"),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        )


@cache
def get_settings() -> Settings:
    """The settings of this execution environment, validated on first use."""
    return Settings.from_env()
