"""Sending a batch's items to the generation requests queue: one message per item.

SendMessageBatch takes 10 messages and 256 KiB a call; entries it refuses for a passing reason
(throttling, an internal error) are sent again with a backoff, entries it refuses for good
(SenderFault) are not. When the queue refuses a whole call even after the SDK's own retries,
the rest is not tried: the queue is down, and the batch says so item by item. Sending stops,
too, before the function's time runs out, so that the items not sent can still be marked.

Each message's attributes name its batch and item (`batchId`, `batchItem`), which is how the
ingest knows to report the item's end (progress.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ideogram_assets.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

MAX_ENTRIES = 10
# SQS's limit for one call (all bodies and attributes together), less room for the envelope.
MAX_CALL_BYTES = 256 * 1024 - 1024
SEND_ATTEMPTS = 3
# Below this many seconds left, no further call is started.
TIME_MARGIN_SECONDS = 3.0
BATCH_ID_ATTRIBUTE = "batchId"
BATCH_ITEM_ATTRIBUTE = "batchItem"


@dataclass(frozen=True)
class OutgoingMessage:
    item_id: str
    body: str  # JSON

    def size(self, batch_id: str) -> int:
        attributes = len(BATCH_ID_ATTRIBUTE) + len(batch_id) + len(BATCH_ITEM_ATTRIBUTE) + len(self.item_id)
        return len(self.body.encode("utf-8")) + attributes + 2 * len("String")


@dataclass
class SendOutcome:
    """What happened to each message: sent, or not with a reason.

    `not_sent`: certainly not in the queue (refused, or never tried); `uncertain`: the call
    failed in a way that leaves it unknown (a lost reply), so the item may still be generated.
    """

    sent: list[str] = field(default_factory=list)
    not_sent: dict[str, str] = field(default_factory=dict)
    uncertain: dict[str, str] = field(default_factory=dict)


def message_body(body: dict[str, object]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def calls(messages: Sequence[OutgoingMessage], batch_id: str) -> Iterator[list[OutgoingMessage]]:
    """The messages in calls of at most 10 messages and 256 KiB, in order."""
    call: list[OutgoingMessage] = []
    size = 0
    for message in messages:
        message_size = message.size(batch_id)
        if call and (len(call) == MAX_ENTRIES or size + message_size > MAX_CALL_BYTES):
            yield call
            call, size = [], 0
        call.append(message)
        size += message_size
    if call:
        yield call


def _entry(batch_id: str, entry_id: str, message: OutgoingMessage) -> SendMessageBatchRequestEntryTypeDef:
    return {
        "Id": entry_id,
        "MessageBody": message.body,
        "MessageAttributes": {
            BATCH_ID_ATTRIBUTE: {"DataType": "String", "StringValue": batch_id},
            BATCH_ITEM_ATTRIBUTE: {"DataType": "String", "StringValue": message.item_id},
        },
    }


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__


class QueueDown(Exception):
    """The queue refused a whole call, after the SDK's retries and ours."""


class QueueSender:
    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        *,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._queue_url = queue_url
        self._pause = pause

    def send(
        self,
        batch_id: str,
        messages: Sequence[OutgoingMessage],
        *,
        seconds_left: Callable[[], float],
    ) -> SendOutcome:
        outcome = SendOutcome()
        pending = list(calls(messages, batch_id))
        while pending:
            call = pending.pop(0)
            if seconds_left() < TIME_MARGIN_SECONDS:
                self._give_up(outcome, [call, *pending], "not queued: the request ran out of time")
                break
            try:
                self._send_call(batch_id, call, outcome)
            except QueueDown as error:
                reason = f"not queued: the queue is unavailable ({error})"
                for message in call:
                    outcome.uncertain[message.item_id] = reason
                self._give_up(outcome, pending, reason)
                break
        if outcome.not_sent or outcome.uncertain:
            logger.warning(
                "batch items not queued",
                extra={
                    "batch_id": batch_id,
                    "sent": len(outcome.sent),
                    "not_sent": len(outcome.not_sent),
                    "uncertain": len(outcome.uncertain),
                },
            )
        return outcome

    @staticmethod
    def _give_up(outcome: SendOutcome, calls_left: Sequence[Sequence[OutgoingMessage]], reason: str) -> None:
        for call in calls_left:
            for message in call:
                outcome.not_sent[message.item_id] = reason

    def _send_call(self, batch_id: str, call: Sequence[OutgoingMessage], outcome: SendOutcome) -> None:
        # Entry ids are positions in the call: item ids may hold characters SQS refuses there.
        waiting = {str(index): message for index, message in enumerate(call)}
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self._pause(0.1 * 2**attempt)
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[_entry(batch_id, entry_id, message) for entry_id, message in waiting.items()],
                )
            except (ClientError, BotoCoreError) as error:
                if attempt + 1 == SEND_ATTEMPTS:
                    raise QueueDown(_error_code(error)) from error
                continue
            for entry in response.get("Successful", []):
                outcome.sent.append(waiting.pop(entry["Id"]).item_id)
            for failure in response.get("Failed", []):
                if failure.get("SenderFault"):
                    message = waiting.pop(failure["Id"])
                    detail = failure.get("Message") or failure.get("Code", "refused")
                    outcome.not_sent[message.item_id] = f"not queued: the queue refused it ({detail})"
            if not waiting:
                return
        for message in waiting.values():
            outcome.not_sent[message.item_id] = "not queued: the queue kept refusing it (retried)"
