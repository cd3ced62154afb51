"""Generation from upstream events and queue messages, and results announced on the bus, on the
local stack: EventBridge rules from template.yaml deliver to the requests queue, the queue is
polled like Lambda's event source mapping, and the table's stream feeds the publisher.

The session's stack runs the ingest with batches of 4 and 3 receives before the dead-letter
queue (tests/conftest.py), so a poison message's trip is short.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from local_stack.stack import LocalStack
from tests.e2e._helpers import (
    generate,
    ideogram_calls,
    object_bytes,
    records_tagged,
    set_faults,
)
from tests.e2e.test_retention import invoke

pytestmark = pytest.mark.usefixtures("faults_cleared")

WAIT_SECONDS = 60


def _bus(stack: LocalStack) -> str:
    name: str = stack.endpoints()["buses"]["AssetsEventBus"]["name"]
    return name


def _queue(stack: LocalStack, logical_id: str) -> str:
    url: str = stack.endpoints()["queues"][logical_id]["url"]
    return url


def put_event(stack: LocalStack, detail_type: str, detail: dict[str, Any]) -> str:
    reply = stack.aws.client("events").put_events(
        Entries=[
            {
                "Source": "com.example.cms",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": _bus(stack),
            }
        ]
    )
    assert reply["FailedEntryCount"] == 0, reply
    event_id: str = reply["Entries"][0]["EventId"]
    return event_id


def send_message(stack: LocalStack, body: dict[str, Any] | str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    stack.aws.client("sqs").send_message(QueueUrl=_queue(stack, "GenerationRequestsQueue"), MessageBody=text)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def stored(stack: LocalStack, tag: str, count: int) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        items = records_tagged(stack, tag)
        finished = [item for item in items if item["status"]["S"] in ("STORED", "UNSAFE", "FAILED", "LOST")]
        return items if len(finished) >= count else None

    items: list[dict[str, Any]] = wait_for(done, f"{count} finished records tagged {tag}")
    return items


def drain(stack: LocalStack, queue_url: str) -> list[dict[str, Any]]:
    sqs = stack.aws.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not got:
            return messages
        for message in got:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def announcements(stack: LocalStack) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """What the application puts on its bus, caught by a rule of the test's own into a queue."""
    sqs, events = stack.aws.client("sqs"), stack.aws.client("events")
    name = f"announcements-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=name, EventBusName=_bus(stack), EventPattern=json.dumps({"source": ["ideogram-assets"]})
    )
    events.put_targets(Rule=name, EventBusName=_bus(stack), Targets=[{"Id": "tap", "Arn": arn}])
    caught: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        caught.extend(drain(stack, url))
        return caught

    yield read
    events.remove_targets(Rule=name, EventBusName=_bus(stack), Ids=["tap"])
    events.delete_rule(Name=name, EventBusName=_bus(stack))
    sqs.delete_queue(QueueUrl=url)


def announced(
    read: Callable[[], list[dict[str, Any]]], detail_type: str, ids: set[str]
) -> list[dict[str, Any]]:
    def all_there() -> list[dict[str, Any]] | None:
        found = [
            event for event in read() if event["detail-type"] == detail_type and event["detail"]["id"] in ids
        ]
        return found if {event["detail"]["id"] for event in found} >= ids else None

    events: list[dict[str, Any]] = wait_for(all_there, f"{detail_type} for {sorted(ids)}")
    return events


def test_an_event_on_the_bus_becomes_stored_images_announced_once(
    stack: LocalStack, announcements: Callable[[], list[dict[str, Any]]]
) -> None:
    tag = f"ev-{uuid.uuid4().hex[:10]}"
    event_id = put_event(
        stack, "GenerationRequested", {"prompt": "a red kite over dunes", "num_images": 2, "tags": [tag]}
    )

    items = stored(stack, tag, 2)
    assert {item["status"]["S"] for item in items} == {"STORED"}
    assert {item["source"]["S"] for item in items} == {"event"}
    assert {item["correlationId"]["S"] for item in items} == {event_id}
    ids = {item["id"]["S"] for item in items}
    events = announced(announcements, "ImagePersisted", ids)
    for event in events:
        detail = event["detail"]
        record = next(item for item in items if item["id"]["S"] == detail["id"])
        assert detail["sha256"] == record["sha256"]["S"]
        assert detail["key"] == record["key"]["S"]
        assert detail["correlationId"] == event_id
        assert detail["tags"] == [tag]
        assert hashlib.sha256(object_bytes(stack, detail["key"])).hexdigest() == detail["sha256"]
    time.sleep(2)  # a repeat would have arrived by now
    assert len([e for e in announcements() if e["detail"]["id"] in ids]) == 2, "announced more than once"


def test_a_message_delivered_twice_generates_once(stack: LocalStack) -> None:
    tag = f"dup-{uuid.uuid4().hex[:10]}"
    calls = ideogram_calls(stack)
    body = {"prompt": "a copper weathervane", "tags": [tag], "client_request_id": f"cms-{uuid.uuid4().hex}"}
    send_message(stack, body)
    send_message(stack, body)

    stored(stack, tag, 1)
    time.sleep(3)  # both deliveries are done
    assert len(records_tagged(stack, tag)) == 1
    assert ideogram_calls(stack) == calls + 1


