"""The retention service of an execution environment, built on its first invocation."""

from __future__ import annotations

from functools import cache

from ideogram_assets.aws import s3_client
from ideogram_assets.config import generate_settings
from ideogram_assets.generation.wiring import image_store
from ideogram_assets.records.model import utc_now
from ideogram_assets.retention.reconcile import Reconciler
from ideogram_assets.retention.service import RetentionService
from ideogram_assets.retention.sweep import Sweeper
from ideogram_assets.wiring import record_store


@cache
def retention_service() -> RetentionService:
    settings = generate_settings()
    records = record_store(settings)
    return RetentionService(
        reconciler=Reconciler(
            settings=settings, records=records, images=image_store(settings), s3=s3_client(), now=utc_now
        ),
        sweeper=Sweeper(records=records, s3=s3_client(), now=utc_now),
        records=records,
        now=utc_now,
    )
