"""The generation service: the one path every trigger (HTTP, events, reproduction) calls.

Order matters for "nothing lost": the PENDING records exist before Ideogram is called; each
record carries its image's original URL and expiry before the download starts; the object is
written before the record says STORED. A crash at any point leaves a record the reconciler can
finish (the object key is fixed when the record is created), and never an object without one.
A write that fails leaves the record object as the table has it, so the reply never says more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pynamodb.exceptions import PynamoDBException

from ideogram_assets.config import ConfigurationError, GenerateSettings
from ideogram_assets.generation.duplicates import (
    DEFAULT_DUPLICATE_POLICY,
    MAX_NAMED_DUPLICATES,
    DuplicatePolicy,
)
from ideogram_assets.generation.errors import DuplicateGeneration
from ideogram_assets.generation.origin import Origin
from ideogram_assets.generation.reproduce import reproduction_spec
from ideogram_assets.generation.slots import SlotsBusy
from ideogram_assets.idempotency import Budget, run_once, validated_key
from ideogram_assets.ideogram import (
    GenerationResult,
    IdeogramAuthError,
    IdeogramError,
    IdeogramNoImages,
    IdeogramProtocolError,
    IdeogramUnavailable,
)
from ideogram_assets.ideogram.image_urls import url_expiry
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.observability import log_keys, logger, metrics
from ideogram_assets.prompt_hash import prompt_hash
from ideogram_assets.records import lifecycle
from ideogram_assets.records.errors import GenerationNotFound
from ideogram_assets.records.lifecycle import Transition
from ideogram_assets.records.model import GenerationRecord, utc_now
from ideogram_assets.records.status import Status
from ideogram_assets.storage import DownloadRejected, StorageError, StoredObject

if TYPE_CHECKING:
    from ideogram_assets.generation.images import ImageStore
    from ideogram_assets.generation.slots import ImageSlots
    from ideogram_assets.generation.spec import GenerationSpec
    from ideogram_assets.ideogram import GenerateParams, IdeogramClient
    from ideogram_assets.pricing import PriceTable
    from ideogram_assets.records.repository import RecordStore

# The Ideogram call must leave this much of the invocation for downloading and storing.
PERSIST_RESERVE_SECONDS = 8.0
# Kept back at the very end so the reply still fits in the invocation.
REPLY_MARGIN_SECONDS = 1.0
# Downloads must end this long before that, leaving time for the last part, the multipart
# completion and the record writes.
RECORD_TAIL_SECONDS = 3.0


class IdeogramAccess(Protocol):
    """An Ideogram client for the current key; `refreshed` re-reads a key that may have rotated."""

    def client(self, *, refreshed: bool = False) -> IdeogramClient: ...

    @property
    def can_refresh(self) -> bool: ...


@dataclass(frozen=True)
class Outcome:
    """Every record of one request, as the table holds them."""

    request_id: str
    records: tuple[GenerationRecord, ...]
    reused: bool = False  # on_duplicate=reuse found these stored: nothing was generated

    @property
    def complete(self) -> bool:
        """False while some image is PENDING or FAILED (reconciliation finishes it)."""
        return all(record.status in (Status.STORED, Status.UNSAFE) for record in self.records)

    def to_json(self) -> dict[str, Any]:
        """For the idempotency store: the records in the table's own JSON form (sets included)."""
        records = [record.serialize() for record in self.records]
        return {"request_id": self.request_id, "records": records, "reused": self.reused}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        records = tuple(GenerationRecord.from_raw_data(item) for item in data["records"])
        return cls(request_id=data["request_id"], records=records, reused=bool(data.get("reused")))


def count_failure(kind: str) -> None:
    """Failures by kind: one metric, a dimension per kind (ideogram_unavailable, truncated, s3, ...)."""
    with single_metric(name="Failures", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="kind", value=kind)


@dataclass
class _Run:
    """One request's state while it runs."""

    spec: GenerationSpec
    request_id: str
    created: datetime
    prompt_hash: str
    origin: Origin
    deadline: float  # time.monotonic() by which the reply must be ready
    records: list[GenerationRecord] = field(default_factory=list)
    # Transitions the table did not take yet, written with the record's next change.
    unsaved: dict[str, Transition] = field(default_factory=dict)
    # Records Ideogram added (more images than asked) that the table does not hold yet.
    not_created: set[str] = field(default_factory=set)


