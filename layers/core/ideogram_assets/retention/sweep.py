"""Sweep: removes exactly the images whose retention has ended, object first, then record.

It reads only what has expired, day by day through the ByExpiryDay index (which carries what a
delete needs), from the day after the last one it finished (its checkpoint) up to today. For
each day: objects go in DeleteObjects calls of up to 1,000 keys; a record goes only once S3 has
confirmed its object deleted, in conditional transactions (still stored, still expiring that day,
no legal hold), so two sweeps at once neither delete nor count anything twice. An object S3
failed to delete keeps its record for the next run. Pinned and held images have no expiry and
are never read here.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.retention.summary import Summary

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from ideogram_assets.records.repository import RecordStore

CHECKPOINT_TASK = "sweep"
# S3's limit on the keys of one DeleteObjects call.
MAX_DELETE_KEYS = 1000
# With no checkpoint yet, the sweep starts this many days back.
FIRST_RUN_LOOKBACK_DAYS = 7
STOP_MARGIN_SECONDS = 3.0


class Sweeper:
    def __init__(
        self,
        *,
        records: RecordStore,
        s3: S3Client,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records = records
        self._s3 = s3
        self._now = now
        self._clock = clock

    def run(self, *, dry_run: bool, deadline: float) -> Summary:
        summary = Summary(task="sweep", dry_run=dry_run)
        today = self._now().date()
        checkpoint = self._records.checkpoint(CHECKPOINT_TASK).get("next_day")
        day = (
            date.fromisoformat(checkpoint) if checkpoint else today - timedelta(days=FIRST_RUN_LOOKBACK_DAYS)
        )
        # Expired records read but not deleted yet: a DeleteObjects call takes up to 1,000 keys
        # from however many days they come.
        batch: list[GenerationRecord] = []
        # Days with an object S3 did not delete: the checkpoint must not pass the first, or its
        # records would never be read again (the next run starts at the checkpoint).
        failed_days: set[date] = set()
        try:
            while day <= today and summary.complete:
                for record in self._records.expiring_on(day.isoformat()):
                    batch.append(record)
                    if len(batch) == MAX_DELETE_KEYS:
                        failed_days |= self._delete(batch, summary)
                        batch = []
                        if deadline - self._clock() < STOP_MARGIN_SECONDS:
                            summary.complete = False  # the next run starts with this day again
                            break
                else:
                    day += timedelta(days=1)
                if deadline - self._clock() < STOP_MARGIN_SECONDS:
                    summary.complete = False
            if batch:
                failed_days |= self._delete(batch, summary)
        finally:
            if not dry_run:
                self._records.flush_counters()
                # Today is read again next run: an unpin may still give a record today's date.
                next_day = min(day, today, *failed_days)
                self._records.save_checkpoint(CHECKPOINT_TASK, {"next_day": next_day.isoformat()})
        summary.details["sweptThrough"] = (day - timedelta(days=1)).isoformat()
        return summary

    def _delete(self, records: Sequence[GenerationRecord], summary: Summary) -> set[date]:
        """Objects first, then the records whose objects S3 confirmed deleted, day by day;
        returns the expiry days of objects S3 did not delete."""
        if summary.dry_run:
            for record in records:
                summary.add("would_delete", record.id, int(record.size_bytes or 0), key=record.key)
            return set()
        gone: dict[str, list[GenerationRecord]] = defaultdict(list)
        failed_days: set[date] = set()
        for bucket, in_bucket in _by_bucket(records).items():
            failed = self._delete_objects(bucket, [record.key for record in in_bucket if record.key])
            for record in in_bucket:
                if record.key in failed:
                    summary.add("object_delete_failed", record.id, key=record.key, error=failed[record.key])
                    failed_days.add(date.fromisoformat(str(record.expires_on)))
                else:
                    gone[str(record.expires_on)].append(record)
        for day, expired in gone.items():
            deleted, not_deleted = self._records.delete_expired(expired, day)
            deleted_ids, failed_ids = {record.id for record in deleted}, {record.id for record in not_deleted}
            for record in expired:
                if record.id in deleted_ids:
                    summary.add("deleted", record.id, int(record.size_bytes or 0), key=record.key)
                elif record.id in failed_ids:
                    # Its object is gone; the next run deletes the record (a missing key deletes fine).
                    summary.add("record_delete_failed", record.id, key=record.key)
                    failed_days.add(date.fromisoformat(day))
                else:
                    summary.add("changed_meanwhile", record.id)
        return failed_days

    def _delete_objects(self, bucket: str, keys: list[str]) -> dict[str, str]:
        """Deletes the keys; returns those S3 did not delete, with S3's reason."""
        try:
            response = self._s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
            )
        except ClientError as error:
            # The whole call refused (throttled after retries, access denied): no key was deleted,
            # so every record stays for the next run instead of the sweep stopping here.
            code = error.response.get("Error", {}).get("Code", "unknown")
            return dict.fromkeys(keys, code)
        return {error["Key"]: error.get("Code", "unknown") for error in response.get("Errors", [])}


def _by_bucket(records: Sequence[GenerationRecord]) -> dict[str, list[GenerationRecord]]:
    grouped: dict[str, list[GenerationRecord]] = defaultdict(list)
    for record in records:
        if record.bucket:
            grouped[record.bucket].append(record)
    return grouped
