"""How the ingest ends each queue message: done (deleted), answered by the duplicate policy,
refused (back at once, towards the dead-letter queue), retried after a backoff, or not started
for lack of time; what a batch item hears of each end. Fakes stand in for the generation
service, SQS and the batch's progress."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from ideogram_assets.events.requests import GenerationRequested
from ideogram_assets.generation.errors import CannotReproduce, DuplicateGeneration
from ideogram_assets.generation.origin import Origin
from ideogram_assets.generation.service import Outcome
from ideogram_assets.idempotency import IdempotencyInProgress, IdempotencyKeyReused, InvalidIdempotencyKey
from ideogram_assets.ideogram import IdeogramRejected, IdeogramRequestError, IdeogramUnavailable
from ideogram_assets.ingest.service import (
    MAX_BACKOFF_SECONDS,
    START_MARGIN_SECONDS,
    Ingest,
    IngestQueue,
    MessageFailed,
    NotStarted,
    backoff_seconds,
)
from ideogram_assets.observability import logger, metrics
from ideogram_assets.records.errors import GenerationNotFound
from ideogram_assets.records.status import Status
from tests.unit.search_records import record

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from ideogram_assets.generation.service import GenerationService
    from ideogram_assets.generation.spec import GenerationSpec
    from ideogram_assets.idempotency import Budget

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ideogram-assets-GenerationRequestsQueue"
MAX_RECEIVES = 3
MESSAGE_ID = "1f0e3dad-9990-4a3b-8d11-7b4c6e2a5f08"
RECEIPT = "AQEB1f0e3dad99904a3b8d117b4c6e2a5f08exampleReceiptHandle"
EVENT_ID = "7b2e4c1a-93f0-4d8e-b5a6-0c1d2e3f4a5b"
BATCH_ID = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
GENERATION_ID = "4a3a778ee1ae4e81a7bd9fc35963fb9e"
FOX = {"prompt": "a red fox logo", "seed": 7, "tags": ["brand"]}
PLENTY_MS = 900_000


# -- fakes --------------------------------------------------------------------------------------------


@dataclass
class FakeGeneration:
    """Records what the ingest asks of the generation service; answers `outcome` or raises `error`."""

    outcome: Outcome
    error: Exception | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def generate(
        self,
        spec: GenerationSpec,
        *,
        budget: Budget,
        origin: Origin | None = None,
        idempotency_key: str | None = None,
        on_duplicate: str = "generate",
    ) -> Outcome:
        self.calls.append(
            (
                "generate",
                {
                    "spec": spec,
                    "budget": budget,
                    "origin": origin,
                    "idempotency_key": idempotency_key,
                    "on_duplicate": on_duplicate,
                },
            )
        )
        return self._answer()

    def reproduce(
        self,
        generation_id: str,
        *,
        budget: Budget,
        correlation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:
        self.calls.append(
            (
                "reproduce",
                {
                    "generation_id": generation_id,
                    "budget": budget,
                    "correlation_id": correlation_id,
                    "idempotency_key": idempotency_key,
                },
            )
        )
        return self._answer()

    def _answer(self) -> Outcome:
        if self.error is not None:
            raise self.error
        return self.outcome


@dataclass
class FakeSqs:
    error: Exception | None = None
    visibility_changes: list[dict[str, Any]] = field(default_factory=list)

    def change_message_visibility(self, **call: Any) -> dict[str, Any]:
        self.visibility_changes.append(call)
        if self.error is not None:
            raise self.error
        return {}


@dataclass
class FakeBatches:
    done: list[tuple[str, str, list[str], list[str]]] = field(default_factory=list)
    failed: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def item_done(
        self, batch_id: str, item_id: str, *, generation_ids: list[str], statuses: list[str]
    ) -> bool:
        self.done.append((batch_id, item_id, generation_ids, statuses))
        return True

    def item_failed(self, batch_id: str, item_id: str, *, reason: str, final: bool) -> bool:
        self.failed.append((batch_id, item_id, reason, final))
        return True


@dataclass(frozen=True)
class FakeBudget:
    remaining_ms: int = PLENTY_MS

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class World:
    ingest: Ingest
    generation: FakeGeneration
    sqs: FakeSqs
    batches: FakeBatches


def outcome() -> Outcome:
    return Outcome(
        request_id="020d0ea6edf145cca83f3e11f3aed820",
        records=(
            record("a" * 32, request_id="020d0ea6edf145cca83f3e11f3aed820", index_in_request=0),
            record(
                "b" * 32,
                request_id="020d0ea6edf145cca83f3e11f3aed820",
                index_in_request=1,
                status=Status.FAILED.value,
            ),
        ),
    )


def world(*, error: Exception | None = None, visibility_error: Exception | None = None) -> World:
    generation = FakeGeneration(outcome(), error)
    sqs = FakeSqs(visibility_error)
    batches = FakeBatches()
    ingest = Ingest(
        generation=cast("GenerationService", generation),
        queue=IngestQueue(cast("SQSClient", sqs), QUEUE_URL, MAX_RECEIVES),
        batches=batches,
        jitter=lambda: 0.0,
    )
    return World(ingest, generation, sqs, batches)


def message(body: Any, *, receives: int = 1, batch_item: str | None = None) -> dict[str, Any]:
    attributes = {} if batch_item is None else {"batchId": BATCH_ID, "batchItem": batch_item}
    return {
        "messageId": MESSAGE_ID,
        "receiptHandle": RECEIPT,
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receives)},
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String"} for name, value in attributes.items()
        },
    }


def bus_event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": EVENT_ID, "detail-type": detail_type, "source": "cms", "detail": detail}


def batch_item(item_id: str = "fox", *, receives: int = 1) -> dict[str, Any]:
    body = {**FOX, "client_request_id": f"batch-{BATCH_ID}-{item_id}"}
    return message(body, receives=receives, batch_item=item_id)


def visibility(seconds: int) -> dict[str, Any]:
    return {"QueueUrl": QUEUE_URL, "ReceiptHandle": RECEIPT, "VisibilityTimeout": seconds}


@pytest.fixture(autouse=True)
def _no_metrics_or_log_keys_left() -> Iterator[None]:
    """The logger and metrics are the process's own: each test starts and ends without the keys
    and metrics a message adds."""
    logger.remove_keys(["correlation_id", "batch_id"])
    yield
    logger.remove_keys(["correlation_id", "batch_id"])
    metrics.clear_metrics()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the Powertools logger writes (JSON lines), captured from its own handler."""
    handler = cast("logging.StreamHandler[Any]", logger.registered_handler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# -- done -----------------------------------------------------------------------------------------------


def test_an_event_is_generated_with_its_origin_key_and_policy_and_the_message_is_left_alone() -> None:
    run = world()
    budget = FakeBudget()
    detail = {**FOX, "on_duplicate": "reuse", "client_request_id": "cms-article-4711-hero"}

    run.ingest.process(message(bus_event("GenerationRequested", detail)), budget)  # no raise: deleted

    [(operation, call)] = run.generation.calls
    assert operation == "generate"
    assert call["spec"] == GenerationRequested.model_validate(FOX).spec()
    assert call["budget"] is budget
    assert call["origin"] == Origin(source="event", correlation_id=EVENT_ID)
    assert call["idempotency_key"] == "cms-article-4711-hero"
    assert call["on_duplicate"] == "reuse"
    assert run.sqs.visibility_changes == []
    assert (run.batches.done, run.batches.failed) == ([], [])


def test_a_reproduction_is_asked_of_the_same_service() -> None:
    run = world()
    budget = FakeBudget()

    run.ingest.process(message(bus_event("ReproductionRequested", {"generation_id": GENERATION_ID})), budget)

    assert run.generation.calls == [
        (
            "reproduce",
            {
                "generation_id": GENERATION_ID,
                "budget": budget,
                "correlation_id": EVENT_ID,
                "idempotency_key": f"event-{EVENT_ID}",
            },
        )
    ]
    assert run.sqs.visibility_changes == []


def test_a_batch_item_hears_its_generation_ids_and_statuses() -> None:
    run = world()

    run.ingest.process(batch_item("fox"), FakeBudget())

    [(_, call)] = run.generation.calls
    assert call["origin"] == Origin(source="batch", correlation_id=BATCH_ID, batch_id=BATCH_ID)
    assert call["idempotency_key"] == f"batch-{BATCH_ID}-fox"
    assert run.batches.done == [(BATCH_ID, "fox", ["a" * 32, "b" * 32], ["STORED", "FAILED"])]
    assert run.batches.failed == []
    assert run.sqs.visibility_changes == []


# -- answered by the duplicate policy ---------------------------------------------------------------


def test_a_rejected_duplicate_is_an_answer_not_a_failure() -> None:
    run = world(error=DuplicateGeneration(["c" * 32, "d" * 32]))

    run.ingest.process(batch_item("fox"), FakeBudget())

    assert run.batches.failed == [(BATCH_ID, "fox", f"duplicate of {'c' * 32}, {'d' * 32}", True)]
    assert run.batches.done == []
    assert run.sqs.visibility_changes == []


def test_a_rejected_duplicate_outside_a_batch_is_simply_done() -> None:
    run = world(error=DuplicateGeneration(["c" * 32]))

    run.ingest.process(message({**FOX, "on_duplicate": "reject"}), FakeBudget())

    assert run.generation.calls[0][1]["on_duplicate"] == "reject"
    assert (run.batches.done, run.batches.failed, run.sqs.visibility_changes) == ([], [], [])


# -- refused: back at once, towards the dead-letter queue -------------------------------------------

REFUSALS = [
    pytest.param(CannotReproduce("generation x has no seed"), id="CannotReproduce"),
    pytest.param(GenerationNotFound("generation x was not found"), id="GenerationNotFound"),
    pytest.param(IdeogramRejected("prompt failed the safety check", status=422), id="IdeogramRejected"),
    pytest.param(IdeogramRequestError(["style_type RENDER_3D is not available for V_3"]), id="request"),
    pytest.param(IdempotencyKeyReused("another body used this key"), id="IdempotencyKeyReused"),
    pytest.param(InvalidIdempotencyKey("not a key"), id="InvalidIdempotencyKey"),
]


@pytest.mark.parametrize("error", REFUSALS)
def test_a_refusal_comes_back_at_once_and_is_final_for_its_batch_item(error: Exception) -> None:
    run = world(error=error)

    with pytest.raises(MessageFailed) as failed:
        run.ingest.process(batch_item("fox", receives=1), FakeBudget())

    reason = f"{type(error).__name__}: {error}"
    assert str(failed.value) == reason
    assert failed.value.__cause__ is error
    assert run.sqs.visibility_changes == [visibility(0)]
    assert run.batches.failed == [(BATCH_ID, "fox", reason, True)]
    assert run.batches.done == []


def test_a_poison_message_comes_back_at_once_without_generating() -> None:
    run = world()

    with pytest.raises(MessageFailed, match=r"^PoisonMessage: the body is not a JSON object$"):
        run.ingest.process(message("[1, 2]"), FakeBudget())

    assert run.generation.calls == []
    assert run.sqs.visibility_changes == [visibility(0)]


def test_a_poison_batch_item_is_reported_failed_to_its_batch() -> None:
    run = world()

    with pytest.raises(MessageFailed):
        run.ingest.process(message({"prompt": ""}, batch_item="fox"), FakeBudget())

    assert [(batch, item, final) for batch, item, _, final in run.batches.failed] == [(BATCH_ID, "fox", True)]


# -- retried after a backoff --------------------------------------------------------------------------

TRANSIENT = [
    pytest.param(IdeogramUnavailable(retry_after_seconds=5, reason="rate_limited"), id="IdeogramUnavailable"),
    pytest.param(IdempotencyInProgress("the same request is running"), id="IdempotencyInProgress"),
    pytest.param(
        ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem"
        ),
        id="ClientError",
    ),
    pytest.param(RuntimeError("anything else"), id="unexpected"),
]


