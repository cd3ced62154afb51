"""What the sample events of IngestFunction and PublishFunction do, and the upstream examples on
the bus, on the local stack: the images they store, the events announced, and every detail
checked against its JSON Schema in events/schemas/.

Bus deliveries are watched through a rule of the test's own on the stack's bus, targeting a
queue of its own, so the test sees the events as a subscriber would.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import pytest

from local_stack.stack import LocalStack
from local_stack.template import PROJECT_ROOT
from tests.e2e._helpers import generate

EVENTS = PROJECT_ROOT / "events"
SCHEMAS = EVENTS / "schemas"


def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def _schema_validator(detail_type: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(json.loads((SCHEMAS / f"{detail_type}.json").read_text()))


def _records_where(stack: LocalStack, attribute: str, value: str) -> list[dict[str, Any]]:
    """Generation records (not their index items) whose `attribute` is `value`."""
    table = stack.endpoints()["resources"]["AssetsTable"]
    pages = (
        stack.aws.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=table,
            FilterExpression="#name = :value AND SK = :meta",
            ExpressionAttributeNames={"#name": attribute},
            ExpressionAttributeValues={":value": {"S": value}, ":meta": {"S": "META"}},
            ConsistentRead=True,
        )
    )
    return [item for page in pages for item in page["Items"]]


def _ingest(stack: LocalStack, event: dict[str, Any]) -> list[str]:
    """Runs IngestFunction on an SQS event; the ids of the messages it sent back."""
    reply = stack.runtimes["IngestFunction"].invoke(event)
    return [failure["itemIdentifier"] for failure in reply["batchItemFailures"]]


@dataclass
class Subscriber:
    """A rule on the stack's bus delivering what matches `pattern` to a queue of the test's own."""

    stack: LocalStack
    bus: str
    rule: str
    queue_url: str
    queue_arn: str

    def messages(self, expected: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        sqs = self.stack.aws.client("sqs")
        received: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(received) < expected and time.monotonic() < deadline:
            reply = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            )
            for message in reply.get("Messages", []):
                received.append(message)
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return received


@pytest.fixture
def subscribe(stack: LocalStack) -> Iterator[Any]:
    events, sqs = stack.aws.client("events"), stack.aws.client("sqs")
    bus = stack.endpoints()["buses"]["AssetsEventBus"]["name"]
    made: list[Subscriber] = []

    def make(pattern: dict[str, Any]) -> Subscriber:
        name = f"test-subscriber-{uuid.uuid4().hex[:12]}"
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
        made.append(Subscriber(stack, bus, name, queue_url, queue_arn))
        return made[-1]

    yield make
    for subscriber in made:
        events.remove_targets(Rule=subscriber.rule, EventBusName=bus, Ids=["queue"])
        events.delete_rule(Name=subscriber.rule, EventBusName=bus)
        sqs.delete_queue(QueueUrl=subscriber.queue_url)


# ---------------------------------------------------------------- IngestFunction's samples


def test_the_bus_event_sample_stores_its_images_under_the_events_id(stack: LocalStack) -> None:
    event = _sample("IngestFunction/event-generation-requested.json")
    delivered = json.loads(event["Records"][0]["body"])
    assert _ingest(stack, event) == []
    records = _records_where(stack, "correlationId", delivered["id"])
    assert len(records) == delivered["detail"]["num_images"] == 2
    for record in records:
        assert record["source"]["S"] == "event"
        assert record["status"]["S"] == "STORED"
        assert set(record["tags"]["SS"]) == set(delivered["detail"]["tags"])
        assert record["aspectRatio"]["S"] == delivered["detail"]["aspect_ratio"]


def test_the_direct_message_sample_is_known_by_its_message_id(stack: LocalStack) -> None:
    event = _sample("IngestFunction/direct-generation-requested.json")
    message = event["Records"][0]
    assert _ingest(stack, event) == []
    # No client_request_id: the message id is the idempotency key and the correlation id.
    [record] = _records_where(stack, "correlationId", f"sqs-{message['messageId']}")
    assert record["seed"]["N"] == str(json.loads(message["body"])["seed"])
    assert record["status"]["S"] == "STORED"


def test_the_batch_item_sample_is_recorded_in_its_batch(stack: LocalStack) -> None:
    event = _sample("IngestFunction/batch-item.json")
    batch_id = event["Records"][0]["messageAttributes"]["batchId"]["stringValue"]
    assert _ingest(stack, event) == []
    [record] = _records_where(stack, "batchId", batch_id)
    assert record["source"]["S"] == "batch"
    assert record["correlationId"]["S"] == batch_id


def test_the_reproduction_sample_reproduces_a_stored_image(stack: LocalStack) -> None:
    original = generate(stack, prompt="a copper kettle on a stove", magic_prompt="OFF", seed=31337)
    assert original.status_code == 201, original.text
    parent = original.json()["generations"][0]
    event = copy.deepcopy(_sample("IngestFunction/reproduction-requested.json"))
    record = event["Records"][0]
    delivered = json.loads(record["body"])
    # The sample's own id names no record here: the same event, for an original that exists.
    delivered["detail"] = {"generation_id": parent["id"], "client_request_id": f"dam-{uuid.uuid4().hex}"}
    record["body"] = json.dumps(delivered)
    assert _ingest(stack, event) == []
    [child] = _records_where(stack, "parentId", parent["id"])
    assert child["source"]["S"] == "reproduce"
    assert child["correlationId"]["S"] == delivered["id"]
    assert child["sha256"]["S"] == child["parentSha256"]["S"] == parent["sha256"]


def test_a_sample_run_twice_generates_once(stack: LocalStack) -> None:
    event = _sample("IngestFunction/event-generation-requested.json")
    event_id = json.loads(event["Records"][0]["body"])["id"]
    assert _ingest(stack, event) == []
    first = sorted(item["id"]["S"] for item in _records_where(stack, "correlationId", event_id))
    assert _ingest(stack, event) == []  # a second delivery: its client_request_id replays the first
    assert sorted(item["id"]["S"] for item in _records_where(stack, "correlationId", event_id)) == first


# ---------------------------------------------------------------- PublishFunction's samples


def _with_fresh_id(event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The stream sample for a record id no other run announced (each id+status is announced once)."""
    fresh = uuid.uuid4().hex
    text = json.dumps(event)
    old = event["Records"][0]["dynamodb"]["NewImage"]["id"]["S"]
    return json.loads(text.replace(old, fresh)), fresh


