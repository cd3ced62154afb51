"""Collaborators the API functions share, built once per execution environment (the generation
and retention services' own live in their packages' wiring). Imported on first use: it loads
PynamoDB, but not what downloading and storing images need."""

from __future__ import annotations

from functools import cache

from ideogram_assets.aws import dynamodb_client, s3_client
from ideogram_assets.config import Settings, base_settings
from ideogram_assets.records.model import utc_now
from ideogram_assets.records.repository import RecordStore
from ideogram_assets.retention.pinning import RetentionChanges


@cache
def record_store(settings: Settings) -> RecordStore:
    """The generation records of the function's table."""
    return RecordStore(settings.table_name, settings.region, dynamodb_client())


@cache
def retention_changes() -> RetentionChanges:
    """Pinning and legal holds (PATCH /generations/{id})."""
    settings = base_settings()
    return RetentionChanges(settings=settings, records=record_store(settings), s3=s3_client(), now=utc_now)
