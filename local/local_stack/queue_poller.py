"""Polls a queue for a function as Lambda's SQS event source mapping does (triggers/queue.py).

A receiver thread long polls the queue for up to BatchSize messages (and keeps polling for up to
MaximumBatchingWindowInSeconds while the batch is not full), takes a concurrency slot (at most
ScalingConfig.MaximumConcurrency) and hands the batch to an invocation of its own, which gives the
slot back when the function returns. While every slot is busy, one batch waits for the next free
slot, received already, as Lambda's pollers read ahead: a slot given back is filled at once.

The function gets Lambda's `aws:sqs` event. Afterwards the messages that succeeded are deleted:
all of them, or with ReportBatchItemFailures all but the reported ones; none when the batch failed
as a whole (an error, a timeout, an invalid partial response). Failed messages are left to their
visibility timeout (the function may change it) and come back; the queue's RedrivePolicy moves a
message to its dead-letter queue once received maxReceiveCount times (the AWS emulator does that
on receive, as SQS does). Messages a FilterCriteria does not match are deleted unseen, as Lambda
deletes them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Self

from local_stack.batch_invocations import invoke_batch
from local_stack.lambda_runtime import FunctionRuntime
from local_stack.template import TemplateError
from local_stack.triggers.queue import QueueSource

_log = logging.getLogger("local_stack.event_sources")
MAX_RECEIVE = 10  # SQS's ReceiveMessage and DeleteMessageBatch take at most 10 messages
_SLOT_WAIT_SECONDS = 0.2


class _Slot:
    """An invocation's concurrency slot, given back once: when the invocation ends, before the
    messages it processed are deleted."""

    def __init__(self, slots: threading.BoundedSemaphore) -> None:
        self._slots = slots
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots.release()


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda's event writes it (camelCase, binary values in base64)."""
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
    ]
    converted["dataType"] = value["DataType"]
    return converted


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One received message as a record of Lambda's `aws:sqs` event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record | {"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}


def filtered_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a filter pattern sees: the record, with a JSON body read as JSON (as Lambda does)."""
    try:
        return {**record, "body": json.loads(record["body"])}
    except ValueError:
        return dict(record)


class QueuePoller:
    def __init__(
        self,
        source: QueueSource,
        runtime: FunctionRuntime,
        sqs: Any,
        *,
        region: str,
        account_id: str,
        concurrency: int,
        wait_seconds: int,
    ) -> None:
        self.source = source
        self.runtime = runtime
        self.concurrency = concurrency
        self._sqs = sqs
        self._region = region
        self._wait_seconds = wait_seconds
        self.queue_url: str = sqs.get_queue_url(
            QueueName=source.queue_name, QueueOwnerAWSAccountId=account_id
        )["QueueUrl"]
        visibility = int(
            sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"])[
                "Attributes"
            ]["VisibilityTimeout"]
        )
        if visibility < runtime.spec.timeout_seconds:
            # Lambda refuses such a mapping: a batch would come back while it is still running.
            raise TemplateError(
                f"{source.name}: the queue's VisibilityTimeout ({visibility} s) is less than"
                f" {runtime.spec.function_name}'s Timeout ({runtime.spec.timeout_seconds} s)"
            )
        self._slots = threading.BoundedSemaphore(concurrency)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._invocations: set[threading.Thread] = set()
        self._receiver = threading.Thread(target=self._run, name=f"sqs-{source.name}", daemon=True)

    def start(self) -> Self:
        self._receiver.start()
        return self

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _collect(self) -> list[dict[str, Any]]:
        """One batch: up to BatchSize messages, gathered for up to the batching window."""
        batch_size, window = self.source.batch_size, self.source.batching_window_seconds
        messages = self._receive(min(MAX_RECEIVE, batch_size), self._wait_seconds)
        if not messages or window == 0:
            return messages
        deadline = time.monotonic() + window
        while len(messages) < batch_size and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = min(self._wait_seconds, int(remaining))
            more = self._receive(min(MAX_RECEIVE, batch_size - len(messages)), wait)
            if not more and wait == 0:
                self._stopping.wait(min(remaining, 0.1))  # under a second left: short polls
            messages += more
        return messages

    def _run(self) -> None:
        ahead: list[dict[str, Any]] = []  # the next batch, received while every slot was busy
        while not self._stopping.is_set():
            if not ahead:
                try:
                    ahead = self._collect()
                except (
                    Exception
                ) as error:  # the AWS emulator unreachable a moment: poll again, as Lambda does
                    if not self._stopping.is_set():
                        _log.warning(json.dumps({"mapping": self.source.name, "pollError": repr(error)}))
                        self._stopping.wait(1)
                    continue
                if not ahead:
                    continue
            if not self._slots.acquire(timeout=_SLOT_WAIT_SECONDS):
                continue
            messages, ahead = ahead, []
            thread = threading.Thread(
                target=self._process, args=(messages,), name=f"sqs-invoke-{self.source.name}"
            )
            with self._lock:
                self._invocations.add(thread)
            thread.start()

    def _process(self, messages: list[dict[str, Any]]) -> None:
        slot = _Slot(self._slots)
        try:
            records = [sqs_record(message, self.source.queue_arn, self._region) for message in messages]
            event_filter = self.source.event_filter
            if event_filter is not None:
                passes = [event_filter.passes(filtered_view(record)) for record in records]
                self._delete([record for record, passed in zip(records, passes, strict=True) if not passed])
                records = [record for record, passed in zip(records, passes, strict=True) if passed]
            if records:
                self._invoke(records, slot)
        except Exception as error:  # a failed delete: the messages come back, as they would in AWS
            _log.warning(json.dumps({"mapping": self.source.name, "error": repr(error)}))
        finally:
            slot.release()
            with self._lock:
                self._invocations.discard(threading.current_thread())

    def _invoke(self, records: list[dict[str, Any]], slot: _Slot) -> None:
        identifiers = [record["messageId"] for record in records]
        outcome = invoke_batch(
            self.runtime,
            {"Records": records},
            identifiers,
            report_batch_item_failures=self.source.report_batch_item_failures,
            log_entry={"mapping": self.source.name, "eventSourceARN": self.source.queue_arn},
        )
        slot.release()  # the invocation is over: the next batch need not wait for these deletes
        if outcome.failed is None:
            return  # the whole batch comes back after its visibility timeout
        self._delete([record for record in records if record["messageId"] not in outcome.failed])

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), MAX_RECEIVE):
            chunk = records[start : start + MAX_RECEIVE]
            entries = [
                {"Id": str(number), "ReceiptHandle": record["receiptHandle"]}
                for number, record in enumerate(chunk)
            ]
            response = self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                # A receipt handle gone stale (the message became visible again during the
                # invocation): it will be delivered again, as SQS would.
                _log.warning(json.dumps({"mapping": self.source.name, "deleteFailed": failure}))

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Stops receiving, then gives the invocations still running a moment to end."""
        self._stopping.set()
        with contextlib.suppress(RuntimeError):  # never started
            self._receiver.join(self._wait_seconds + 10)
        deadline = time.monotonic() + grace_seconds
        with self._lock:
            running = list(self._invocations)
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
