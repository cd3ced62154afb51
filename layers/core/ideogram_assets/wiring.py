"""Collaborators the API functions share, built once per execution environment (the generation
and retention services' own live in their packages' wiring). Imported on first use: it loads
PynamoDB, but not what downloading and storing images need."""

from __future__ import annotations

from functools import cache

from ideogram_assets.aws import dynamodb_client, s3_client, secrets_client
from ideogram_assets.config import SearchSettings, Settings, base_settings
from ideogram_assets.curation import LabelChanges
from ideogram_assets.records.counters import totals
from ideogram_assets.records.model import utc_now
from ideogram_assets.records.repository import RecordStore
from ideogram_assets.retention.pinning import RetentionChanges
from ideogram_assets.search.cursor import CursorSigner
from ideogram_assets.search.service import SearchService


@cache
def record_store(settings: Settings) -> RecordStore:
    """The generation records of the function's table."""
    return RecordStore(settings.table_name, settings.region, dynamodb_client())


@cache
def retention_changes() -> RetentionChanges:
    """Pinning and legal holds (PATCH /generations/{id})."""
    settings = base_settings()
    return RetentionChanges(settings=settings, records=record_store(settings), s3=s3_client(), now=utc_now)


@cache
def label_changes() -> LabelChanges:
    """Tags, star and note (PATCH /generations/{id})."""
    return LabelChanges(records=record_store(base_settings()), now=utc_now)


@cache
def search_service(settings: SearchSettings) -> SearchService:
    """Search over the function's table, its cursors signed with the stack's cursor key."""
    records = record_store(settings)
    key = secrets_client().get_secret_value(SecretId=settings.cursor_secret_arn)["SecretString"]

    def months_with_records() -> set[str]:
        return set(totals(records.counter_items("month")).get("month", {}))

    return SearchService(
        dynamodb_client(),
        settings.table_name,
        CursorSigner(key.encode()),
        today=lambda: utc_now().date(),
        months_with_records=months_with_records,
    )
