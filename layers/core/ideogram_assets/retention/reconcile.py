"""Reconcile: the rescue path. Every paid image ends stored, or visibly lost, never forgotten.

For each open record (PENDING settled for a while, or FAILED), oldest first:
- its object already sits at its key (the record write failed after the upload): read back,
  verified (PNG, size, SHA-256 computed from the stored bytes) and marked STORED;
- its Ideogram URL is still valid: downloaded and stored through the generation's own path;
- its URL has expired: LOST (terminal; the cost stays on the record and in the report);
- it never got a URL (the generation stopped before Ideogram's answer was recorded): closed as
  FAILED `ideogram_unanswered`, visible as a possible cost, not read again.
Then two sweeps over the bucket's recent past: objects under `images/` with no record, older
than the grace period, are deleted; and one day's STORED records (a day further back each run)
are checked for their object, MISSING when it has gone.

Nothing is retried for ever: a record leaves the open index when it is stored, lost or closed,
and a URL is tried only until it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from pynamodb.exceptions import TransactWriteError, UpdateError

from ideogram_assets.records import lifecycle
from ideogram_assets.records.model import GenerationRecord, iso
from ideogram_assets.records.repository import RecordStore, is_conditional_failure
from ideogram_assets.records.status import Status
from ideogram_assets.retention.summary import Summary
from ideogram_assets.storage import DownloadRejected, StorageError
from ideogram_assets.storage.verify import object_exists, read_back

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectTypeDef

    from ideogram_assets.config import GenerateSettings
    from ideogram_assets.generation.images import ImageStore
    from ideogram_assets.records.lifecycle import Transition
    from ideogram_assets.storage import StoredObject

IMAGE_PREFIX = "images/"
# A PENDING record younger than this may belong to a generation still running.
PENDING_SETTLE = timedelta(minutes=5)
# A URL this close to its expiry is not worth starting a download on.
URL_MARGIN = timedelta(seconds=30)
# How many days before the orphan grace cutoff each run lists (objects are keyed by day).
ORPHAN_LOOKBACK_DAYS = 2
# Each download may take at most this long; the task stops this long before its deadline.
DOWNLOAD_SECONDS = 20.0
STOP_MARGIN_SECONDS = 3.0


@dataclass(frozen=True)
class ReconcileOptions:
    orphan_grace: timedelta = timedelta(hours=24)


class Reconciler:
    def __init__(
        self,
        *,
        settings: GenerateSettings,
        records: RecordStore,
        images: ImageStore,
        s3: S3Client,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
        options: ReconcileOptions | None = None,
    ) -> None:
        self._settings = settings
        self._records = records
        self._images = images
        self._s3 = s3
        self._now = now
        self._clock = clock
        self._options = options or ReconcileOptions()

    def run(self, *, dry_run: bool, deadline: float) -> Summary:
        summary = Summary(task="reconcile", dry_run=dry_run)
        try:
            self._open_records(summary, deadline)
            if summary.complete:
                self._orphans(summary, deadline)
            if summary.complete:
                self._audit_one_day(summary, deadline)
        finally:
            if not dry_run:
                self._records.flush_counters()
        return summary

    def _time_left(self, deadline: float, needed: float = 0.0) -> bool:
        return deadline - self._clock() > STOP_MARGIN_SECONDS + needed

    # -- open records ---------------------------------------------------------------------------

    def _open_records(self, summary: Summary, deadline: float) -> None:
        now = self._now()
        for status, settled in ((Status.PENDING, PENDING_SETTLE), (Status.FAILED, timedelta(0))):
            for record in self._records.open_records(status, iso(now - settled)):
                if not self._time_left(deadline, DOWNLOAD_SECONDS):
                    summary.complete = False
                    return
                self._reconcile(record, summary, deadline)

    def _reconcile(self, record: GenerationRecord, summary: Summary, deadline: float) -> None:
        now = self._now()
        if record.status == Status.PENDING and record.bucket and record.key:
            stored = read_back(self._s3, record.bucket, record.key)
            if stored is not None:
                self._apply(summary, record, "verified", stored.size_bytes, self._stored(record, stored))
                return
        url, expires = record.original_url, record.original_url_expires_at
        if not url or not expires:
            self._apply(
                summary,
                record,
                "closed_unanswered",
                0,
                lifecycle.failed(
                    record,
                    "ideogram_unanswered",
                    "the generation stopped before Ideogram's answer was recorded; it may have been billed",
                    now,
                ),
            )
            return
        if datetime.fromisoformat(expires) - URL_MARGIN <= now:
            self._apply(summary, record, "lost", 0, lifecycle.lost(record, now))
            return
        if summary.dry_run:
            summary.add("rescued", record.id, url_expires_at=expires)
            return
        download_deadline = min(deadline - STOP_MARGIN_SECONDS, self._clock() + DOWNLOAD_SECONDS)
        try:
            stored_object = self._images.persist(record, url, int(record.seed or 0), download_deadline)
        except (DownloadRejected, StorageError) as error:
            self._apply(
                summary,
                record,
                "still_failed",
                0,
                lifecycle.failed(record, error.kind, str(error), now),
            )
            return
        self._apply(summary, record, "rescued", stored_object.size_bytes, self._stored(record, stored_object))

    def _stored(self, record: GenerationRecord, stored_object: StoredObject) -> Transition:
        return lifecycle.stored(record, stored_object, self._now(), self._settings.retention)

    def _apply(
        self,
        summary: Summary,
        record: GenerationRecord,
        outcome: str,
        size_bytes: int,
        transition: Transition,
    ) -> None:
        """Writes the record's new state (conditionally: a concurrent run that got there first
        wins, and this one counts nothing) and notes the outcome."""
        if summary.dry_run:
            summary.add(outcome, record.id, size_bytes)
            return
        try:
            self._records.update(record, transition)
        except (UpdateError, TransactWriteError) as error:  # a transaction when index items move
            if is_conditional_failure(error):
                summary.add("changed_meanwhile", record.id)
                return
            raise
        summary.add(outcome, record.id, size_bytes, status=str(record.status))

    # -- the bucket -----------------------------------------------------------------------------

    def _orphans(self, summary: Summary, deadline: float) -> None:
        """Objects under images/ with no record, older than the grace period, in the days just
        before the grace cutoff (an object's key carries the day it was generated)."""
        cutoff = self._now() - self._options.orphan_grace
        for day in _days_back(cutoff.date(), ORPHAN_LOOKBACK_DAYS + 1):
            prefix = f"{IMAGE_PREFIX}{day:%Y/%m/%d}/"
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self._settings.bucket_name, Prefix=prefix):
                if not self._time_left(deadline):
                    summary.complete = False
                    return
                old = {
                    item["Key"]: item for item in page.get("Contents", []) if item["LastModified"] < cutoff
                }
                self._remove_orphans(summary, old)

    def _remove_orphans(self, summary: Summary, objects: dict[str, ObjectTypeDef]) -> None:
        ids = {key: key.rsplit("/", 1)[-1].removesuffix(".png") for key in objects}
        known = self._records.existing_ids(list(ids.values())) if ids else set()
        orphans = [key for key, generation_id in ids.items() if generation_id not in known]
        if not orphans:
            return
        sizes = {key: objects[key].get("Size", 0) for key in orphans}
        if not summary.dry_run:
            response = self._s3.delete_objects(
                Bucket=self._settings.bucket_name,
                Delete={"Objects": [{"Key": key} for key in orphans], "Quiet": True},
            )
            failed = {error["Key"] for error in response.get("Errors", [])}
            for key in failed:
                summary.add("orphan_delete_failed", key)
            orphans = [key for key in orphans if key not in failed]
        for key in orphans:
            summary.add("orphan_deleted", key, sizes[key])

    def _audit_one_day(self, summary: Summary, deadline: float) -> None:
        """One day's STORED records checked for their object, a day further back each run (and
        back to today after the longest retention): every record is checked in turn."""
        today = self._now().date()
        checkpoint = self._records.checkpoint("reconcile-audit").get("day")
        day = date.fromisoformat(checkpoint) if checkpoint else today
        oldest = today - timedelta(
            days=self._settings.retention.standard_days + self._settings.retention.grace_days
        )
        if day < oldest or day > today:
            day = today
        for record in self._records.created_on(day.isoformat()):
            if not self._time_left(deadline):
                summary.complete = False
                return  # the same day again next run
            if record.status != Status.STORED or not (record.bucket and record.key):
                continue
            if object_exists(self._s3, record.bucket, record.key):
                continue
            self._apply(summary, record, "missing", 0, lifecycle.missing(record, self._now()))
        summary.details["auditedDay"] = day.isoformat()
        if not summary.dry_run:
            self._records.save_checkpoint("reconcile-audit", {"day": (day - timedelta(days=1)).isoformat()})


def _days_back(last: date, count: int) -> list[date]:
    return [last - timedelta(days=offset) for offset in range(count)][::-1]
