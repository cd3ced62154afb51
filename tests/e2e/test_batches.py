"""Batches end to end: POST /batches through the gateway, the batches function recording the batch
and queueing its items in the AWS emulator's queue, the local event source mapping delivering
them to the ingest, the ingest generating each one at the Ideogram emulator and reporting its end,
and GET /batches/{id} showing it all. Faults are injected on the wire (the fault proxy in front
of the AWS emulator, the Ideogram emulator's switches).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack
from tests.e2e._helpers import ideogram_calls

pytestmark = pytest.mark.usefixtures("faults_cleared")

BATCH_ID = r"^[0-9a-f]{32}$"
SEND_MESSAGE_BATCH = "AmazonSQS.SendMessageBatch"


def _auth(stack: LocalStack) -> SigV4Auth:
    return SigV4Auth(stack.caller, stack.options.region)


def post_batch(stack: LocalStack, body: Any) -> requests.Response:
    return requests.post(f"{stack.api_url}/batches", json=body, auth=_auth(stack), timeout=60)


def get_batch(stack: LocalStack, batch_id: str) -> requests.Response:
    return requests.get(f"{stack.api_url}/batches/{batch_id}", auth=_auth(stack), timeout=30)


def _tag() -> str:
    return f"batch-{uuid.uuid4().hex[:10]}"


def completed(stack: LocalStack, batch_id: str, timeout: float = 120) -> dict[str, Any]:
    """Polls the batch until no item is QUEUED, as a caller would."""
    deadline = time.monotonic() + timeout
    while True:
        reply = get_batch(stack, batch_id)
        assert reply.status_code == 200, reply.text
        view: dict[str, Any] = reply.json()
        if view["complete"]:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.5)


def queue_drained(stack: LocalStack, timeout: float = 120) -> None:
    """Waits until the requests queue holds no message: nothing earlier is still calling Ideogram."""
    sqs = stack.aws.client("sqs")
    queue = stack.endpoints()["queues"]["GenerationRequestsQueue"]["url"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout
    while True:
        counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
        if set(counts.values()) == {"0"}:
            return
        assert time.monotonic() < deadline, "the requests queue never drained"
        time.sleep(0.3)


def table_items(stack: LocalStack, batch_id: str) -> dict[str, dict[str, Any]]:
    """The batch's items as DynamoDB holds them, by sort key."""
    table = stack.endpoints()["resources"]["AssetsTable"]
    pages = (
        stack.aws.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"BATCH#{batch_id}"}},
            ConsistentRead=True,
        )
    )
    return {item["SK"]["S"]: item for page in pages for item in page["Items"]}


# -- what POST /batches accepts ----------------------------------------------------------------


def test_a_batch_is_accepted_with_its_id_and_where_to_follow_it(stack: LocalStack) -> None:
    tag = _tag()
    reply = post_batch(stack, {"items": [{"prompt": "a red fox logo", "tags": [tag]}]})
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["status"] == "QUEUED"
    assert (body["items"], body["enqueued"], body["failures"]) == (1, 1, [])
    assert reply.headers["Location"] == f"/batches/{body['batchId']}"
    view = get_batch(stack, body["batchId"]).json()
    assert view["batchId"] == body["batchId"]
    assert view["items"] == 1
    assert sum(view["counts"].values()) == 1
    assert [result["itemId"] for result in view["results"]] == ["1"]
    assert completed(stack, body["batchId"])["counts"]["DONE"] == 1


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"items": []}, "items", "at least 1 item"),
        ({"items": [{"prompt": "a fox"}] * 1001}, "items", "at most 1000 items"),
        (
            {"items": [{"prompt": "a", "item_id": "x"}, {"prompt": "b", "item_id": "x"}]},
            "items",
            "used twice",
        ),
        ({"items": [{"prompt": "a", "item_id": "2"}, {"prompt": "b"}]}, "items", "used twice"),
        ({"items": [{"prompt": "ok"}, {"prompt": "a", "num_images": 9}]}, "items[1].num_images", "8"),
        ({"items": [{"prompt": "a", "item_id": "has space"}]}, "items[0].item_id", "pattern"),
        ({"items": [{"prompt": "a"}], "on_duplicate": "skip"}, "on_duplicate", "generate"),
        ({"items": [{"prompt": "a"}], "priority": 1}, "priority", "not permitted"),
    ],
    ids=["empty", "1001", "same-id", "id-of-a-position", "item-field", "item-id", "policy", "unknown"],
)
def test_a_bad_batch_is_refused_naming_the_field(
    stack: LocalStack, body: Any, field: str, words: str
) -> None:
    reply = post_batch(stack, body)
    assert reply.status_code == 422, reply.text
    errors = reply.json()["errors"]
    assert any(error["field"] == field and words in error["message"] for error in errors), errors


