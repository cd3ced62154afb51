"""A queue message read as work: a whole EventBridge event by its detail-type, a body written to
the queue directly, a batch item by its message attributes; anything else is a PoisonMessage
whose reason says what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ideogram_assets.events.requests import GenerationRequested, ReproductionRequested
from ideogram_assets.ingest.messages import PoisonMessage, read_message

MESSAGE_ID = "5d0b5c1e-2f4a-4c57-9e0b-1a6f3c9d2e71"
EVENT_ID = "7b2e4c1a-93f0-4d8e-b5a6-0c1d2e3f4a5b"
BATCH_ID = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
GENERATION_ID = "4a3a778ee1ae4e81a7bd9fc35963fb9e"
FOX = {"prompt": "a red fox logo", "seed": 7, "tags": ["brand"]}


def sqs_record(body: Any, *, attributes: dict[str, str] | None = None) -> dict[str, Any]:
    """An SQS record as Lambda hands it over; `body` is sent as JSON unless it is already text."""
    return {
        "messageId": MESSAGE_ID,
        "receiptHandle": "AQEBexampleReceiptHandle",
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String"} for name, value in (attributes or {}).items()
        },
    }


def bus_event(detail_type: str, detail: Any, *, event_id: str | None = EVENT_ID) -> dict[str, Any]:
    """A whole EventBridge event, as the bus's rule delivers it to the queue."""
    event: dict[str, Any] = {
        "version": "0",
        "detail-type": detail_type,
        "source": "com.example.cms",
        "account": "123456789012",
        "time": "2026-11-21T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    if event_id is not None:
        event["id"] = event_id
    return event


# -- whole events from the bus ---------------------------------------------------------------------


def test_a_generation_requested_event_is_keyed_by_its_client_request_id() -> None:
    detail = {**FOX, "on_duplicate": "reuse", "client_request_id": "cms-article-4711-hero"}
    work = read_message(sqs_record(bus_event("GenerationRequested", detail)))

    assert isinstance(work.request, GenerationRequested)
    assert work.request.spec().prompt == "a red fox logo"
    assert work.request.on_duplicate == "reuse"
    assert work.idempotency_key == "cms-article-4711-hero"
    assert work.correlation_id == EVENT_ID
    assert work.source == "event"
    assert (work.batch_id, work.batch_item) == (None, None)


def test_an_event_without_a_client_request_id_is_keyed_by_the_event_id() -> None:
    work = read_message(sqs_record(bus_event("GenerationRequested", FOX)))

    assert work.idempotency_key == f"event-{EVENT_ID}"
    assert work.correlation_id == EVENT_ID


def test_an_event_without_an_id_falls_back_to_the_message_id() -> None:
    work = read_message(sqs_record(bus_event("GenerationRequested", FOX, event_id=None)))

    assert work.idempotency_key == f"event-{MESSAGE_ID}"
    assert work.correlation_id == work.idempotency_key


def test_a_reproduction_requested_event_names_the_original() -> None:
    work = read_message(sqs_record(bus_event("ReproductionRequested", {"generation_id": GENERATION_ID})))

    assert isinstance(work.request, ReproductionRequested)
    assert work.request.generation_id == GENERATION_ID
    assert work.idempotency_key == f"event-{EVENT_ID}"
    assert work.correlation_id == EVENT_ID
    assert work.source == "event"


def test_a_reproduction_keeps_its_client_request_id() -> None:
    detail = {"generation_id": GENERATION_ID, "client_request_id": "redo:fox.2026-11"}
    work = read_message(sqs_record(bus_event("ReproductionRequested", detail)))

    assert work.idempotency_key == "redo:fox.2026-11"
    assert work.correlation_id == EVENT_ID


# -- bodies written to the queue directly ----------------------------------------------------------


def test_a_direct_body_is_a_generation_requested_keyed_by_the_message_id() -> None:
    work = read_message(sqs_record(FOX))

    assert isinstance(work.request, GenerationRequested)
    assert work.request.spec().seed == 7
    assert work.idempotency_key == f"sqs-{MESSAGE_ID}"
    assert work.correlation_id == work.idempotency_key
    assert work.source == "event"


def test_a_direct_body_with_a_client_request_id_is_keyed_and_correlated_by_it() -> None:
    work = read_message(sqs_record({**FOX, "client_request_id": "nightly-run-0042"}))

    assert work.idempotency_key == "nightly-run-0042"
    assert work.correlation_id == "nightly-run-0042"


# -- batch items --------------------------------------------------------------------------------------


def test_a_batch_item_is_correlated_by_its_batch() -> None:
    body = {**FOX, "client_request_id": f"batch-{BATCH_ID}-fox"}
    work = read_message(sqs_record(body, attributes={"batchId": BATCH_ID, "batchItem": "fox"}))

    assert work.source == "batch"
    assert work.batch_id == BATCH_ID
    assert work.batch_item == "fox"
    assert work.correlation_id == BATCH_ID
    assert work.idempotency_key == f"batch-{BATCH_ID}-fox"


def test_other_message_attributes_make_no_batch() -> None:
    work = read_message(sqs_record(FOX, attributes={"traceparent": "00-abc-def-01"}))

    assert work.source == "event"
    assert work.batch_id is None


# -- poison -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param("{not json", "the body is not JSON", id="not JSON"),
        pytest.param("", "the body is not JSON", id="empty"),
        pytest.param(None, "the body is not JSON", id="no body"),
        pytest.param(json.dumps([FOX]), "the body is not a JSON object", id="a JSON array"),
        pytest.param("42", "the body is not a JSON object", id="a JSON number"),
        pytest.param("null", "the body is not a JSON object", id="JSON null"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_poison(body: str | None, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=reason):
        read_message(sqs_record(body))


def test_an_unknown_detail_type_is_poison_naming_it() -> None:
    with pytest.raises(PoisonMessage, match="'ImageDeleted' is not a request this service takes"):
        read_message(sqs_record(bus_event("ImageDeleted", {"generation_id": GENERATION_ID})))


@pytest.mark.parametrize(
    ("message", "field"),
    [
        pytest.param(bus_event("GenerationRequested", {"seed": 7}), "prompt", id="event: no prompt"),
        pytest.param(
            bus_event("GenerationRequested", {**FOX, "num_images": "two"}), "num_images", id="event: count"
        ),
        pytest.param({**FOX, "tags": ["no spaces allowed"]}, "tags.0", id="direct: a tag"),
        pytest.param({**FOX, "colour": "red"}, "colour", id="direct: an unknown field"),
        pytest.param({**FOX, "on_duplicate": "merge"}, "on_duplicate", id="direct: a policy"),
        pytest.param(
            bus_event("ReproductionRequested", {"generation_id": "not-an-id"}),
            "generation_id",
            id="reproduction: an id",
        ),
        pytest.param(
            bus_event("ReproductionRequested", {"generation_id": GENERATION_ID, "seed": 1}),
            "seed",
            id="reproduction: an unknown field",
        ),
        pytest.param(bus_event("GenerationRequested", "a red fox"), "body", id="event: detail not an object"),
    ],
)
def test_invalid_fields_are_poison_naming_the_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(PoisonMessage) as refused:
        read_message(sqs_record(message))

    reason = str(refused.value)
    kind = message.get("detail-type", "GenerationRequested")
    assert reason.startswith(f"not a valid {kind}: ")
    assert f"{field}: " in reason


@pytest.mark.parametrize(
    "client_request_id",
    [
        pytest.param("short", id="under 8 characters"),
        pytest.param("x" * 129, id="over 128 characters"),
        pytest.param("cms article 4711", id="a space"),
        pytest.param("cms/article/4711", id="a slash"),
    ],
)
def test_an_invalid_client_request_id_is_poison(client_request_id: str) -> None:
    for message in (
        {**FOX, "client_request_id": client_request_id},
        bus_event("GenerationRequested", {**FOX, "client_request_id": client_request_id}),
        bus_event(
            "ReproductionRequested", {"generation_id": GENERATION_ID, "client_request_id": client_request_id}
        ),
    ):
        with pytest.raises(PoisonMessage, match="client_request_id: "):
            read_message(sqs_record(message))
