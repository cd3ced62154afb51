"""Generation records in the single table (PynamoDB), and the writes the pipeline makes.

A record's life: PENDING (written before Ideogram is called, so a crash leaves a trace) →
PENDING with the image's original URL and expiry (written before the download, so the
reconciler can rescue it) → STORED (object in S3), UNSAFE (billed, no image) or FAILED
(download or store failed; the URL is kept while it is valid).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ideogram_assets.status import Status

__all__ = [
    "GenerationRecord",
    "Status",
    "get_record",
    "iso",
    "record_key",
    "table_connection",
    "utc_now",
]

RECORD_SORT_KEY = "META"


def record_key(generation_id: str) -> str:
    return f"GEN#{generation_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds: sorts as time, as every index sort key here must."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Meta:
    table_name = os.environ.get("TABLE_NAME", "ideogram-assets")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    # Inside Lambda's time budget: fail fast and let the pipeline decide, rather than hang.
    connect_timeout_seconds = 3
    read_timeout_seconds = 10
    max_retry_attempts = 3


class BySeedIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "BySeed"
        projection = AllProjection()

    seed = NumberAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByPromptHashIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "ByPromptHash"
        projection = AllProjection()

    prompt_hash = UnicodeAttribute(hash_key=True, attr_name="promptHash")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByOpenStatusIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "ByOpenStatus"
        projection = AllProjection()

    open_status = UnicodeAttribute(hash_key=True, attr_name="openStatus")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class GenerationRecord(Model):
    """One image of one generation request."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK", default=RECORD_SORT_KEY)

    id = UnicodeAttribute()
    request_id = UnicodeAttribute(attr_name="requestId")
    index_in_request = NumberAttribute(attr_name="indexInRequest")
    status = UnicodeAttribute()
    source = UnicodeAttribute()  # api | event | reproduce
    parent_id = UnicodeAttribute(null=True, attr_name="parentId")

    prompt = UnicodeAttribute()
    expanded_prompt = UnicodeAttribute(null=True, attr_name="expandedPrompt")
    negative_prompt = UnicodeAttribute(null=True, attr_name="negativePrompt")
    model = UnicodeAttribute()
    rendering_speed = UnicodeAttribute(attr_name="renderingSpeed")
    style_type = UnicodeAttribute(null=True, attr_name="styleType")
    aspect_ratio = UnicodeAttribute(null=True, attr_name="aspectRatio")
    resolution = UnicodeAttribute(null=True)
    magic_prompt = UnicodeAttribute(null=True, attr_name="magicPrompt")
    requested_seed = NumberAttribute(null=True, attr_name="requestedSeed")
    seed = NumberAttribute(null=True)
    color_palette = JSONAttribute(null=True, attr_name="colorPalette")
    tags = UnicodeSetAttribute(null=True)
    prompt_hash = UnicodeAttribute(attr_name="promptHash")

    is_safe = BooleanAttribute(null=True, attr_name="isSafe")
    original_url = UnicodeAttribute(null=True, attr_name="originalUrl")
    original_url_expires_at = UnicodeAttribute(null=True, attr_name="originalUrlExpiresAt")

    bucket = UnicodeAttribute(null=True)
    key = UnicodeAttribute(null=True)
    stored_uri = UnicodeAttribute(null=True, attr_name="storedUri")
    size_bytes = NumberAttribute(null=True, attr_name="sizeBytes")
    sha256 = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True, attr_name="contentType")
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    cost_usd = NumberAttribute(null=True, attr_name="costUsd")
    retention_class = UnicodeAttribute(null=True, attr_name="retentionClass")

    failure_kind = UnicodeAttribute(null=True, attr_name="failureKind")
    failure_message = UnicodeAttribute(null=True, attr_name="failureMessage")
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")
    # Index keys derived from the fields above: see docs/data-model.md.
    time_bucket = UnicodeAttribute(attr_name="timeBucket")
    open_status = UnicodeAttribute(null=True, attr_name="openStatus")

    by_seed = BySeedIndex()
    by_prompt_hash = ByPromptHashIndex()
    by_open_status = ByOpenStatusIndex()


@cache
def table_connection() -> Connection:
    """The low-level connection transactions need, created once per execution environment."""
    return Connection(
        region=_Meta.region,
        connect_timeout_seconds=_Meta.connect_timeout_seconds,
        read_timeout_seconds=_Meta.read_timeout_seconds,
        max_retry_attempts=_Meta.max_retry_attempts,
    )


def get_record(generation_id: str) -> GenerationRecord | None:
    try:
        return GenerationRecord.get(record_key(generation_id), RECORD_SORT_KEY)
    except GenerationRecord.DoesNotExist:
        return None
