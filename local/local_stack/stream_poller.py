"""Reads a table's stream for a function as Lambda's DynamoDB event source mapping does
(triggers/stream.py).

Each shard has a thread that reads it in order (GetShardIterator, GetRecords), drops the records
the FilterCriteria does not match, and invokes the function with Lambda's `aws:dynamodb` event:
batches of at most BatchSize records, gathered for up to MaximumBatchingWindowInSeconds. The next
batch waits until this one has succeeded or been given up:

- a success moves past the whole batch;
- with ReportBatchItemFailures, a partial response moves past the records before the lowest
  reported sequence number and retries from there;
- a failure of the whole batch (an error, a timeout, an invalid partial response) is retried, or
  with BisectBatchOnFunctionError split in two and each half tried in turn (a split is not a retry);
- after MaximumRetryAttempts retries, or once a record is older than MaximumRecordAgeInSeconds,
  the records are given up: the on-failure destination (an SQS queue) gets Lambda's invocation
  record naming them (shard, first and last sequence numbers, batch size, condition).

The position is kept as the last sequence number read and a new iterator is asked for on every
poll, as a consumer that never holds an iterator past its 15 minutes does (the AWS emulator lets
iterators expire, as DynamoDB does).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from local_stack.batch_invocations import BatchOutcome, invoke_batch
from local_stack.lambda_runtime import FunctionRuntime
from local_stack.triggers.stream import StreamSource

_log = logging.getLogger("local_stack.event_sources")
MAX_GET_RECORDS = 1000  # DynamoDB Streams' GetRecords limit


def _json_ready(value: Any) -> Any:
    """A stream record's value as JSON carries it: binary attributes in base64, as Lambda sends them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


