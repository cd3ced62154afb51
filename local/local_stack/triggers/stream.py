"""The stream trigger: a function's `DynamoDB` event, an event source mapping on a table's stream.

stream_poller.py runs it as Lambda does: each shard in order, batches of at most BatchSize
(gathered for up to MaximumBatchingWindowInSeconds), FilterCriteria, ReportBatchItemFailures,
BisectBatchOnFunctionError, MaximumRetryAttempts, MaximumRecordAgeInSeconds and an SQS on-failure
destination for what is given up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local_stack.event_filters import EventFilter
from local_stack.triggers.mapping import MappingProperties

_PROPERTIES = {
    "Stream",
    "StartingPosition",
    "BatchSize",
    "Enabled",
    "FilterCriteria",
    "FunctionResponseTypes",
    "MaximumBatchingWindowInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "ParallelizationFactor",
}
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")
MAX_BATCH = 10_000
MAX_BATCHING_WINDOW = 300
MAX_RETRY_ATTEMPTS = 10_000
MIN_RECORD_AGE, MAX_RECORD_AGE = 60, 604_800


@dataclass(frozen=True)
class StreamSource:
    function_id: str
    event_name: str
    stream_arn: str
    starting_position: str  # TRIM_HORIZON or LATEST
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    bisect_on_error: bool
    maximum_retry_attempts: int  # -1: until the record leaves the stream
    maximum_record_age_seconds: int  # -1: no limit
    on_failure_queue_arn: str | None
    enabled: bool
    event_filter: EventFilter | None

    @property
    def name(self) -> str:
        return f"{self.function_id}.{self.event_name}"


def _on_failure(read: MappingProperties, config: Any) -> str | None:
    if config is None:
        return None
    if not isinstance(config, Mapping) or set(config) - {"OnFailure"}:
        raise read.error("DestinationConfig takes OnFailure only")
    if "OnFailure" not in config:
        return None
    destination = config["OnFailure"]
    if not isinstance(destination, Mapping) or set(destination) - {"Type", "Destination"}:
        raise read.error("DestinationConfig.OnFailure takes Type and Destination")
    arn = str(destination.get("Destination", ""))
    kind = str(destination.get("Type", "SQS" if arn.startswith("arn:aws:sqs:") else ""))
    if kind != "SQS" or not arn.startswith("arn:aws:sqs:"):
        raise read.error(f"the on-failure destination must be an SQS queue locally, not {kind} {arn!r}")
    return arn


def stream_source_from_event(
    function_id: str, event_name: str, properties: Mapping[str, Any]
) -> StreamSource:
    """The event source mapping a `DynamoDB` event declares."""
    read = MappingProperties(f"{function_id} event {event_name}", properties, _PROPERTIES)
    stream_arn = read.required("Stream")
    if not stream_arn.startswith("arn:aws:dynamodb:") or "/stream/" not in stream_arn:
        raise read.error(f"Stream must be a table's stream ARN (!GetAtt Table.StreamArn), not {stream_arn!r}")
    starting_position = read.required("StartingPosition")
    if starting_position not in STARTING_POSITIONS:
        raise read.error(
            f"StartingPosition must be {' or '.join(STARTING_POSITIONS)}, not {starting_position}"
        )
    if read.integer("ParallelizationFactor", 1, 1, 10) != 1:
        raise read.error("a ParallelizationFactor above 1 is not run locally")
    record_age = read.integer("MaximumRecordAgeInSeconds", -1, -1, MAX_RECORD_AGE)
    if record_age != -1 and record_age < MIN_RECORD_AGE:
        raise read.error(f"MaximumRecordAgeInSeconds must be -1 or at least {MIN_RECORD_AGE}")
    return StreamSource(
        function_id=function_id,
        event_name=event_name,
        stream_arn=stream_arn,
        starting_position=starting_position,
        batch_size=read.integer("BatchSize", 100, 1, MAX_BATCH),
        batching_window_seconds=read.integer("MaximumBatchingWindowInSeconds", 0, 0, MAX_BATCHING_WINDOW),
        report_batch_item_failures=read.reports_batch_item_failures(),
        bisect_on_error=read.flag("BisectBatchOnFunctionError", False),
        maximum_retry_attempts=read.integer("MaximumRetryAttempts", -1, -1, MAX_RETRY_ATTEMPTS),
        maximum_record_age_seconds=record_age,
        on_failure_queue_arn=_on_failure(read, properties.get("DestinationConfig")),
        enabled=read.flag("Enabled", True),
        event_filter=read.event_filter(),
    )