@pytest.mark.parametrize(
    ("sample", "detail_type"),
    [("PublishFunction/stored.json", "ImagePersisted"), ("PublishFunction/lost.json", "GenerationFailed")],
)
def test_a_stream_sample_is_announced_once_as_its_schema_says(
    stack: LocalStack, subscribe: Any, sample: str, detail_type: str
) -> None:
    event, generation_id = _with_fresh_id(_sample(sample))
    subscriber = subscribe({"source": ["ideogram-assets"], "detail": {"id": [generation_id]}})
    publish = stack.runtimes["PublishFunction"]
    assert publish.invoke(event) == {"batchItemFailures": []}
    [message] = subscriber.messages(expected=1)
    announced = json.loads(message["Body"])
    assert announced["detail-type"] == detail_type
    assert announced["source"] == "ideogram-assets"
    detail = announced["detail"]
    assert _schema_validator(detail_type).is_valid(detail), detail
    image = event["Records"][0]["dynamodb"]["NewImage"]
    assert detail["id"] == generation_id
    assert detail["requestId"] == image["requestId"]["S"]
    assert detail["correlationId"] == image["correlationId"]["S"]
    if detail_type == "ImagePersisted":
        assert (detail["sha256"], detail["sizeBytes"]) == (image["sha256"]["S"], int(image["sizeBytes"]["N"]))
    else:
        assert (detail["status"], detail["failureKind"]) == ("LOST", "url_expired")

    # The stream delivers at least once: the same change again announces nothing.
    assert publish.invoke(event) == {"batchItemFailures": []}
    assert subscriber.messages(expected=1, timeout=3) == []