def test_the_same_request_id_over_http_and_as_an_event_is_one_generation(stack: LocalStack) -> None:
    tag = f"both-{uuid.uuid4().hex[:10]}"
    key = f"cms-{uuid.uuid4().hex}"
    reply = generate(stack, headers={"Idempotency-Key": key}, prompt="a slate roof", tags=[tag])
    assert reply.status_code == 201
    calls = ideogram_calls(stack)
    send_message(stack, {"prompt": "a slate roof", "tags": [tag], "client_request_id": key})
    time.sleep(4)
    assert len(records_tagged(stack, tag)) == 1
    assert ideogram_calls(stack) == calls


def test_a_poison_message_goes_to_the_dead_letter_queue_while_the_rest_of_its_batch_is_stored(
    stack: LocalStack,
) -> None:
    tag = f"poison-{uuid.uuid4().hex[:10]}"
    dead_letters = _queue(stack, "GenerationRequestsDeadLetterQueue")
    drain(stack, dead_letters)
    sqs = stack.aws.client("sqs")
    entries = [
        {"Id": "good1", "MessageBody": json.dumps({"prompt": "a lantern", "tags": [tag]})},
        {"Id": "poison", "MessageBody": json.dumps({"prompt": "", "num_images": 99, "tags": [tag]})},
        {"Id": "good2", "MessageBody": json.dumps({"prompt": "a lamp", "tags": [tag]})},
    ]
    sqs.send_message_batch(QueueUrl=_queue(stack, "GenerationRequestsQueue"), Entries=entries)

    assert {item["status"]["S"] for item in stored(stack, tag, 2)} == {"STORED"}
    dead = wait_for(lambda: drain(stack, dead_letters), "the poison message in the dead-letter queue")
    assert [message["num_images"] for message in dead] == [99]


def test_a_429_storm_is_absorbed_with_no_failed_request(stack: LocalStack) -> None:
    tag = f"storm-{uuid.uuid4().hex[:10]}"
    dead_letters = _queue(stack, "GenerationRequestsDeadLetterQueue")
    drain(stack, dead_letters)
    storm = {"status": 429, "body": {"reject_reason": "inflight_limit"}}
    set_faults(stack, fail_next=[storm] * 12)
    for number in range(6):
        send_message(stack, {"prompt": f"a storm petrel {number}", "tags": [tag]})

    items = stored(stack, tag, 6)
    assert {item["status"]["S"] for item in items} == {"STORED"}
    assert drain(stack, dead_letters) == []


def test_a_burst_of_queued_requests_stays_within_ideograms_in_flight_limit(stack: LocalStack) -> None:
    """Two environments (MaximumConcurrency 2) of five image slots each (IdeogramInflightLimit 10):
    batches of 4 three-image requests would ask for 24 images at once without the slots."""
    tag = f"burst-{uuid.uuid4().hex[:10]}"
    set_faults(stack, latency_seconds=0.3)
    before = requests.get(f"{stack.ideogram_url}/_emulator/health", timeout=10).json()
    for number in range(8):
        send_message(stack, {"prompt": f"a flock of starlings {number}", "num_images": 3, "tags": [tag]})

    items = stored(stack, tag, 24)
    after = requests.get(f"{stack.ideogram_url}/_emulator/health", timeout=10).json()
    assert {item["status"]["S"] for item in items} == {"STORED"}
    assert after["rate_limited_requests"] == before["rate_limited_requests"]
    assert after["generate_requests"] - before["generate_requests"] == 8


def test_reject_and_reuse_on_the_queue(stack: LocalStack) -> None:
    tag = f"policy-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {"prompt": f"a tin robot {tag}", "seed": 5, "magic_prompt": "OFF", "tags": [tag]}
    first = generate(stack, **body)
    assert first.status_code == 201
    calls = ideogram_calls(stack)
    send_message(stack, {**body, "on_duplicate": "reject"})
    send_message(stack, {**body, "on_duplicate": "reuse"})
    time.sleep(4)
    assert len(records_tagged(stack, tag)) == 1
    assert ideogram_calls(stack) == calls


def test_a_reproduction_requested_event_reproduces_the_bytes(stack: LocalStack) -> None:
    tag = f"repro-{uuid.uuid4().hex[:10]}"
    parent = generate(stack, prompt="a quiet mill pond", magic_prompt="ON", tags=[tag]).json()["generations"][
        0
    ]
    put_event(stack, "ReproductionRequested", {"generation_id": parent["id"]})

    items = stored(stack, tag, 2)
    [child] = [item for item in items if item["id"]["S"] != parent["id"]]
    assert child["parentId"]["S"] == parent["id"]
    assert child["sha256"]["S"] == parent["sha256"]
    assert "reproduced" in child["tags"]["SS"]


def test_an_image_rescued_by_the_reconciler_announces_itself(
    stack: LocalStack, announcements: Callable[[], list[dict[str, Any]]]
) -> None:
    set_faults(stack, image_faults=[{"index": 0, "fault": "wrong_content_type", "times": 1}])
    reply = generate(stack, prompt="a rescued weathervane")
    [generation] = reply.json()["generations"]
    assert generation["status"] == "FAILED"
    announced(announcements, "GenerationFailed", {generation["id"]})

    time.sleep(1.1)  # the reconciler takes records created before its start
    invoke(stack, {"task": "reconcile", "dryRun": False})
    [event] = announced(announcements, "ImagePersisted", {generation["id"]})
    assert event["detail"]["source"] == "api"
