"""Batches against the AWS emulator (moto server over HTTPS), with the template's own table and
queue: what recording a batch writes, the messages its items become, how each item ends (the
rules a late or duplicate delivery must not break), and reading a batch back in its order.

In process: the product's batch objects built around real clients, time injected.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ideogram_assets.api.batches import BatchRequest
from ideogram_assets.batches.enqueue import QueueSender
from ideogram_assets.batches.progress import BatchProgress
from ideogram_assets.batches.service import BatchesUnavailable, BatchRequests
from ideogram_assets.batches.store import BATCH_LIFETIME, BatchStore, ItemStatus, NewItem
from local_stack.aws_emulator import LOCAL_ACCOUNT_ID, LOCAL_AWS_ENVIRONMENT, AwsEmulator
from local_stack.provision import provision
from local_stack.template import Resolver, load_template

RESOURCES = ("AssetsTable", "GenerationRequestsQueue", "GenerationRequestsDeadLetterQueue")
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsEmulator]:
    with AwsEmulator() as running:
        yield running


@dataclass
class World:
    aws: AwsEmulator
    table: str
    queue_url: str
    now: datetime = NOW

    def __post_init__(self) -> None:
        self.dynamodb = self.aws.client("dynamodb")
        self.sqs = self.aws.client("sqs")
        self.store = BatchStore(self.table, self.dynamodb, pause=lambda seconds: None)
        self.progress = BatchProgress(self.table, self.dynamodb, now=lambda: self.now)

    def requests(self, queue_url: str | None = None) -> BatchRequests:
        return BatchRequests(
            store=self.store,
            progress=self.progress,
            sender=QueueSender(self.sqs, queue_url or self.queue_url, pause=lambda seconds: None),
            now=lambda: self.now,
        )

    def item(self, batch_id: str, item_id: str) -> dict[str, Any]:
        key = {"PK": {"S": f"BATCH#{batch_id}"}, "SK": {"S": f"ITEM#{item_id}"}}
        found: dict[str, Any] = self.dynamodb.get_item(TableName=self.table, Key=key, ConsistentRead=True)[
            "Item"
        ]
        return found

    def received(self) -> list[dict[str, Any]]:
        """Every message in the queue (each received once, then deleted)."""
        messages: list[dict[str, Any]] = []
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            batch = reply.get("Messages", [])
            if not batch:
                return messages
            messages += batch
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
            )


@pytest.fixture
def world(aws: AwsEmulator) -> World:
    template = load_template()
    subset = {**template, "Resources": {name: template["Resources"][name] for name in RESOURCES}}
    resolver = Resolver(
        subset, f"batches-{uuid.uuid4().hex[:10]}", LOCAL_AWS_ENVIRONMENT["AWS_REGION"], LOCAL_ACCOUNT_ID
    )
    created = provision(resolver, aws)
    return World(aws, created["AssetsTable"], created["GenerationRequestsQueue"])


def plenty() -> float:
    return 25.0


def start(world: World, body: dict[str, Any]) -> str:
    started = world.requests().start(BatchRequest.model_validate(body).new_items(), seconds_left=plenty)
    assert not started.failures
    return started.batch_id


# -- recording and queueing --------------------------------------------------------------------


def test_a_batch_is_recorded_queued_and_sent_one_message_per_item(world: World) -> None:
    items = [{"prompt": f"fox {n}", "seed": n} for n in range(1, 24)]
    items[4] |= {"item_id": "hero", "client_request_id": "cms-hero-0001", "on_duplicate": "reject"}
    batch_id = start(world, {"items": items, "on_duplicate": "reuse"})

    meta = world.dynamodb.get_item(
        TableName=world.table, Key={"PK": {"S": f"BATCH#{batch_id}"}, "SK": {"S": "META"}}
    )["Item"]
    assert meta["createdAt"]["S"] == "2026-11-21T09:00:00.000Z"
    assert meta["itemCount"]["N"] == "23"
    assert int(meta["ttl"]["N"]) == int((NOW + BATCH_LIFETIME).timestamp())
    assert "status" not in meta  # never mistaken for a record by the stream's publisher

    first = world.item(batch_id, "1")
    assert first["status"]["S"] == "QUEUED"
    assert first["position"]["N"] == "1"
    assert first["ttl"] == meta["ttl"]
    # The request is one JSON string: no attribute a GSI is keyed on (seed, promptHash, model...).
    assert not {"seed", "model", "promptHash", "createdAt", "openStatus"} & set(first)
    assert json.loads(first["request"]["S"]) == {
        "prompt": "fox 1",
        "seed": 1,
        "on_duplicate": "reuse",
        "client_request_id": f"batch-{batch_id}-1",
    }

    messages = world.received()
    assert len(messages) == 23
    by_item = {m["MessageAttributes"]["batchItem"]["StringValue"]: m for m in messages}
    assert set(by_item) == {"hero", *(str(n) for n in range(1, 24) if n != 5)}
    for message in messages:
        assert message["MessageAttributes"]["batchId"] == {"StringValue": batch_id, "DataType": "String"}
    assert json.loads(by_item["hero"]["Body"]) == {
        "prompt": "fox 5",
        "seed": 5,
        "on_duplicate": "reject",
        "client_request_id": "cms-hero-0001",
    }
    assert json.loads(by_item["7"]["Body"])["client_request_id"] == f"batch-{batch_id}-7"
    assert json.loads(by_item["7"]["Body"]) == json.loads(world.item(batch_id, "7")["request"]["S"])


def test_large_prompts_are_sent_in_calls_the_queue_accepts(world: World) -> None:
    wide = {"prompt": "🦊" * 4000, "negative_prompt": "🌊" * 4000}
    batch_id = start(world, {"items": [wide] * 12})
    messages = world.received()
    assert len(messages) == 12
    assert all(json.loads(m["Body"])["prompt"] == wide["prompt"] for m in messages)
    assert world.requests().find(batch_id) is not None


def test_a_thousand_items_read_back_in_the_batchs_order_over_several_pages(world: World) -> None:
    long_prompt = "a detailed lighthouse on a cliff at dusk, " * 90  # ~3.8 KB a request
    batch_id = start(world, {"items": [{"prompt": f"{n} {long_prompt}"} for n in range(1000)]})
    attributes = world.sqs.get_queue_attributes(
        QueueUrl=world.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1000"
    batch = world.requests().find(batch_id)
    assert batch is not None
    assert batch.item_count == 1000
    assert [item.item_id for item in batch.items] == [str(n) for n in range(1, 1001)]
    assert {item.status for item in batch.items} == {ItemStatus.QUEUED}


def test_a_queue_that_is_not_there_fails_every_item_and_the_request(world: World) -> None:
    missing = world.queue_url.rsplit("/", 1)[0] + "/no-such-queue"
    items = BatchRequest.model_validate({"items": [{"prompt": f"fox {n}"} for n in range(15)]}).new_items()
    with pytest.raises(BatchesUnavailable):
        world.requests(missing).start(items, seconds_left=plenty)
    # The batch exists, every item FAILED with the reason: nothing is left QUEUED for ever.
    [batch_id] = {
        item["PK"]["S"].removeprefix("BATCH#")
        for item in world.dynamodb.scan(TableName=world.table)["Items"]
        if item["PK"]["S"].startswith("BATCH#")
    }
    batch = world.requests().find(batch_id)
    assert batch is not None
    assert {item.status for item in batch.items} == {ItemStatus.FAILED}
    assert all((item.reason or "").startswith("not queued: the queue is unavailable") for item in batch.items)


def test_an_unknown_batch_is_none_and_an_expired_one_too(world: World) -> None:
    assert world.requests().find("0" * 32) is None
    batch_id = start(world, {"items": [{"prompt": "a fox"}]})
    world.now = NOW + BATCH_LIFETIME
    assert world.requests().find(batch_id) is None


# -- how items end -----------------------------------------------------------------------------


def one_item_batch(world: World) -> str:
    batch_id = uuid.uuid4().hex
    world.store.create(batch_id, [NewItem("a", {"prompt": "a fox"})], NOW)
    return batch_id


def test_done_records_the_generations_and_a_repeat_changes_nothing(world: World) -> None:
    batch_id = one_item_batch(world)
    ids = ["1" * 32, "2" * 32]
    assert world.progress.item_done(batch_id, "a", generation_ids=ids, statuses=["STORED", "UNSAFE"])
    item = world.item(batch_id, "a")
    assert item["status"]["S"] == "DONE"
    assert [v["S"] for v in item["generationIds"]["L"]] == ids
    assert [v["S"] for v in item["statuses"]["L"]] == ["STORED", "UNSAFE"]
    assert not world.progress.item_done(batch_id, "a", generation_ids=ids, statuses=["STORED", "UNSAFE"])


def test_a_late_failure_never_turns_done_back(world: World) -> None:
    batch_id = one_item_batch(world)
    world.progress.item_done(batch_id, "a", generation_ids=["1" * 32], statuses=["STORED"])
    assert not world.progress.item_failed(batch_id, "a", reason="duplicate delivery failed", final=True)
    assert not world.progress.item_failed(batch_id, "a", reason="try failed", final=False)
    item = world.item(batch_id, "a")
    assert item["status"]["S"] == "DONE"
    assert "reason" not in item
    assert "lastError" not in item


def test_a_try_that_fails_keeps_the_item_queued_with_its_last_error(world: World) -> None:
    batch_id = one_item_batch(world)
    assert world.progress.item_failed(batch_id, "a", reason="Ideogram busy (429)", final=False)
    assert world.progress.item_failed(batch_id, "a", reason="Ideogram unavailable (503)", final=False)
    item = world.item(batch_id, "a")
    assert (item["status"]["S"], item["lastError"]["S"], item["tries"]["N"]) == (
        "QUEUED",
        "Ideogram unavailable (503)",
        "2",
    )
    [state] = world.store.read(batch_id).items  # type: ignore[union-attr]
    assert state.last_error == "Ideogram unavailable (503)"


def test_a_final_failure_is_kept_and_a_later_success_wins(world: World) -> None:
    batch_id = one_item_batch(world)
    world.progress.item_failed(batch_id, "a", reason="retry", final=False)
    assert world.progress.item_failed(batch_id, "a", reason="rejected: duplicate of 1111", final=True)
    assert not world.progress.item_failed(batch_id, "a", reason="another", final=True)
    assert world.item(batch_id, "a")["reason"]["S"] == "rejected: duplicate of 1111"
    # A message redriven from the dead-letter queue that then succeeds: the generation happened.
    assert world.progress.item_done(batch_id, "a", generation_ids=["3" * 32], statuses=["STORED"])
    item = world.item(batch_id, "a")
    assert item["status"]["S"] == "DONE"
    assert not {"reason", "lastError"} & set(item)


def test_an_item_that_is_not_there_is_left_alone(world: World) -> None:
    batch_id = one_item_batch(world)
    assert not world.progress.item_done(batch_id, "zz", generation_ids=[], statuses=[])
    assert not world.progress.item_failed("f" * 32, "a", reason="x", final=True)
    keys = {item["SK"]["S"] for item in world.dynamodb.scan(TableName=world.table)["Items"]}
    assert "ITEM#zz" not in keys


def test_a_long_reason_is_shortened(world: World) -> None:
    batch_id = one_item_batch(world)
    world.progress.item_failed(batch_id, "a", reason="x" * 5000, final=True)
    assert len(world.item(batch_id, "a")["reason"]["S"]) == 1000


def test_reading_a_batch_reports_each_items_end(world: World) -> None:
    batch_id = start(world, {"items": [{"prompt": "a"}, {"prompt": "b"}, {"prompt": "c", "item_id": "c"}]})
    world.progress.item_done(batch_id, "1", generation_ids=["1" * 32], statuses=["STORED"])
    world.progress.item_failed(batch_id, "c", reason="unsafe prompt", final=True)
    batch = world.requests().find(batch_id)
    assert batch is not None
    assert [(item.item_id, item.status, item.generation_ids, item.reason) for item in batch.items] == [
        ("1", ItemStatus.DONE, ("1" * 32,), None),
        ("2", ItemStatus.QUEUED, (), None),
        ("c", ItemStatus.FAILED, (), "unsafe prompt"),
    ]
    world.now = NOW + timedelta(days=5)  # longer than any message lives in the queue
    late = world.requests().find(batch_id)
    assert late is not None
    assert late.items[1].status is ItemStatus.FAILED
