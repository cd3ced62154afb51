"""Pinning and legal hold: a stored image's retention class or hold changes, object and record
together.

The bucket's lifecycle rules match the object tag `retention-class` (short, standard); a held
image is tagged `legal-hold`, which no rule matches, and has no expiry on its record, so neither
the sweep nor the lifecycle rules delete it. Order keeps the image safe if the second write
fails: more protection is tagged on the object first, then recorded; less protection is recorded
first, then tagged (until the tag follows, the object is only kept longer than its record says).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ideogram_assets.records import lifecycle
from ideogram_assets.records.errors import GenerationNotFound
from ideogram_assets.records.status import Status

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from ideogram_assets.config import Settings
    from ideogram_assets.records.model import GenerationRecord
    from ideogram_assets.records.repository import RecordStore

RETENTION_TAG = "retention-class"
LEGAL_HOLD_TAG_VALUE = "legal-hold"


def retention_tag(retention_class: str | None, legal_hold: bool | None) -> str:
    """The value of the object's retention-class tag, which the lifecycle rules match."""
    return LEGAL_HOLD_TAG_VALUE if legal_hold else (retention_class or "standard")


def _kept_for(settings: Settings, retention_class: str | None, legal_hold: bool) -> float:
    days = None if legal_hold else settings.retention.days(retention_class or "standard")
    return float("inf") if days is None else days


class RetentionChanges:
    def __init__(
        self, *, settings: Settings, records: RecordStore, s3: S3Client, now: Callable[[], datetime]
    ) -> None:
        self._settings = settings
        self._records = records
        self._s3 = s3
        self._now = now

    def change(
        self, generation_id: str, *, retention_class: str | None, legal_hold: bool | None
    ) -> GenerationRecord:
        record = self._records.get(generation_id)
        if record is None:
            raise GenerationNotFound(f"generation {generation_id} was not found")
        before = _kept_for(self._settings, record.retention_class, bool(record.legal_hold))
        transition = lifecycle.retention_changed(
            record,
            self._now(),
            self._settings.retention,
            retention_class=retention_class,
            legal_hold=legal_hold,
        )
        new_class = transition.changes["retention_class"]
        new_hold = bool(transition.changes["legal_hold"])
        has_object = record.status == Status.STORED and record.bucket and record.key
        if has_object and _kept_for(self._settings, new_class, new_hold) >= before:
            self._tag(record, new_class, new_hold)
            self._records.update(record, transition)
        else:
            self._records.update(record, transition)
            if has_object:
                self._tag(record, new_class, new_hold)
        self._records.flush_counters()
        return record

    def _tag(self, record: GenerationRecord, retention_class: str | None, legal_hold: bool) -> None:
        self._s3.put_object_tagging(
            Bucket=str(record.bucket),
            Key=str(record.key),
            Tagging={"TagSet": [{"Key": RETENTION_TAG, "Value": retention_tag(retention_class, legal_hold)}]},
        )
