"""The exports API function's settings: the base, plus the worker it starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Self

from ideogram_assets.config import Settings, _required


@dataclass(frozen=True, slots=True)
class ExportSettings(Settings):
    # The export worker's function name (template: !Ref ExportWorkerFunction).
    worker_function: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        return cls(**cls._base_fields(env), worker_function=_required(env, "EXPORT_WORKER_FUNCTION_NAME"))


@cache
def export_settings() -> ExportSettings:
    """This execution environment's export settings, validated on first use."""
    return ExportSettings.from_env()
