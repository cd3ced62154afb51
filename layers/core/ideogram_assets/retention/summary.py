"""What a retention task did (or, in a dry run, would do): counts, bytes and ids by outcome."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ideogram_assets.observability import logger

# Ids listed per outcome in a reply; counts and bytes always cover everything.
MAX_IDS_PER_OUTCOME = 200


@dataclass
class Summary:
    task: str
    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    ids: dict[str, list[str]] = field(default_factory=dict)
    complete: bool = True  # False: stopped before the invocation's end; the next run goes on
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, outcome: str, item_id: str, size_bytes: int = 0, **log: Any) -> None:
        """One record or object's outcome: counted, listed, logged and (unless dry) a metric."""
        self.counts[outcome] += 1
        self.bytes[outcome] += size_bytes
        listed = self.ids.setdefault(outcome, [])
        if len(listed) < MAX_IDS_PER_OUTCOME:
            listed.append(item_id)
        logger.info(f"{self.task}: {outcome}", id=item_id, dry_run=self.dry_run, **log)
        if not self.dry_run:
            with single_metric(name="RetentionOutcomes", unit=MetricUnit.Count, value=1) as metric:
                metric.add_dimension(name="task", value=self.task)
                metric.add_dimension(name="outcome", value=outcome)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "dryRun": self.dry_run,
            "complete": self.complete,
            "counts": dict(self.counts),
            "bytes": {outcome: size for outcome, size in self.bytes.items() if size},
            "ids": self.ids,
            **self.details,
        }
