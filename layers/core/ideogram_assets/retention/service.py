"""The retention function's tasks behind one entry point: reconcile, sweep or report."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ideogram_assets.retention.report import report

if TYPE_CHECKING:
    from ideogram_assets.idempotency import Budget
    from ideogram_assets.records.repository import RecordStore
    from ideogram_assets.retention.reconcile import Reconciler
    from ideogram_assets.retention.sweep import Sweeper


class InvalidRetentionRequest(ValueError):
    """The payload is not {"task": "reconcile" | "sweep" | "report", "dryRun": bool}."""


class RetentionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    task: Literal["reconcile", "sweep", "report"]
    dry_run: bool = Field(default=False, alias="dryRun", strict=True)

    @classmethod
    def parse(cls, payload: Any) -> RetentionRequest:
        try:
            return cls.model_validate(payload)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, item['loc'])) or 'payload'}: {item['msg']}" for item in error.errors()
            )
            raise InvalidRetentionRequest(
                f'expected {{"task": "reconcile" | "sweep" | "report", "dryRun": bool}}: {problems}'
            ) from None


class RetentionService:
    def __init__(
        self,
        *,
        reconciler: Reconciler,
        sweeper: Sweeper,
        records: RecordStore,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reconciler = reconciler
        self._sweeper = sweeper
        self._records = records
        self._now = now
        self._clock = clock

    def run(self, request: RetentionRequest, *, budget: Budget) -> dict[str, Any]:
        deadline = self._clock() + budget.get_remaining_time_in_millis() / 1000
        if request.task == "reconcile":
            summary = self._reconciler.run(dry_run=request.dry_run, deadline=deadline)
        elif request.task == "sweep":
            summary = self._sweeper.run(dry_run=request.dry_run, deadline=deadline)
        else:
            summary = report(self._records, self._now, dry_run=request.dry_run)
        return summary.to_json()
