"""Ingest: one queue message, one generation, by the same service as POST /generations.

Every message ends one of three ways:
- done: the generation ran (its images stored, or left to the reconciler), a replay returned the
  first result, or the duplicate policy answered; the message is deleted;
- retried: something that may pass failed (Ideogram still busy after its backoff, storage down,
  the same request running elsewhere); the message comes back after a backoff (its visibility is
  shortened to 1, 2, 4 ... seconds), and goes to the dead-letter queue after its last receive;
- refused: the message can never succeed (unreadable, an unknown generation, Ideogram refuses the
  input), or must not be tried again (Ideogram may have billed it without an answer we could
  read: a retry could pay twice); it comes back at once, so it reaches the dead-letter queue
  quickly, where a person can look at it.
A batch item hears of each end (batches.progress), its last failure included.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from ideogram_assets.events.requests import GenerationRequested
from ideogram_assets.generation.errors import CannotReproduce, DuplicateGeneration
from ideogram_assets.generation.origin import Origin
from ideogram_assets.idempotency import Budget, IdempotencyKeyReused, InvalidIdempotencyKey
from ideogram_assets.ideogram import (
    IdeogramProtocolError,
    IdeogramRejected,
    IdeogramRequestError,
    IdeogramUnavailable,
)
from ideogram_assets.ingest.messages import PoisonMessage, Work, batch_of, read_message
from ideogram_assets.observability import log_keys, logger, metrics
from ideogram_assets.records.errors import GenerationNotFound

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from ideogram_assets.generation.service import GenerationService, Outcome
    from ideogram_assets.generation.slots import ImageSlots

# Errors retrying cannot cure.
REFUSALS = (
    PoisonMessage,
    CannotReproduce,
    GenerationNotFound,
    IdeogramRejected,
    IdeogramRequestError,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)
MAX_BACKOFF_SECONDS = 300
# A message is not started with less of the invocation left: it goes back to the queue at once.
START_MARGIN_SECONDS = 30.0


class BatchReporter(Protocol):
    def item_done(
        self, batch_id: str, item_id: str, *, generation_ids: list[str], statuses: list[str]
    ) -> bool: ...

    def item_failed(self, batch_id: str, item_id: str, *, reason: str, final: bool) -> bool: ...


class MessageFailed(Exception):
    """The message goes back to the queue (Powertools reports it in batchItemFailures)."""


class NotStarted(MessageFailed):
    """Too little of the invocation was left to start it."""


@dataclass(frozen=True)
class IngestQueue:
    client: SQSClient
    url: str
    max_receives: int


def maybe_billed(error: Exception) -> bool:
    """Ideogram may have generated (and billed) the images though no answer could be read: trying
    again could pay twice. The records stay FAILED as the trace of that cost; the message goes to
    the dead-letter queue for a person to decide."""
    return isinstance(error, IdeogramProtocolError) or (
        isinstance(error, IdeogramUnavailable) and error.timed_out
    )


def backoff_seconds(receive_count: int, jitter: Callable[[], float] = random.random) -> int:
    """1, 2, 4, ... seconds (with up to a second of jitter), at most 5 minutes."""
    delay: int = 2 ** max(receive_count - 1, 0) + round(jitter())
    return min(MAX_BACKOFF_SECONDS, delay)


class Ingest:
    def __init__(
        self,
        *,
        generation: GenerationService,
        queue: IngestQueue,
        batches: BatchReporter,
        slots: ImageSlots | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._generation = generation
        self._slots = slots
        self._queue = queue
        self._batches = batches
        self._jitter = jitter

    def batch(self) -> AbstractContextManager[None]:
        """A batch's messages, processed inside this block (at once, on threads), add to the
        counters once, at its end."""
        return self._generation.counters_held()

    def process(self, record: dict[str, Any], budget: Budget) -> None:
        """Runs one SQS record's request; raises MessageFailed to send it back to the queue.
        Thread-safe: the messages of a batch run at once."""
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        if budget.get_remaining_time_in_millis() / 1000 < START_MARGIN_SECONDS:
            self._come_back(record, 0)
            raise NotStarted("too little time left in this invocation; the message comes back now")
        try:
            work = read_message(record)
        except REFUSALS as refused:
            self._failed(record, refused, receives, permanent=True)
        except Exception as error:  # any other failure may pass: try again later
            self._failed(record, error, receives, permanent=False)
        preparing = self._slots.preparing() if self._slots else nullcontext()
        with log_keys(correlation_id=work.correlation_id, batch_id=work.batch_id), preparing:
            self._process(record, work, budget, receives)

    def _process(self, record: dict[str, Any], work: Work, budget: Budget, receives: int) -> None:
        try:
            outcome = self._run(work, budget)
        except DuplicateGeneration as refused:
            self._answered_by_policy(work, refused)
            return
        except REFUSALS as refused:
            self._failed(record, refused, receives, permanent=True)
        except Exception as error:  # any other failure may pass: try again later
            self._failed(record, error, receives, permanent=maybe_billed(error))
        try:
            self._done(work, outcome)
        except Exception as error:  # the batch store: the replay of this key records it next time
            self._failed(record, error, receives, permanent=False)

    def _run(self, work: Work, budget: Budget) -> Outcome:
        request = work.request
        if isinstance(request, GenerationRequested):
            origin = Origin(source=work.source, correlation_id=work.correlation_id, batch_id=work.batch_id)
            return self._generation.generate(
                request.spec(),
                budget=budget,
                origin=origin,
                idempotency_key=work.idempotency_key,
                on_duplicate=request.on_duplicate,
            )
        return self._generation.reproduce(
            request.generation_id,
            budget=budget,
            correlation_id=work.correlation_id,
            idempotency_key=work.idempotency_key,
        )

    def _done(self, work: Work, outcome: Outcome) -> None:
        metrics.add_metric(name="IngestedRequests", unit=MetricUnit.Count, value=1)
        logger.info(
            "request ingested",
            request_id=outcome.request_id,
            reused=outcome.reused,
            images=len(outcome.records),
        )
        if work.batch_id and work.batch_item:
            self._batches.item_done(
                work.batch_id,
                work.batch_item,
                generation_ids=[record.id for record in outcome.records],
                statuses=[str(record.status) for record in outcome.records],
            )

    def _answered_by_policy(self, work: Work, refused: DuplicateGeneration) -> None:
        """on_duplicate=reject: the answer is the refusal itself; nothing to try again."""
        logger.info("duplicate request rejected", existing=refused.existing)
        metrics.add_metric(name="IngestedRequests", unit=MetricUnit.Count, value=1)
        if work.batch_id and work.batch_item:
            reason = f"duplicate of {', '.join(refused.existing)}"
            self._batches.item_failed(work.batch_id, work.batch_item, reason=reason, final=True)

    def _failed(
        self, record: dict[str, Any], error: Exception, receives: int, *, permanent: bool
    ) -> NoReturn:
        reason = f"{type(error).__name__}: {error}"
        last = permanent or receives >= self._queue.max_receives
        log = logger.error if last else logger.warning
        log("request not ingested", reason=reason, receives=receives, permanent=permanent, last_try=last)
        metrics.add_metric(name="IngestFailures", unit=MetricUnit.Count, value=1)
        self._come_back(record, 0 if permanent else backoff_seconds(receives, self._jitter))
        # From the message itself: an unreadable body still names its batch item.
        batch_id, batch_item = batch_of(record)
        if batch_id and batch_item:
            try:
                self._batches.item_failed(batch_id, batch_item, reason=reason, final=last)
            except Exception as unrecorded:  # the message comes back anyway; its next end is recorded
                logger.warning("batch item's failure not recorded", error=type(unrecorded).__name__)
        raise MessageFailed(reason) from error

    def _come_back(self, record: dict[str, Any], seconds: int) -> None:
        """Shortens the message's visibility: it is received again after `seconds`."""
        try:
            self._queue.client.change_message_visibility(
                QueueUrl=self._queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=seconds
            )
        except Exception as error:  # it then comes back after the queue's own timeout
            logger.warning("visibility not changed", error=type(error).__name__)