def dynamodb_record(raw: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as a record of Lambda's `aws:dynamodb` event."""
    dynamodb = {key: _json_ready(value) for key, value in raw["dynamodb"].items()}
    created = raw["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        # Epoch seconds, as the stream's API and Lambda's event carry it.
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw["eventVersion"],
        "eventSource": raw["eventSource"],
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:  # set on deletions by TTL
        record["userIdentity"] = dict(raw["userIdentity"])
    return record


def _sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _iso(epoch_seconds: float, milliseconds: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds" if milliseconds else "seconds").replace("+00:00", "Z")


def _created(record: Mapping[str, Any]) -> float:
    return float(record["dynamodb"].get("ApproximateCreationDateTime", time.time()))


class _Shard:
    """One shard's reader: its position and the records read but not yet delivered."""

    def __init__(self, shard_id: str) -> None:
        self.shard_id = shard_id
        self.position: str | None = None  # the last sequence number read; None: the shard's start
        self.buffer: list[dict[str, Any]] = []
        self.first_buffered_at: float | None = None


class StreamPoller:
    def __init__(
        self,
        source: StreamSource,
        runtime: FunctionRuntime,
        streams: Any,
        sqs: Any,
        *,
        region: str,
        account_id: str,
        poll_seconds: float,
    ) -> None:
        self.source = source
        self.runtime = runtime
        self._streams = streams
        self._sqs = sqs
        self._region = region
        self._account_id = account_id
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self.on_failure_url: str | None = None
        if source.on_failure_queue_arn is not None:
            name = source.on_failure_queue_arn.rsplit(":", 1)[-1]
            owner = source.on_failure_queue_arn.split(":")[4]
            self.on_failure_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
        description = streams.describe_stream(StreamArn=source.stream_arn)["StreamDescription"]
        self._shards = [_Shard(shard["ShardId"]) for shard in description["Shards"]]
        if source.starting_position == "LATEST":
            for shard in self._shards:
                self._skip_to_latest(shard)
        self._threads = [
            threading.Thread(target=self._run, args=(shard,), name=f"stream-{source.name}", daemon=True)
            for shard in self._shards
        ]

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account_id}:function:{self.runtime.spec.function_name}"

    def start(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def _read(self, shard: _Shard) -> list[dict[str, Any]]:
        if shard.position is None:
            request = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            request = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.position}
        iterator = self._streams.get_shard_iterator(
            StreamArn=self.source.stream_arn, ShardId=shard.shard_id, **request
        )["ShardIterator"]
        raw = self._streams.get_records(ShardIterator=iterator, Limit=MAX_GET_RECORDS)["Records"]
        if raw:
            shard.position = str(raw[-1]["dynamodb"]["SequenceNumber"])
        return [dynamodb_record(record, self.source.stream_arn, self._region) for record in raw]

    def _skip_to_latest(self, shard: _Shard) -> None:
        """LATEST: the records already in the stream when the mapping starts are not delivered."""
        while self._read(shard):
            pass

    def _run(self, shard: _Shard) -> None:
        while not self._stopping.is_set():
            try:
                if len(shard.buffer) < self.source.batch_size:
                    self._fill(shard)
            except Exception as error:  # the AWS emulator unreachable a moment: poll again, as Lambda does
                if not self._stopping.is_set():
                    _log.warning(json.dumps({"mapping": self.source.name, "pollError": repr(error)}))
                    self._stopping.wait(1)
                continue
            if not self._batch_ready(shard):
                self._stopping.wait(self._poll_seconds)
                continue
            batch = shard.buffer[: self.source.batch_size]
            del shard.buffer[: len(batch)]
            shard.first_buffered_at = time.monotonic() if shard.buffer else None
            self._deliver(shard, batch)

    def _fill(self, shard: _Shard) -> None:
        records = self._read(shard)
        event_filter = self.source.event_filter
        if event_filter is not None:
            records = [record for record in records if event_filter.passes(record)]
        if records and shard.first_buffered_at is None:
            shard.first_buffered_at = time.monotonic()
        shard.buffer += records

    def _batch_ready(self, shard: _Shard) -> bool:
        if not shard.buffer or shard.first_buffered_at is None:
            return False
        if len(shard.buffer) >= self.source.batch_size:
            return True
        return time.monotonic() - shard.first_buffered_at >= self.source.batching_window_seconds

    def _expired(self, records: list[dict[str, Any]]) -> int:
        """How many records at the front are older than MaximumRecordAgeInSeconds."""
        limit = self.source.maximum_record_age_seconds
        if limit < 0:
            return 0
        now = time.time()
        return next(
            (index for index, record in enumerate(records) if now - _created(record) <= limit), len(records)
        )

    def _deliver(self, shard: _Shard, batch: list[dict[str, Any]]) -> None:
        # (records, attempts so far): a bisected batch's halves wait here in order.
        pending: deque[tuple[list[dict[str, Any]], int]] = deque([(batch, 0)])
        while pending and not self._stopping.is_set():
            records, attempts = pending.popleft()
            expired = self._expired(records)
            if expired:
                self._give_up(shard, records[:expired], attempts, "RecordAgeExceeded", None)
                records = records[expired:]
                if not records:
                    continue
            outcome = self._invoke(records)
            if outcome.succeeded:
                continue
            if outcome.throttled:  # not an attempt: Lambda tries again later
                pending.appendleft((records, attempts))
                self._stopping.wait(self._poll_seconds)
                continue
            if outcome.failed is not None:
                # Everything before the lowest reported sequence number succeeded.
                first = min(outcome.failed, key=int)
                records = records[[_sequence(record) for record in records].index(first) :]
            elif self.source.bisect_on_error and len(records) > 1:
                half = len(records) // 2
                pending.extendleft([(records[half:], attempts), (records[:half], attempts)])
                continue
            attempts += 1
            retries_allowed = self.source.maximum_retry_attempts
            if retries_allowed >= 0 and attempts > retries_allowed:
                self._give_up(shard, records, attempts, "RetryAttemptsExhausted", outcome)
                continue
            pending.appendleft((records, attempts))
            self._stopping.wait(self._poll_seconds)

    def _invoke(self, records: list[dict[str, Any]]) -> BatchOutcome:
        return invoke_batch(
            self.runtime,
            {"Records": records},
            [_sequence(record) for record in records],
            report_batch_item_failures=self.source.report_batch_item_failures,
            log_entry={"mapping": self.source.name, "eventSourceARN": self.source.stream_arn},
        )

    def failure_record(
        self,
        shard_id: str,
        records: list[dict[str, Any]],
        invocations: int,
        condition: str,
        outcome: BatchOutcome | None,
    ) -> dict[str, Any]:
        """Lambda's invocation record for records it gave up (it names them; it does not hold them)."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if outcome is not None and outcome.function_error:
            response["functionError"] = "Unhandled"
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(time.time(), milliseconds=True),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": _sequence(records[0]),
                "endSequenceNumber": _sequence(records[-1]),
                "approximateArrivalOfFirstRecord": _iso(_created(records[0])),
                "approximateArrivalOfLastRecord": _iso(_created(records[-1])),
                "batchSize": len(records),
                "streamArn": self.source.stream_arn,
            },
        }

    def _give_up(
        self,
        shard: _Shard,
        records: list[dict[str, Any]],
        invocations: int,
        condition: str,
        outcome: BatchOutcome | None,
    ) -> None:
        record = self.failure_record(shard.shard_id, records, invocations, condition, outcome)
        entry = {"mapping": self.source.name, "gaveUp": record["DDBStreamBatchInfo"], "condition": condition}
        _log.warning(json.dumps(entry))
        if self.on_failure_url is None:
            return
        try:
            self._sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(record))
        except Exception as error:  # logged: the records are past, as Lambda would leave them
            _log.error(json.dumps({"mapping": self.source.name, "onFailureError": repr(error)}))

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Stops reading; the invocation running, if any, gets `grace_seconds` to end."""
        self._stopping.set()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            with contextlib.suppress(RuntimeError):  # never started
                thread.join(max(0.0, deadline - time.monotonic()))