@pytest.mark.parametrize("error", TRANSIENT)
@pytest.mark.parametrize(("receives", "final"), [(1, False), (2, False), (3, True), (4, True)])
def test_a_transient_failure_comes_back_after_a_backoff(error: Exception, receives: int, final: bool) -> None:
    run = world(error=error)

    with pytest.raises(MessageFailed) as failed:
        run.ingest.process(batch_item("fox", receives=receives), FakeBudget())

    reason = f"{type(error).__name__}: {error}"
    assert str(failed.value) == reason
    assert failed.value.__cause__ is error
    assert run.sqs.visibility_changes == [visibility(backoff_seconds(receives, lambda: 0.0))]
    assert run.batches.failed == [(BATCH_ID, "fox", reason, final)]


def test_the_backoff_uses_the_ingest_jitter() -> None:
    run = world(error=IdempotencyInProgress("running"))
    run.ingest = Ingest(
        generation=cast("GenerationService", run.generation),
        queue=IngestQueue(cast("SQSClient", run.sqs), QUEUE_URL, MAX_RECEIVES),
        batches=run.batches,
        jitter=lambda: 0.9,
    )

    with pytest.raises(MessageFailed):
        run.ingest.process(message(FOX, receives=3), FakeBudget())

    assert run.sqs.visibility_changes == [visibility(5)]


