"""POST and GET /batches: record a batch, queue its items, and show how far it has got.

The API answers as soon as the items are queued; the ingest generates them (at Ideogram's
pace) and reports each item's end (progress.py). An item that could not be queued is FAILED at
once with the reason, so a batch always ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ideogram_assets.batches.enqueue import OutgoingMessage, QueueSender, message_body
from ideogram_assets.batches.progress import BatchProgress
from ideogram_assets.batches.store import (
    BatchState,
    BatchStore,
    BatchStoreUnavailable,
    ItemState,
    ItemStatus,
    NewItem,
    item_record,
)
from ideogram_assets.observability import logger

# GenerationRequestsQueue's MessageRetentionPeriod in template.yaml (a unit test keeps them
# equal): an item still QUEUED this long after its batch was made has no message left to run it.
QUEUE_RETENTION_SECONDS = 345600
STALE_AFTER = timedelta(seconds=QUEUE_RETENTION_SECONDS) + timedelta(hours=1)
STALE_REASON = "never processed: its message left the queue without a result"
STORE_UNAVAILABLE = "storage is unavailable right now; retry shortly"


class BatchesUnavailable(Exception):
    """The batch could not be recorded or none of its items could be queued (the API's 503)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StartedBatch:
    batch_id: str
    items: int
    created_at: str
    failures: dict[str, str]  # item id → why it was not queued

    @property
    def enqueued(self) -> int:
        return self.items - len(self.failures)


def client_request_id(batch_id: str, item_id: str) -> str:
    """The default idempotency key of a batch item's generation: a redelivery never generates twice."""
    return f"batch-{batch_id}-{item_id}"


def _with_client_request_id(batch_id: str, item: NewItem) -> NewItem:
    if "client_request_id" in item.body:
        return item
    key = client_request_id(batch_id, item.item_id)
    return NewItem(item.item_id, {**item.body, "client_request_id": key})


def seen_at(batch: BatchState, now: datetime) -> BatchState:
    """The batch as callers see it: an item QUEUED longer than any message lives reads FAILED."""
    if now - datetime.fromisoformat(batch.created_at) <= STALE_AFTER:
        return batch
    items = tuple(
        replace(item, status=ItemStatus.FAILED, reason=STALE_REASON)
        if item.status is ItemStatus.QUEUED
        else item
        for item in batch.items
    )
    return replace(batch, items=items)


class BatchRequests:
    def __init__(
        self,
        *,
        store: BatchStore,
        progress: BatchProgress,
        sender: QueueSender,
        now: Callable[[], datetime],
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._store = store
        self._progress = progress
        self._sender = sender
        self._now = now
        self._new_id = new_id

    def start(self, items: Sequence[NewItem], *, seconds_left: Callable[[], float]) -> StartedBatch:
        """Records the batch (every item QUEUED) and sends one message per item.

        Items whose message was not sent are FAILED with the reason. Raises BatchesUnavailable
        when the batch cannot be recorded (nothing is queued) or when no item could be queued.
        """
        batch_id = self._new_id()
        items = [_with_client_request_id(batch_id, item) for item in items]
        now = self._now()
        try:
            created_at, expires_at = self._store.create(batch_id, items, now)
        except BatchStoreUnavailable as error:
            logger.error("batch not recorded", extra={"error": str(error)})
            raise BatchesUnavailable(STORE_UNAVAILABLE) from error
        messages = [OutgoingMessage(item.item_id, message_body(item.body)) for item in items]
        outcome = self._sender.send(batch_id, messages, seconds_left=seconds_left)
        failures = {**outcome.not_sent, **outcome.uncertain}
        self._mark_failed(batch_id, items, outcome.not_sent, outcome.uncertain, expires_at)
        logger.info(
            "batch queued",
            extra={"batch_id": batch_id, "items": len(items), "not_queued": len(failures)},
        )
        if failures and len(failures) == len(items):
            # The batch stays readable, every item FAILED with the reason; a retry is a new batch.
            first = next(iter(failures.values()))
            raise BatchesUnavailable(f"no item of batch {batch_id} could be queued ({first}); retry shortly")
        return StartedBatch(batch_id, len(items), created_at, failures)

    def _mark_failed(
        self,
        batch_id: str,
        items: Sequence[NewItem],
        not_sent: dict[str, str],
        uncertain: dict[str, str],
        expires_at: int,
    ) -> None:
        """Items certainly not sent are written again whole (no message can touch them); items
        whose send is uncertain change only if still QUEUED, so a generation that did happen wins."""
        try:
            if not_sent:
                records = [
                    item_record(batch_id, item, position, expires_at, failed_reason=not_sent[item.item_id])
                    for position, item in enumerate(items, start=1)
                    if item.item_id in not_sent
                ]
                self._store.put_all(records)
            for item_id, reason in uncertain.items():
                self._progress.item_failed(batch_id, item_id, reason=reason, final=True)
        except BatchStoreUnavailable as error:
            # They read FAILED anyway once the batch is older than any message can be.
            logger.error("batch items not marked FAILED", extra={"batch_id": batch_id, "error": str(error)})

    def find(self, batch_id: str) -> BatchState | None:
        """The batch as of now; None when there is none (or it has expired)."""
        try:
            batch = self._store.read(batch_id)
        except BatchStoreUnavailable as error:
            logger.error("batch not read", extra={"error": str(error)})
            raise BatchesUnavailable(STORE_UNAVAILABLE) from error
        now = self._now()
        if batch is None or batch.expired(now):
            return None
        return seen_at(batch, now)


def counts(items: Sequence[ItemState]) -> dict[str, int]:
    tally = dict.fromkeys((status.value for status in ItemStatus), 0)
    for item in items:
        tally[item.status.value] += 1
    return tally