class GenerationService:
    """Generates with Ideogram and stores every image with its record. One per execution environment."""

    def __init__(
        self,
        *,
        settings: GenerateSettings,
        ideogram: IdeogramAccess,
        records: RecordStore,
        images: ImageStore,
        prices: PriceTable,
        slots: ImageSlots | None = None,
        now: Callable[[], datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        # None: each call takes its chance with Ideogram's limit (a 429 is backed off and retried).
        self._slots = slots
        self._ideogram = ideogram
        self._records = records
        self._images = images
        self._prices = prices
        self._now = now
        self._clock = clock

    def counters_held(self) -> AbstractContextManager[None]:
        """The counters of every generation run inside the block are written once, at its end."""
        return self._records.counters_held()

    def generate(
        self,
        spec: GenerationSpec,
        *,
        budget: Budget,
        origin: Origin | None = None,
        idempotency_key: str | None = None,
        on_duplicate: DuplicatePolicy = DEFAULT_DUPLICATE_POLICY,
    ) -> Outcome:
        """Every image of `spec`, stored with its record. With an idempotency key, a repeated call
        (from any trigger) returns the first call's outcome and never calls Ideogram again."""
        origin = origin or Origin()
        if idempotency_key is None:
            return self._generate(spec, budget, origin, on_duplicate)
        reply = run_once(
            validated_key(idempotency_key),
            {**spec.model_dump(mode="json"), "on_duplicate": on_duplicate},
            lambda: self._generate(spec, budget, origin, on_duplicate).to_json(),
            table_name=self._settings.table_name,
            budget=budget,
        )
        return Outcome.from_json(reply)

    def reproduce(
        self,
        generation_id: str,
        *,
        budget: Budget,
        correlation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:
        """The record's image again, from its seed and everything else that shaped it."""
        parent = self._records.get(generation_id)
        if parent is None:
            raise GenerationNotFound(f"generation {generation_id} was not found")
        origin = Origin(
            source="reproduce",
            correlation_id=correlation_id,
            parent_id=parent.id,
            parent_sha256=parent.sha256,
        )
        spec = reproduction_spec(parent)
        return self.generate(spec, budget=budget, origin=origin, idempotency_key=idempotency_key)

    def _generate(
        self, spec: GenerationSpec, budget: Budget, origin: Origin, on_duplicate: DuplicatePolicy
    ) -> Outcome:
        started = self._clock()
        params = generate_params(spec)  # what the model cannot take is refused before any write
        digest = prompt_hash(params)
        if on_duplicate != "generate":
            reused = self._stored_duplicates(digest, on_duplicate)
            if reused is not None:
                return reused
        run = _Run(
            spec=spec,
            request_id=uuid.uuid4().hex,
            created=self._now(),
            prompt_hash=digest,
            origin=origin,
            deadline=started + budget.get_remaining_time_in_millis() / 1000 - REPLY_MARGIN_SECONDS,
        )
        # The key is read before any write: a missing or unreadable one leaves nothing behind.
        client = self._ideogram.client()
        run.records = [self._pending(run, index) for index in range(spec.num_images)]
        self._records.create(run.records)

        with log_keys(request_id=run.request_id):
            self._run(run, client, params)
        logger.info(
            "generation persisted",
            request_id=run.request_id,
            images=len(run.records),
            statuses=[str(record.status) for record in run.records],
            duration_ms=round((self._clock() - started) * 1000),
        )
        return Outcome(request_id=run.request_id, records=tuple(run.records))

    def _run(self, run: _Run, client: IdeogramClient, params: GenerateParams) -> None:
        try:
            result = self._call_ideogram(run, client, params)
            metrics.add_metric(name="IdeogramLatency", unit=MetricUnit.Milliseconds, value=result.latency_ms)
            urls = self._record_answer(run, result)
            self._persist_all(run, urls, run.deadline - RECORD_TAIL_SECONDS)
            self._flush_unsaved(run)
        finally:
            self._records.flush_counters()

    def _stored_duplicates(self, digest: str, on_duplicate: DuplicatePolicy) -> Outcome | None:
        """`reuse`: the newest stored request of this prompt hash; `reject`: refuses, naming the
        stored images. None: nothing is stored yet, so generate."""
        existing = self._records.stored_with_prompt_hash(digest, MAX_NAMED_DUPLICATES)
        if not existing:
            return None
        if on_duplicate == "reject":
            metrics.add_metric(name="DuplicatesRejected", unit=MetricUnit.Count, value=1)
            raise DuplicateGeneration([record.id for record in existing])
        newest = existing[0].request_id
        same_request = sorted(
            (record for record in existing if record.request_id == newest),
            key=lambda record: record.index_in_request,
        )
        metrics.add_metric(name="DuplicatesReused", unit=MetricUnit.Count, value=1)
        return Outcome(request_id=newest, records=tuple(same_request), reused=True)

    def _pending(self, run: _Run, index: int) -> GenerationRecord:
        return lifecycle.pending(
            run.spec,
            request_id=run.request_id,
            index=index,
            created=run.created,
            prompt_hash=run.prompt_hash,
            bucket=self._settings.bucket_name,
            retention_class=self._settings.default_retention_class,
            origin=run.origin,
        )

    def _call_ideogram(self, run: _Run, client: IdeogramClient, params: GenerateParams) -> GenerationResult:
        deadline = run.deadline - PERSIST_RESERVE_SECONDS
        try:
            with self._ideogram_slots(run, deadline):
                result = self._generate_with(client, params, deadline)
            if not result.data:
                raise IdeogramNoImages(attempts=result.attempts)
            return result
        except IdeogramError as error:
            count_failure(error.kind)
            self._close_unanswered(run, error)
            raise

    @contextmanager
    def _ideogram_slots(self, run: _Run, deadline: float) -> Iterator[None]:
        if self._slots is None:
            yield
            return
        try:
            with self._slots.hold(run.spec.num_images, deadline=deadline):
                yield
        except SlotsBusy:
            # Nothing was sent: not billed, so the records go and the request may be tried again.
            raise IdeogramUnavailable(retry_after_seconds=1, reason="slots_busy") from None

    def _generate_with(
        self, client: IdeogramClient, params: GenerateParams, deadline: float
    ) -> GenerationResult:
        try:
            return client.generate(params, deadline=deadline)
        except IdeogramAuthError as refused:
            if not self._ideogram.can_refresh:
                raise
            # A rotated secret: the cached key is stale. A refused call is not billed.
            logger.info("Ideogram refused the key; reading it again")
            try:
                client = self._ideogram.client(refreshed=True)
            except ConfigurationError:
                raise refused from None
            return client.generate(params, deadline=deadline)

    def _close_unanswered(self, run: _Run, error: IdeogramError) -> None:
        """Ideogram gave no usable answer. If it may still have generated (and billed) the images,
        the records stay, FAILED with the reason, as the trace of that cost; otherwise they go."""
        maybe_billed = isinstance(error, IdeogramProtocolError) or (
            isinstance(error, IdeogramUnavailable) and error.timed_out
        )
        try:
            if not maybe_billed:
                self._records.delete(run.records)
                return
            now = self._now()
            failures = [
                (record, lifecycle.failed(record, f"ideogram_{error.kind}", error.message, now))
                for record in run.records
            ]
            self._records.commit(failures)
        except PynamoDBException:
            logger.warning("could not close the PENDING records; the reconciler will")

    def _record_answer(self, run: _Run, result: GenerationResult) -> dict[str, tuple[str, int]]:
        """Ideogram's answer on the records, in one transaction; returns each storable image's
        (URL, seed) by record id. Ideogram decides how many images it returns: the records follow."""
        count = len(result.data)
        surplus = run.records[count:]
        kept = run.records[:count]
        added = [self._pending(run, index) for index in range(len(kept), count)]
        run.records = kept + added
        added_ids = {record.id for record in added}
        now = self._now()
        price = self._prices.per_image(run.spec.model.value, run.spec.rendering_speed.value)
        cost = float(price) if price is not None else None
        # Every image Ideogram returned is billed, unsafe ones too, whatever the table took.
        metrics.add_metric(name="EstimatedCostUsd", unit=MetricUnit.NoUnit, value=(cost or 0.0) * count)
        changes: list[tuple[GenerationRecord, Transition]] = []
        urls: dict[str, tuple[str, int]] = {}
        for record, image in zip(run.records, result.data, strict=True):
            expires = url_expiry(image.url, run.created) if image.url else run.created
            transition = lifecycle.answered(record, image, url_expires_at=expires, cost_usd=cost, now=now)
            if transition.after is Status.PENDING and image.url:
                urls[record.id] = (image.url, image.seed)
            if record.id in added_ids:
                lifecycle.apply(record, transition)  # written whole, as a new item
            else:
                changes.append((record, transition))
        try:
            self._records.commit(changes, added=added, removed=surplus)
        except PynamoDBException as error:
            # The images are paid for: store them anyway, under the keys the records name; the
            # answer is written with each record's next change.
            logger.error("could not record Ideogram's result", error=type(error).__name__)
            count_failure("dynamodb")
            run.unsaved.update({record.id: transition for record, transition in changes})
            run.not_created.update(record.id for record in added)
        return urls

    def _persist_all(self, run: _Run, urls: dict[str, tuple[str, int]], deadline: float) -> None:
        """Downloads and stores every image concurrently; each record ends STORED, FAILED or PENDING."""
        to_store = [record for record in run.records if record.id in urls]
        if not to_store:
            return
        with ThreadPoolExecutor(max_workers=len(to_store), thread_name_prefix="persist") as pool:
            # Each in a copy of this context: its log lines keep the request's keys.
            futures = {
                pool.submit(
                    copy_context().run, partial(self._images.persist, record, *urls[record.id], deadline)
                ): record
                for record in to_store
            }
            # Each record is written as soon as its image is done, not behind a slower one.
            for future in as_completed(futures):
                record = futures[future]
                self._save(run, record, self._outcome_of(record, future, urls[record.id][0]))

    def _outcome_of(self, record: GenerationRecord, future: Future[StoredObject], url: str) -> Transition:
        now = self._now()
        result = future.exception() or future.result()
        if isinstance(result, (DownloadRejected, StorageError)):
            logger.warning("image not stored", generation_id=record.id, kind=result.kind, error=str(result))
            count_failure(result.kind)
            return lifecycle.failed(record, result.kind, str(result), now, url=url)
        if isinstance(result, BaseException):
            # A bug must not cost the other images: record it, the reconciler retries.
            logger.error("image not stored: unexpected error", generation_id=record.id, exc_info=result)
            count_failure("internal")
            return lifecycle.failed(
                record, "internal", "unexpected error while storing the image", now, url=url
            )
        metrics.add_metric(name="ImagesPersisted", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="BytesPersisted", unit=MetricUnit.Bytes, value=result.size_bytes)
        return lifecycle.stored(record, result, now, self._settings.retention)

    def _save(self, run: _Run, record: GenerationRecord, transition: Transition | None) -> None:
        """Writes `transition` with any change the table did not take before it."""
        carried = run.unsaved.pop(record.id, None)
        change = carried.then(transition) if carried and transition else (carried or transition)
        if change is None:
            return
        try:
            if record.id in run.not_created:
                self._records.create_in_state(record, change)
                run.not_created.discard(record.id)
            else:
                self._records.update(record, change)
        except PynamoDBException as error:
            # The object (if any) is in S3 under the record's key and the table still says
            # PENDING: the reconciler completes it. The record object says so too.
            logger.error("record update failed", generation_id=record.id, error=type(error).__name__)
            count_failure("dynamodb")

    def _flush_unsaved(self, run: _Run) -> None:
        """One more try for answers the table did not take (unsafe images: nothing to store)."""
        for record in run.records:
            if record.id in run.unsaved:
                self._save(run, record, None)