def test_a_record_without_a_receive_count_counts_as_its_first_receive() -> None:
    run = world(error=IdempotencyInProgress("running"))
    record = message(FOX)
    del record["attributes"]

    with pytest.raises(MessageFailed):
        run.ingest.process(record, FakeBudget())

    assert run.sqs.visibility_changes == [visibility(1)]


# -- not started ----------------------------------------------------------------------------------------


def test_too_little_time_left_sends_the_message_back_at_once_untouched() -> None:
    run = world()
    short = FakeBudget(int(START_MARGIN_SECONDS * 1000) - 1)

    with pytest.raises(NotStarted):
        run.ingest.process(batch_item("fox"), short)

    assert run.generation.calls == []
    assert run.sqs.visibility_changes == [visibility(0)]
    assert (run.batches.done, run.batches.failed) == ([], [])


def test_exactly_the_margin_left_is_enough_to_start() -> None:
    run = world()

    run.ingest.process(message(FOX), FakeBudget(int(START_MARGIN_SECONDS * 1000)))

    assert len(run.generation.calls) == 1


def test_not_started_is_a_message_failure() -> None:
    assert issubclass(NotStarted, MessageFailed)


# -- the visibility change fails ----------------------------------------------------------------------

SQS_DOWN = ClientError(
    {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "ChangeMessageVisibility"
)


def test_a_failed_visibility_change_still_sends_the_message_back_and_is_logged(
    log_output: io.StringIO,
) -> None:
    run = world(
        error=IdeogramUnavailable(retry_after_seconds=5, reason="server_error"), visibility_error=SQS_DOWN
    )

    with pytest.raises(MessageFailed, match="IdeogramUnavailable"):
        run.ingest.process(message(FOX, receives=2), FakeBudget())

    assert run.sqs.visibility_changes == [visibility(2)]
    warnings = [line for line in log_lines(log_output) if line["message"] == "visibility not changed"]
    assert [(line["level"], line["error"]) for line in warnings] == [("WARNING", "ClientError")]


def test_a_failed_visibility_change_when_not_started_still_raises(log_output: io.StringIO) -> None:
    run = world(visibility_error=SQS_DOWN)

    with pytest.raises(NotStarted):
        run.ingest.process(message(FOX), FakeBudget(1000))

    assert run.generation.calls == []
    assert any(line["message"] == "visibility not changed" for line in log_lines(log_output))


def test_a_message_logs_under_its_own_correlation_only(log_output: io.StringIO) -> None:
    run = world()
    run.ingest.process(batch_item("fox"), FakeBudget())

    with pytest.raises(MessageFailed):
        run.ingest.process(message("not json"), FakeBudget())

    [failure] = [line for line in log_lines(log_output) if line["message"] == "request not ingested"]
    assert failure.get("correlation_id") != BATCH_ID
    assert failure.get("batch_id") is None


# -- backoff ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receives", "seconds"),
    [(0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (8, 128), (9, 256), (10, 300), (50, 300)],
)
def test_backoff_doubles_from_one_second_up_to_five_minutes(receives: int, seconds: int) -> None:
    assert backoff_seconds(receives, lambda: 0.0) == seconds


@pytest.mark.parametrize(("jitter", "extra"), [(0.0, 0), (0.4, 0), (0.6, 1), (0.999, 1)])
def test_backoff_jitter_adds_at_most_a_second(jitter: float, extra: int) -> None:
    assert backoff_seconds(4, lambda: jitter) == 8 + extra


def test_backoff_jitter_never_passes_the_cap() -> None:
    assert backoff_seconds(9, lambda: 0.999) == 257
    assert backoff_seconds(10, lambda: 0.999) == MAX_BACKOFF_SECONDS == 300


def test_backoff_uses_random_jitter_by_default() -> None:
    assert {backoff_seconds(3) for _ in range(200)} <= {4, 5}
