"""Queueing a batch: calls of at most 10 messages and 256 KiB, entries refused for a passing reason
sent again, entries refused for good and a queue that refuses whole calls reported item by item,
and nothing started when the function's time is nearly up. Also: when a batch stops being
followed, and the limits the code shares with the template."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ideogram_assets.batches.enqueue import (
    MAX_CALL_BYTES,
    SEND_ATTEMPTS,
    TIME_MARGIN_SECONDS,
    OutgoingMessage,
    QueueSender,
    calls,
    message_body,
)
from ideogram_assets.batches.service import (
    QUEUE_RETENTION_SECONDS,
    STALE_AFTER,
    STALE_REASON,
    client_request_id,
    counts,
    seen_at,
)
from ideogram_assets.batches.store import BatchState, ItemState, ItemStatus, iso
from local_stack.template import load_template

BATCH = "ab" * 16


def messages(count: int, body: str = '{"prompt":"a fox"}') -> list[OutgoingMessage]:
    return [OutgoingMessage(str(n), body) for n in range(1, count + 1)]


class ScriptedQueue:
    """A SendMessageBatch that answers each call with the next reply in its script: a function of
    the entries (their Ids) giving (successful ids, failed entries), or an exception to raise.
    Past the script, every entry succeeds."""

    def __init__(self, *script: Callable[[list[str]], tuple[list[str], list[dict[str, Any]]]] | Exception):
        self.script = list(script)
        self.calls: list[list[dict[str, Any]]] = []

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        ids = [entry["Id"] for entry in Entries]
        step = self.script.pop(0) if self.script else (lambda ids: (ids, []))
        if isinstance(step, Exception):
            raise step
        successful, failed = step(ids)
        return {"Successful": [{"Id": entry_id} for entry_id in successful], "Failed": failed}


def sender(queue: ScriptedQueue) -> QueueSender:
    return QueueSender(queue, "https://queue.example/123/requests", pause=lambda seconds: None)  # type: ignore[arg-type]


def plenty() -> float:
    return 20.0


def test_messages_go_ten_to_a_call_in_order() -> None:
    grouped = list(calls(messages(23), BATCH))
    assert [len(call) for call in grouped] == [10, 10, 3]
    assert [message.item_id for call in grouped for message in call] == [str(n) for n in range(1, 24)]


def test_a_call_never_exceeds_256_kib_however_large_the_prompts() -> None:
    # 4,000 four-byte characters twice: about 32 KB a message, so ten do not fit in one call.
    wide = message_body({"prompt": "🦊" * 4000, "negative_prompt": "🌊" * 4000})
    grouped = list(calls(messages(25, wide), BATCH))
    assert all(sum(message.size(BATCH) for message in call) <= MAX_CALL_BYTES for call in grouped)
    assert all(len(call) <= 10 for call in grouped)
    assert sum(len(call) for call in grouped) == 25
    assert len(grouped) == 4


def test_every_message_names_its_batch_and_item() -> None:
    queue = ScriptedQueue()
    outcome = sender(queue).send(BATCH, [OutgoingMessage("row:1", '{"prompt":"a"}')], seconds_left=plenty)
    [[entry]] = queue.calls
    assert entry["MessageBody"] == '{"prompt":"a"}'
    assert entry["MessageAttributes"] == {
        "batchId": {"DataType": "String", "StringValue": BATCH},
        "batchItem": {"DataType": "String", "StringValue": "row:1"},
    }
    assert entry["Id"] == "0"  # item ids may hold characters SQS refuses in an entry id
    assert outcome.sent == ["row:1"]


def test_entries_refused_for_a_passing_reason_are_sent_again() -> None:
    throttled = {"SenderFault": False, "Code": "ServiceUnavailable"}
    queue = ScriptedQueue(lambda ids: (ids[1:], [{"Id": ids[0], **throttled}]))
    outcome = sender(queue).send(BATCH, messages(3), seconds_left=plenty)
    assert [len(call) for call in queue.calls] == [3, 1]
    assert queue.calls[1][0]["MessageAttributes"]["batchItem"]["StringValue"] == "1"
    assert sorted(outcome.sent) == ["1", "2", "3"]
    assert not outcome.not_sent
    assert not outcome.uncertain


def test_entries_refused_for_good_are_not_sent_again_and_say_why() -> None:
    refused = {"SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad characters"}
    queue = ScriptedQueue(lambda ids: (ids[:-1], [{"Id": ids[-1], **refused}]))
    outcome = sender(queue).send(BATCH, messages(3), seconds_left=plenty)
    assert len(queue.calls) == 1
    assert outcome.sent == ["1", "2"]
    assert outcome.not_sent == {"3": "not queued: the queue refused it (bad characters)"}


def test_an_entry_refused_on_every_try_is_given_up() -> None:
    def always(ids: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
        return ids[1:], [{"Id": ids[0], "SenderFault": False, "Code": "InternalError"}]

    queue = ScriptedQueue(*[always] * SEND_ATTEMPTS)
    outcome = sender(queue).send(BATCH, messages(2), seconds_left=plenty)
    assert len(queue.calls) == SEND_ATTEMPTS
    assert outcome.not_sent == {"1": "not queued: the queue kept refusing it (retried)"}
    assert outcome.sent == ["2"]


def test_a_queue_refusing_whole_calls_stops_the_rest() -> None:
    down = ClientError({"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue"}}, "SendMessageBatch")
    queue = ScriptedQueue(lambda ids: (ids, []), *[down] * SEND_ATTEMPTS)
    outcome = sender(queue).send(BATCH, messages(35), seconds_left=plenty)
    assert len(queue.calls) == 1 + SEND_ATTEMPTS  # the first call, then the second one's tries
    assert outcome.sent == [str(n) for n in range(1, 11)]
    reason = "not queued: the queue is unavailable (AWS.SimpleQueueService.NonExistentQueue)"
    # The failing call's messages may have been taken (a lost reply); the rest certainly were not.
    assert outcome.uncertain == {str(n): reason for n in range(11, 21)}
    assert outcome.not_sent == {str(n): reason for n in range(21, 36)}


def test_a_call_that_fails_once_is_tried_again() -> None:
    flaky = ClientError({"Error": {"Code": "InternalError"}}, "SendMessageBatch")
    queue = ScriptedQueue(flaky)
    outcome = sender(queue).send(BATCH, messages(4), seconds_left=plenty)
    assert len(queue.calls) == 2
    assert outcome.sent == ["1", "2", "3", "4"]


def test_no_call_starts_when_the_time_is_nearly_up() -> None:
    left = iter([20.0, TIME_MARGIN_SECONDS - 0.1])
    queue = ScriptedQueue()
    outcome = sender(queue).send(BATCH, messages(25), seconds_left=lambda: next(left))
    assert len(queue.calls) == 1
    assert len(outcome.sent) == 10
    assert outcome.not_sent == {str(n): "not queued: the request ran out of time" for n in range(11, 26)}


def test_each_item_is_idempotent_on_its_batch_and_id() -> None:
    key = client_request_id(BATCH, "x" * 64)
    assert key == f"batch-{BATCH}-{'x' * 64}"
    assert 8 <= len(key) <= 128


# -- reading a batch ---------------------------------------------------------------------------

CREATED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def state(*items: ItemState) -> BatchState:
    return BatchState(BATCH, iso(CREATED), len(items), int((CREATED + timedelta(days=30)).timestamp()), items)


def test_items_still_queued_once_no_message_can_be_left_read_failed() -> None:
    batch = state(
        ItemState("1", 1, ItemStatus.QUEUED),
        ItemState("2", 2, ItemStatus.DONE, ("a" * 32,), ("STORED",)),
        ItemState("3", 3, ItemStatus.FAILED, reason="rejected"),
    )
    assert seen_at(batch, CREATED + STALE_AFTER) == batch
    stale = seen_at(batch, CREATED + STALE_AFTER + timedelta(seconds=1))
    assert [(item.status, item.reason) for item in stale.items] == [
        (ItemStatus.FAILED, STALE_REASON),
        (ItemStatus.DONE, None),
        (ItemStatus.FAILED, "rejected"),
    ]
    assert counts(stale.items) == {"QUEUED": 0, "DONE": 1, "FAILED": 2}


def test_a_batch_expires_with_its_items_ttl() -> None:
    batch = state(ItemState("1", 1, ItemStatus.DONE))
    assert not batch.expired(CREATED + timedelta(days=30) - timedelta(seconds=1))
    assert batch.expired(CREATED + timedelta(days=30))


def test_the_queue_retention_is_the_templates() -> None:
    queue = load_template()["Resources"]["GenerationRequestsQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == QUEUE_RETENTION_SECONDS


def test_message_bodies_are_compact_json_keeping_any_script() -> None:
    assert json.loads(message_body({"prompt": "狐 café"})) == {"prompt": "狐 café"}
    assert "狐" in message_body({"prompt": "狐"})
