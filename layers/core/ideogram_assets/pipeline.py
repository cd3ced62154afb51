"""Generate → persist: every image of a generation is stored, with its record, in this invocation.

Order matters for "nothing lost": the PENDING records exist before Ideogram is called; each
record carries its image's original URL and expiry before the download starts; the object is
written before the record says STORED. A crash at any point leaves a record the reconciler can
finish (the object key is fixed when the record is created), and never an object without one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import requests
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from ideogram_assets.api_models import GenerationRequest
from ideogram_assets.config import Settings
from ideogram_assets.ideogram import (
    GeneratedImage,
    GenerationResult,
    IdeogramClient,
    IdeogramError,
    IdeogramProtocolError,
    IdeogramUnavailable,
)
from ideogram_assets.observability import logger, metrics
from ideogram_assets.pricing import PriceTable
from ideogram_assets.prompt_hash import prompt_hash
from ideogram_assets.records import GenerationRecord, iso, record_key, table_connection, utc_now
from ideogram_assets.status import Status
from ideogram_assets.storage import (
    DownloadPolicy,
    DownloadRejected,
    StorageError,
    StoredObject,
    persist_image,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The Ideogram call must leave this much of the invocation for downloading and storing.
PERSIST_RESERVE_SECONDS = 8.0
# Kept back at the very end so the reply still fits in the invocation.
REPLY_MARGIN_SECONDS = 1.0
# Downloads must end this long before that, leaving time for the last part, the multipart
# completion and the record writes.
RECORD_TAIL_SECONDS = 3.0
# Documented lifetime of an Ideogram URL when it does not carry its own expiry (?exp=).
ASSUMED_URL_LIFETIME = timedelta(hours=1)
MAX_URL_LIFETIME = timedelta(days=7)
RETENTION_TAG = "retention-class"


@dataclass(frozen=True)
class GenerationServices:
    """What the pipeline needs, created once per execution environment by the handler."""

    settings: Settings
    ideogram: IdeogramClient
    s3: S3Client
    http: requests.Session
    prices: PriceTable


@dataclass(frozen=True)
class GenerationOutcome:
    request_id: str
    records: list[GenerationRecord]

    @property
    def complete(self) -> bool:
        return all(record.status in (Status.STORED, Status.UNSAFE) for record in self.records)


def object_key(generation_id: str, created: datetime) -> str:
    """Where an image lives; fixed when its record is created, so the reconciler can find it."""
    return f"images/{created:%Y/%m/%d}/{generation_id}.png"


def url_expiry(url: str, created: datetime) -> datetime:
    """The URL's own `exp` (Unix seconds) when it has a plausible one, else the documented lifetime."""
    exp = parse_qs(urlsplit(url).query).get("exp", [""])[0]
    if exp.isascii() and exp.isdigit():
        seconds, now = int(exp), created.timestamp()
        # Anything but "within a week from now" is not a Unix time in seconds (e.g. milliseconds).
        if now - ASSUMED_URL_LIFETIME.total_seconds() <= seconds <= now + MAX_URL_LIFETIME.total_seconds():
            return datetime.fromtimestamp(seconds, tz=created.tzinfo)
    return created + ASSUMED_URL_LIFETIME


def _new_record(
    request: GenerationRequest,
    *,
    request_id: str,
    index: int,
    created: datetime,
    hash_: str,
    settings: Settings,
    source: str,
    parent_id: str | None,
) -> GenerationRecord:
    generation_id = uuid.uuid4().hex
    return GenerationRecord(
        record_key(generation_id),
        id=generation_id,
        request_id=request_id,
        index_in_request=index,
        status=Status.PENDING,
        open_status=Status.PENDING,
        source=source,
        parent_id=parent_id,
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        model=request.model.value,
        rendering_speed=request.rendering_speed.value,
        style_type=request.style_type.value if request.style_type else None,
        aspect_ratio=request.aspect_ratio,
        resolution=request.resolution,
        magic_prompt=request.magic_prompt.value if request.magic_prompt else None,
        requested_seed=request.seed,
        color_palette=request.model_dump(mode="json")["color_palette"],
        tags=set(request.tags) or None,
        prompt_hash=hash_,
        bucket=settings.bucket_name,
        key=object_key(generation_id, created),
        retention_class=settings.default_retention_class,
        created_at=iso(created),
        updated_at=iso(created),
        time_bucket=f"{created:%Y-%m-%d}",
    )