def test_an_unknown_batch_is_404_and_a_malformed_id_422(stack: LocalStack) -> None:
    missing = get_batch(stack, uuid.uuid4().hex)
    assert missing.status_code == 404
    assert "was not found" in missing.json()["message"]
    malformed = get_batch(stack, "not-a-batch")
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "path.batch_id"


# -- the queue refusing messages ---------------------------------------------------------------


def test_items_the_queue_refuses_are_failed_with_the_reason_and_the_rest_go_on(stack: LocalStack) -> None:
    assert stack.proxy is not None
    # The second call of ten is refused on every try (a code the SDK does not retry).
    stack.proxy.inject(FaultRule(target=SEND_MESSAGE_BATCH, skip=1, status=400, error_code="AccessDenied"))
    tag = _tag()
    items = [{"prompt": f"a small fox, number {n}", "seed": n, "tags": [tag]} for n in range(1, 16)]
    reply = post_batch(stack, {"items": items})
    stack.proxy.clear()
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert (body["items"], body["enqueued"]) == (15, 10)
    assert sorted(int(failure["itemId"]) for failure in body["failures"]) == list(range(11, 16))
    assert all("AccessDenied" in failure["reason"] for failure in body["failures"])

    stored = table_items(stack, body["batchId"])
    assert {stored[f"ITEM#{n}"]["status"]["S"] for n in range(11, 16)} == {"FAILED"}
    # The items that were queued are generated all the same.
    view = completed(stack, body["batchId"])
    assert view["counts"] == {"QUEUED": 0, "DONE": 10, "FAILED": 5}
    assert [failure["itemId"] for failure in view["failures"]] == [str(n) for n in range(11, 16)]


def test_a_queue_refusing_everything_is_503_and_the_batch_says_why(stack: LocalStack) -> None:
    assert stack.proxy is not None
    stack.proxy.inject(FaultRule(target=SEND_MESSAGE_BATCH, status=400, error_code="AccessDenied"))
    calls_before = ideogram_calls(stack)
    reply = post_batch(stack, {"items": [{"prompt": "a fox"}, {"prompt": "a hen"}]})
    stack.proxy.clear()
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] == "5"
    message = reply.json()["message"]
    assert "could be queued" in message
    batch_id = message.split("batch ", 1)[1].split(" ", 1)[0]
    view = get_batch(stack, batch_id).json()
    assert view["complete"] is True
    assert view["counts"] == {"QUEUED": 0, "DONE": 0, "FAILED": 2}
    assert [failure["itemId"] for failure in view["failures"]] == ["1", "2"]
    assert ideogram_calls(stack) == calls_before


def test_a_table_that_cannot_be_written_is_503_and_queues_nothing(stack: LocalStack) -> None:
    assert stack.proxy is not None
    failing = stack.proxy.inject(
        FaultRule(
            target="DynamoDB_20120810.BatchWriteItem",
            body="BATCH#",
            status=400,
            error_code="AccessDeniedException",
        )
    )
    sends = stack.proxy.inject(FaultRule(target=SEND_MESSAGE_BATCH, times=0))
    reply = post_batch(stack, {"items": [{"prompt": "a fox"}]})
    stack.proxy.clear()
    assert reply.status_code == 503, reply.text
    assert reply.json()["message"] == "storage is unavailable right now; retry shortly"
    assert failing.failed >= 1
    assert sends.seen == 0
