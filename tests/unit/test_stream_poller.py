"""The stream reader's rules that the integration tests cannot reach quickly: LATEST, records too
old to deliver (MaximumRecordAgeInSeconds), throttled invocations, retries without bisection.

The reader runs against stand-ins for DynamoDB Streams, SQS and the function (pure logic, no
emulator): the stream holds numbered records, the function answers as each test says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from local_stack.lambda_runtime import FunctionRuntime, InvocationError, InvocationThrottled
from local_stack.stream_poller import StreamPoller
from local_stack.triggers.stream import StreamSource

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:failures"


@dataclass
class Streams:
    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, key: str, created: datetime | None = None) -> None:
        sequence = str(100 + len(self.records))
        self.records.append(
            {
                "eventID": f"e{sequence}",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": created or datetime.now(UTC),
                    "Keys": {"PK": {"S": key}},
                    "SequenceNumber": sequence,
                    "SizeBytes": 10,
                    "StreamViewType": "KEYS_ONLY",
                },
            }
        )

    def describe_stream(self, StreamArn: str) -> Any:
        return {"StreamDescription": {"Shards": [{"ShardId": "shardId-1"}]}}

    def get_shard_iterator(self, **request: Any) -> Any:
        position = -1 if request["ShardIteratorType"] == "TRIM_HORIZON" else int(request["SequenceNumber"])
        return {"ShardIterator": str(position)}

    def get_records(self, ShardIterator: str, Limit: int) -> Any:
        after = [r for r in self.records if int(r["dynamodb"]["SequenceNumber"]) > int(ShardIterator)]
        return {"Records": after[:Limit]}


@dataclass
class Queue:
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def get_queue_url(self, **request: Any) -> Any:
        return {"QueueUrl": "https://queue"}

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.bodies.append(json.loads(MessageBody))


@dataclass
class Function:
    answer: Callable[[list[str]], Any]
    batches: list[list[str]] = field(default_factory=list)
    spec: Any = field(default_factory=lambda: type("Spec", (), {"function_name": "Reader"})())

    def invoke(self, event: dict[str, Any]) -> Any:
        keys = [record["dynamodb"]["Keys"]["PK"]["S"] for record in event["Records"]]
        self.batches.append(keys)
        return self.answer(keys)


def _source(**changes: Any) -> StreamSource:
    settings: dict[str, Any] = {
        "function_id": "Reader",
        "event_name": "Changes",
        "stream_arn": STREAM_ARN,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 10,
        "batching_window_seconds": 0,
        "report_batch_item_failures": False,
        "bisect_on_error": False,
        "maximum_retry_attempts": -1,
        "maximum_record_age_seconds": -1,
        "on_failure_queue_arn": DLQ_ARN,
        "enabled": True,
        "event_filter": None,
    }
    return StreamSource(**(settings | changes))


def _run(
    source: StreamSource, streams: Streams, function: Function, queue: Queue, until: Callable[[], bool]
) -> None:
    poller = StreamPoller(
        source,
        cast(FunctionRuntime, function),
        streams,
        queue,
        region="us-east-1",
        account_id="123456789012",
        poll_seconds=0.01,
    ).start()
    try:
        deadline = time.monotonic() + 5
        while not until():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.01)
    finally:
        poller.stop()


def test_latest_skips_what_the_stream_held_when_the_mapping_started() -> None:
    streams, queue, function = Streams(), Queue(), Function(answer=lambda keys: None)
    streams.add("before")
    poller = StreamPoller(
        _source(starting_position="LATEST"),
        cast(FunctionRuntime, function),
        streams,
        queue,
        region="us-east-1",
        account_id="123456789012",
        poll_seconds=0.01,
    ).start()
    try:
        streams.add("after")
        deadline = time.monotonic() + 5
        while not function.batches:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        poller.stop()
    assert function.batches == [["after"]]


def test_records_older_than_the_maximum_age_are_given_up_unseen() -> None:
    streams, queue, function = Streams(), Queue(), Function(answer=lambda keys: None)
    streams.add("old", created=datetime(2020, 1, 1, tzinfo=UTC))
    streams.add("fresh")
    _run(_source(maximum_record_age_seconds=60), streams, function, queue, lambda: bool(function.batches))
    assert function.batches == [["fresh"]]
    [record] = queue.bodies
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["batchSize"]) == ("100", 1)
    assert info["approximateArrivalOfFirstRecord"] == "2020-01-01T00:00:00Z"


def test_a_throttled_invocation_is_tried_again_without_counting_as_a_retry() -> None:
    answers = iter([InvocationThrottled("Reader", 1), InvocationThrottled("Reader", 1), None])

    def answer(keys: list[str]) -> Any:
        outcome = next(answers)
        if outcome is not None:
            raise outcome
        return None

    streams, queue, function = Streams(), Queue(), Function(answer=answer)
    streams.add("a")
    _run(_source(maximum_retry_attempts=0), streams, function, queue, lambda: len(function.batches) == 3)
    assert queue.bodies == []  # delivered on the third try: no retry was spent


def test_without_bisection_the_whole_batch_is_retried_then_given_up_as_one() -> None:
    def answer(keys: list[str]) -> Any:
        raise InvocationError("Timeout", "Task timed out after 1 seconds")

    streams, queue, function = Streams(), Queue(), Function(answer=answer)
    for key in ("a", "b", "c"):
        streams.add(key)
    _run(_source(maximum_retry_attempts=2), streams, function, queue, lambda: bool(queue.bodies))
    assert function.batches == [["a", "b", "c"]] * 3  # the try and two retries
    [record] = queue.bodies
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("100", "102", 3)
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
