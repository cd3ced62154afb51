"""Storing one record's image: its Ideogram URL streamed to the key the record names.

The same path serves generation now and the reconciler later. A one-off transport failure (a
body cut short, a reset connection) is retried once when the deadline leaves room for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ideogram_assets.observability import logger
from ideogram_assets.retention.pinning import RETENTION_TAG, retention_tag
from ideogram_assets.storage import DownloadPolicy, DownloadRejected, StoredObject, persist_image

if TYPE_CHECKING:
    import requests
    from mypy_boto3_s3 import S3Client

    from ideogram_assets.records.model import GenerationRecord

# Failures a second attempt can cure; an expired URL or a wrong content type would only repeat.
RETRYABLE_KINDS = frozenset({"truncated"})


@dataclass(frozen=True)
class ImageStore:
    s3: S3Client
    session: requests.Session
    policy: DownloadPolicy
    default_retention_class: str
    clock: Callable[[], float] = time.monotonic

    def persist(self, record: GenerationRecord, url: str, seed: int, deadline: float) -> StoredObject:
        """Downloads `url` into the record's object, or raises DownloadRejected / StorageError."""
        started = self.clock()
        try:
            return self._attempt(record, url, seed, deadline)
        except DownloadRejected as error:
            elapsed = self.clock() - started
            # Room for one more attempt at least as long as this one took.
            if error.kind not in RETRYABLE_KINDS or deadline - self.clock() < max(elapsed, 1.0):
                raise
            logger.info("retrying the image download once", generation_id=record.id, kind=error.kind)
        return self._attempt(record, url, seed, deadline)

    def _attempt(self, record: GenerationRecord, url: str, seed: int, deadline: float) -> StoredObject:
        if not (record.bucket and record.key):
            raise ValueError(f"record {record.id} names no object to store")
        return persist_image(
            url,
            bucket=record.bucket,
            key=record.key,
            metadata={
                "generation-id": record.id,
                "seed": str(seed),
                "prompt-hash": record.prompt_hash,
            },
            tags={
                RETENTION_TAG: retention_tag(
                    record.retention_class or self.default_retention_class, record.legal_hold
                )
            },
            policy=self.policy,
            s3=self.s3,
            session=self.session,
            deadline=deadline,
        )