def _write_all(records: Sequence[GenerationRecord], *, new: bool) -> None:
    """One transaction: all records of a request are written together or not at all."""
    with TransactWrite(connection=table_connection()) as transaction:
        for record in records:
            condition = GenerationRecord.pk.does_not_exist() if new else None
            transaction.save(record, condition=condition)


def _delete_all(records: Sequence[GenerationRecord]) -> None:
    with TransactWrite(connection=table_connection()) as transaction:
        for record in records:
            transaction.delete(record)


def _apply_result(
    record: GenerationRecord, image: GeneratedImage, created: datetime, prices: PriceTable
) -> None:
    """What Ideogram said about one image; the record stays PENDING until its object exists."""
    record.seed = image.seed
    record.resolution = image.resolution
    record.style_type = image.style_type or record.style_type
    record.expanded_prompt = image.prompt if image.prompt != record.prompt else None
    record.is_safe = image.is_image_safe
    price = prices.per_image(record.model, record.rendering_speed)
    record.cost_usd = float(price) if price is not None else None
    record.updated_at = iso(utc_now())
    if not image.is_image_safe or not image.url:
        # Billed, but there is no image to keep.
        record.status = Status.UNSAFE
        record.open_status = None
        record.bucket = record.key = None
        return
    record.original_url = image.url
    record.original_url_expires_at = iso(url_expiry(image.url, created))


def _mark_stored(record: GenerationRecord, stored: StoredObject) -> None:
    record.status = Status.STORED
    record.open_status = None
    record.original_url = None  # its signature has served its purpose; keep no credential around
    record.stored_uri = f"s3://{stored.bucket}/{stored.key}"
    record.size_bytes = stored.size_bytes
    record.sha256 = stored.sha256
    record.content_type = stored.content_type
    record.width = stored.width
    record.height = stored.height
    record.updated_at = iso(utc_now())


def _mark_failed(record: GenerationRecord, kind: str, message: str) -> None:
    record.status = Status.FAILED
    record.open_status = Status.FAILED
    record.failure_kind = kind
    record.failure_message = message[:500]
    record.updated_at = iso(utc_now())


def _count_failure(kind: str) -> None:
    """Failures by kind: one metric, a dimension per kind (ideogram_unavailable, truncated, s3, ...)."""
    with single_metric(name="Failures", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="kind", value=kind)