# ---------------------------------------------------------------- upstream examples


def _entries(stack: LocalStack, name: str) -> list[dict[str, Any]]:
    """The example's entries, on this stack's bus (the files name the local stack's own)."""
    bus = stack.endpoints()["buses"]["AssetsEventBus"]["name"]
    entries: list[dict[str, Any]] = json.loads((EVENTS / "upstream" / name).read_text())
    assert {entry["EventBusName"] for entry in entries} == {bus}
    return entries


def _until(condition: Any, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.5)


def _queue_empty(stack: LocalStack) -> bool:
    """No message waiting, in flight or delayed: the ingest has finished with every one it took."""
    url = stack.endpoints()["queues"]["GenerationRequestsQueue"]["url"]
    counts = stack.aws.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return all(int(count) == 0 for count in counts.values())


def _for_a_stored_original(stack: LocalStack, entry: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A ReproductionRequested entry for an original this stack holds (the example's names none)."""
    original = generate(stack, prompt=f"a glass marble {uuid.uuid4().hex[:8]}", magic_prompt="OFF")
    assert original.status_code == 201, original.text
    parent_id: str = original.json()["generations"][0]["id"]
    detail = {"generation_id": parent_id, "client_request_id": f"dam-{uuid.uuid4().hex}"}
    return {**entry, "Detail": json.dumps(detail)}, parent_id


@pytest.mark.parametrize("name", sorted(path.name for path in (EVENTS / "upstream").glob("*.json")))
def test_upstream_examples_are_generated_through_the_bus_and_the_queue(
    stack: LocalStack, subscribe: Any, name: str
) -> None:
    entries, parents = [], []
    for entry in _entries(stack, name):
        if entry["DetailType"] == "ReproductionRequested":
            entry, parent_id = _for_a_stored_original(stack, entry)
            parents.append(parent_id)
        entries.append(entry)
    # Sees the requests as the GenerationRequestedRule does (it matches on detail-type alone).
    subscriber = subscribe(
        {
            "source": sorted({entry["Source"] for entry in entries}),
            "detail-type": ["GenerationRequested", "ReproductionRequested"],
        }
    )
    reply = stack.aws.client("events").put_events(Entries=entries)
    assert reply["FailedEntryCount"] == 0, reply

    delivered = [json.loads(message["Body"]) for message in subscriber.messages(expected=len(entries))]
    assert sorted((event["detail"] for event in delivered), key=json.dumps) == sorted(
        (json.loads(entry["Detail"]) for entry in entries), key=json.dumps
    )
    for event in delivered:
        assert _schema_validator(event["detail-type"]).is_valid(event["detail"])

    # The stack's own rule, queue and event source mapping generate them.
    requests = [event["detail"] for event in delivered if event["detail-type"] == "GenerationRequested"]
    for detail in requests:
        _until(lambda detail=detail: _records_where(stack, "prompt", detail["prompt"]), f"{detail}")
    for parent_id in parents:
        _until(lambda parent_id=parent_id: _records_where(stack, "parentId", parent_id), parent_id)
    _until(lambda: _queue_empty(stack), "the requests queue drained")
    for detail in requests:
        # Stored once, whichever delivery of its client_request_id came first (the IngestFunction
        # sample is this very event as the rule delivers it).
        stored = _records_where(stack, "prompt", detail["prompt"])
        assert {record["status"]["S"] for record in stored} == {"STORED"}, detail
        assert len(stored) == detail.get("num_images", 1), detail
    for parent_id in parents:
        [child] = _records_where(stack, "parentId", parent_id)
        assert (child["source"]["S"], child["status"]["S"]) == ("reproduce", "STORED")
