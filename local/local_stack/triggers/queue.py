"""The queue trigger: a function's `SQS` event, an event source mapping that polls the queue.

queue_poller.py runs it as Lambda does: long polls, batches of at most BatchSize (gathered for up
to MaximumBatchingWindowInSeconds), at most ScalingConfig.MaximumConcurrency invocations at once,
and deletes what succeeded (with ReportBatchItemFailures, all but the reported items).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local_stack.event_filters import EventFilter
from local_stack.triggers.mapping import MappingProperties

_PROPERTIES = {
    "Queue",
    "BatchSize",
    "Enabled",
    "FilterCriteria",
    "FunctionResponseTypes",
    "MaximumBatchingWindowInSeconds",
    "ScalingConfig",
}
# Lambda's limits for SQS event source mappings.
MAX_STANDARD_BATCH = 10_000
MAX_FIFO_BATCH = 10
MAX_BATCHING_WINDOW = 300
MIN_MAXIMUM_CONCURRENCY, MAX_MAXIMUM_CONCURRENCY = 2, 1000


@dataclass(frozen=True)
class QueueSource:
    function_id: str
    event_name: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None  # None: as many as the local stack allows a function
    enabled: bool
    event_filter: EventFilter | None

    @property
    def name(self) -> str:
        return f"{self.function_id}.{self.event_name}"

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]


def queue_source_from_event(function_id: str, event_name: str, properties: Mapping[str, Any]) -> QueueSource:
    """The event source mapping an `SQS` event declares."""
    read = MappingProperties(f"{function_id} event {event_name}", properties, _PROPERTIES)
    queue_arn = read.required("Queue")
    if not queue_arn.startswith("arn:aws:sqs:"):
        raise read.error(f"Queue must be a queue's ARN (!GetAtt Queue.Arn), not {queue_arn!r}")
    fifo = queue_arn.endswith(".fifo")
    batch_size = read.integer("BatchSize", 10, 1, MAX_FIFO_BATCH if fifo else MAX_STANDARD_BATCH)
    window = read.integer("MaximumBatchingWindowInSeconds", 0, 0, MAX_BATCHING_WINDOW)
    if batch_size > 10 and window < 1:
        raise read.error("a BatchSize above 10 needs a MaximumBatchingWindowInSeconds of at least 1")
    scaling = properties.get("ScalingConfig", {})
    if not isinstance(scaling, Mapping) or set(scaling) - {"MaximumConcurrency"}:
        raise read.error("ScalingConfig takes MaximumConcurrency only")
    maximum_concurrency = None
    if "MaximumConcurrency" in scaling:
        maximum_concurrency = MappingProperties(read.where, scaling, {"MaximumConcurrency"}).integer(
            "MaximumConcurrency", 0, MIN_MAXIMUM_CONCURRENCY, MAX_MAXIMUM_CONCURRENCY
        )
    return QueueSource(
        function_id=function_id,
        event_name=event_name,
        queue_arn=queue_arn,
        batch_size=batch_size,
        batching_window_seconds=window,
        report_batch_item_failures=read.reports_batch_item_failures(),
        maximum_concurrency=maximum_concurrency,
        enabled=read.flag("Enabled", True),
        event_filter=read.event_filter(),
    )