class Pipeline:
    def __init__(self, services: GenerationServices) -> None:
        self.services = services

    def _policy(self) -> DownloadPolicy:
        settings = self.services.settings
        return DownloadPolicy(allowed_hosts=settings.download_hosts, max_bytes=settings.max_image_bytes)

    def _persist(self, record: GenerationRecord, policy: DownloadPolicy, deadline: float) -> StoredObject:
        if not (record.original_url and record.bucket and record.key):
            raise ValueError(f"record {record.id} names no image to store")
        return persist_image(
            record.original_url,
            bucket=record.bucket,
            key=record.key,
            metadata={
                "generation-id": record.id,
                "seed": str(record.seed),
                "prompt-hash": record.prompt_hash,
            },
            tags={RETENTION_TAG: record.retention_class or self.services.settings.default_retention_class},
            policy=policy,
            s3=self.services.s3,
            session=self.services.http,
            deadline=deadline,
        )

    def _persist_all(self, records: Sequence[GenerationRecord], deadline: float) -> None:
        """Downloads and stores every image concurrently; each record ends STORED, FAILED or PENDING."""
        to_store = [record for record in records if record.status == Status.PENDING]
        if not to_store:
            return
        policy = self._policy()
        with ThreadPoolExecutor(max_workers=len(to_store), thread_name_prefix="persist") as pool:
            futures = {pool.submit(self._persist, record, policy, deadline): record for record in to_store}
            # Each record is written as soon as its image is done, not behind a slower one.
            for future in as_completed(futures):
                record = futures[future]
                try:
                    stored = future.result()
                except (DownloadRejected, StorageError) as error:
                    logger.warning(
                        "image not stored", generation_id=record.id, kind=error.kind, error=str(error)
                    )
                    _count_failure(error.kind)
                    _mark_failed(record, error.kind, str(error))
                except Exception:
                    # A bug must not cost the other images: record it, the reconciler retries.
                    logger.exception("image not stored: unexpected error", generation_id=record.id)
                    _count_failure("internal")
                    _mark_failed(record, "internal", "unexpected error while storing the image")
                else:
                    metrics.add_metric(name="ImagesPersisted", unit=MetricUnit.Count, value=1)
                    metrics.add_metric(name="BytesPersisted", unit=MetricUnit.Bytes, value=stored.size_bytes)
                    _mark_stored(record, stored)
                self._save_final(record)

    def _save_final(self, record: GenerationRecord) -> None:
        try:
            record.save()
        except PynamoDBException as error:
            # The object (if any) is in S3 under the record's key and the record still says
            # PENDING with the original URL: the reconciler completes it. Tell the caller so.
            logger.error("record update failed", generation_id=record.id, error=type(error).__name__)
            _count_failure("dynamodb")
            record.status = Status.PENDING

    def _close_unanswered(self, records: Sequence[GenerationRecord], error: IdeogramError) -> None:
        """Ideogram gave no usable answer. If it may still have generated (and billed) the images,
        the records stay, FAILED with the reason, as the trace of that cost; otherwise they go."""
        maybe_billed = isinstance(error, IdeogramProtocolError) or (
            isinstance(error, IdeogramUnavailable) and error.timed_out
        )
        try:
            if not maybe_billed:
                _delete_all(records)
                return
            for record in records:
                _mark_failed(record, f"ideogram_{error.kind}", error.message)
            _write_all(records, new=False)
        except PynamoDBException:
            logger.warning("could not close the PENDING records; the reconciler will")

    def run(
        self,
        request: GenerationRequest,
        *,
        remaining_seconds: Callable[[], float],
        source: str = "api",
        parent_id: str | None = None,
    ) -> GenerationOutcome:
        settings = self.services.settings
        started = time.monotonic()
        invocation_deadline = started + remaining_seconds() - REPLY_MARGIN_SECONDS
        created = utc_now()
        request_id = uuid.uuid4().hex
        params = request.ideogram_params()
        hash_ = prompt_hash(params)

        def new_record(index: int) -> GenerationRecord:
            return _new_record(
                request,
                request_id=request_id,
                index=index,
                created=created,
                hash_=hash_,
                settings=settings,
                source=source,
                parent_id=parent_id,
            )

        records = [new_record(index) for index in range(request.num_images)]
        _write_all(records, new=True)
        logger.append_keys(request_id=request_id)

        try:
            result: GenerationResult = self.services.ideogram.generate(
                params, deadline=invocation_deadline - PERSIST_RESERVE_SECONDS
            )
        except IdeogramError as error:
            _count_failure(error.kind)
            self._close_unanswered(records, error)
            raise
        metrics.add_metric(name="IdeogramLatency", unit=MetricUnit.Milliseconds, value=result.latency_ms)

        # Ideogram decides how many images it returns; the records follow its data[].
        surplus = records[len(result.data) :]
        records = records[: len(result.data)]
        records += [new_record(index) for index in range(len(records), len(result.data))]
        for record, image in zip(records, result.data, strict=True):
            _apply_result(record, image, created, self.services.prices)
        try:
            _write_all(records, new=False)
            if surplus:
                _delete_all(surplus)
        except PynamoDBException as error:
            # The images are paid for: store them anyway, under the keys the records name. The
            # table still says PENDING for every record, and the reply must not say otherwise.
            logger.error("could not record Ideogram's result", error=type(error).__name__)
            _count_failure("dynamodb")
            for record in records:
                record.status = Status.PENDING
        cost = sum(record.cost_usd or 0.0 for record in records)
        metrics.add_metric(name="EstimatedCostUsd", unit=MetricUnit.NoUnit, value=cost)

        self._persist_all(records, invocation_deadline - RECORD_TAIL_SECONDS)
        logger.info(
            "generation persisted",
            images=len(records),
            statuses=[str(record.status) for record in records],
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return GenerationOutcome(request_id=request_id, records=records)
