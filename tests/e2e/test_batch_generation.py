"""A batch end to end, from the request to stored images: POST /batches through the gateway, the
local event source mapping delivering each item's message to the ingest, the ingest generating
it at the Ideogram emulator and reporting its end, GET /batches/{id} showing every item DONE with
its generations (or FAILED with its reason), and the images in S3 as their records say. A
redelivered message and the duplicate policy are checked by what reaches the emulator.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from local_stack.stack import LocalStack
from tests.e2e._helpers import assert_stored_as_recorded, ideogram_calls, record
from tests.e2e.test_batches import _auth, _tag, completed, get_batch, post_batch, queue_drained, table_items

pytestmark = pytest.mark.usefixtures("faults_cleared")


def test_a_batch_ends_with_every_item_done_and_its_images_stored(stack: LocalStack) -> None:
    tag = _tag()
    items: list[dict[str, Any]] = [
        {"prompt": "a red fox logo, flat vector", "seed": 101, "tags": [tag], "item_id": "fox"},
        {"prompt": "a lighthouse at dusk", "seed": 102, "num_images": 2, "tags": [tag]},
        {"prompt": "a café sign in Kyōto, 狐", "seed": 103, "tags": [tag], "aspect_ratio": "16x9"},
    ]
    queue_drained(stack)
    calls_before = ideogram_calls(stack)
    accepted = post_batch(stack, {"items": items})
    assert accepted.status_code == 202, accepted.text
    batch_id = accepted.json()["batchId"]

    view = completed(stack, batch_id)
    assert view["counts"] == {"QUEUED": 0, "DONE": 3, "FAILED": 0}, view["failures"]
    assert view["failures"] == []
    assert [result["itemId"] for result in view["results"]] == ["fox", "2", "3"]
    assert [len(result["generationIds"]) for result in view["results"]] == [1, 2, 1]
    assert ideogram_calls(stack) - calls_before == 3
    for result, item in zip(view["results"], items, strict=True):
        assert result["status"] == "DONE"
        assert result["statuses"] == ["STORED"] * len(result["generationIds"])
        for index, generation_id in enumerate(result["generationIds"]):
            stored = record(stack, generation_id)
            assert stored["prompt"]["S"] == item["prompt"]
            assert stored["indexInRequest"]["N"] == str(index)
            assert int(stored["seed"]["N"]) == item["seed"] + index  # Ideogram's seeds follow on
            assert stored["batchId"]["S"] == batch_id
            assert stored["source"]["S"] == "batch"
            assert tag in stored["tags"]["SS"]
            generation = requests.get(
                f"{stack.api_url}/generations/{generation_id}", auth=_auth(stack), timeout=30
            ).json()
            assert_stored_as_recorded(stack, generation)
    items_in_table = table_items(stack, batch_id)
    assert {key: item["status"]["S"] for key, item in items_in_table.items() if key != "META"} == {
        "ITEM#fox": "DONE",
        "ITEM#2": "DONE",
        "ITEM#3": "DONE",
    }


def test_a_redelivered_item_is_never_generated_twice(stack: LocalStack) -> None:
    tag = _tag()
    accepted = post_batch(stack, {"items": [{"prompt": "a quiet harbour", "seed": 7, "tags": [tag]}]})
    batch_id = accepted.json()["batchId"]
    first = completed(stack, batch_id)
    [done] = first["results"]
    queue_drained(stack)
    calls_before = ideogram_calls(stack)

    # The message again, as SQS may deliver it more than once: the same body and attributes.
    stored_request = table_items(stack, batch_id)["ITEM#1"]["request"]["S"]
    queue = stack.endpoints()["queues"]["GenerationRequestsQueue"]["url"]
    stack.aws.client("sqs").send_message(
        QueueUrl=queue,
        MessageBody=stored_request,
        MessageAttributes={
            "batchId": {"DataType": "String", "StringValue": batch_id},
            "batchItem": {"DataType": "String", "StringValue": "1"},
        },
    )
    queue_drained(stack)
    again = get_batch(stack, batch_id).json()
    assert again["results"] == [done]
    assert ideogram_calls(stack) == calls_before


def test_the_batchs_duplicate_policy_reuses_or_rejects_stored_images(stack: LocalStack) -> None:
    tag = _tag()
    original = {"prompt": f"a paper crane, {tag}", "seed": 55, "tags": [tag]}
    first = completed(stack, post_batch(stack, {"items": [original]}).json()["batchId"])
    [stored_id] = first["results"][0]["generationIds"]
    queue_drained(stack)
    calls_before = ideogram_calls(stack)

    body = {
        "items": [
            {**original, "item_id": "reused"},
            {**original, "item_id": "rejected", "on_duplicate": "reject"},
            {**original, "item_id": "new", "on_duplicate": "generate"},
        ],
        "on_duplicate": "reuse",
    }
    view = completed(stack, post_batch(stack, body).json()["batchId"])
    results = {result["itemId"]: result for result in view["results"]}
    assert results["reused"]["status"] == "DONE"
    assert results["reused"]["generationIds"] == [stored_id]
    assert results["rejected"]["status"] == "FAILED"
    assert results["new"]["status"] == "DONE"
    assert results["new"]["generationIds"] != [stored_id]
    [failure] = view["failures"]
    assert failure["itemId"] == "rejected"
    assert stored_id in failure["reason"]
    assert ideogram_calls(stack) - calls_before == 1  # only "new" called Ideogram


def test_a_request_ideogram_refuses_fails_with_its_reason_and_the_rest_go_on(stack: LocalStack) -> None:
    tag = _tag()
    items = [
        {"prompt": "a forbidden symbol", "tags": [tag], "item_id": "refused"},
        {"prompt": "an unsafe scene", "tags": [tag], "item_id": "unsafe"},
        {"prompt": "a friendly robot", "tags": [tag], "item_id": "ok"},
    ]
    view = completed(stack, post_batch(stack, {"items": items}).json()["batchId"])
    results = {result["itemId"]: result for result in view["results"]}
    assert view["counts"] == {"QUEUED": 0, "DONE": 2, "FAILED": 1}
    # Ideogram's safety check refused the prompt: never tried again, the reason is Ideogram's.
    [failure] = view["failures"]
    assert failure["itemId"] == "refused"
    assert failure["reason"].startswith("IdeogramRejected: "), failure
    # An image Ideogram marks unsafe is a record like any other (billed, no image).
    assert results["unsafe"]["statuses"] == ["UNSAFE"]
    assert results["ok"]["statuses"] == ["STORED"]
