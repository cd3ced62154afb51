"""The generation record in the single table (PynamoDB), with every index template.yaml declares.

The table's name is bound at run time (`bind_table`, called by the wiring with the function's
settings), never read from the environment at import: an unbound model fails on first use.
Attribute names are the table's (camelCase); docs/data-model.md lists the access patterns.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

RECORD_SORT_KEY = "META"
# The attributes ByExpiryDay carries besides its keys (template.yaml declares the same): what the
# sweep needs to delete a record, its object and its index items, and to take it off the counters.
EXPIRY_PROJECTION = (
    "id",
    "status",
    "bucket",
    "key",
    "sizeBytes",
    "retentionClass",
    "legalHold",
    "model",
    "styleType",
    "tags",
    "words",
    "starred",
    "isSafe",
    "costUsd",
)


def record_key(generation_id: str) -> str:
    return f"GEN#{generation_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds: sorts as time, as every index sort key here must."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Meta:
    # Set by bind_table(); PynamoDB refuses to work with a model whose table_name is None.
    table_name: str | None = None
    region: str | None = None  # None: the SDK's own chain (AWS_REGION in Lambda)
    # Inside Lambda's time budget: fail fast and let the caller decide, rather than hang.
    connect_timeout_seconds = 3
    read_timeout_seconds = 10
    max_retry_attempts = 3


class BySeedIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "BySeed"
        projection = KeysOnlyProjection()  # search reads keys here, then the records (BatchGetItem)

    seed = NumberAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByPromptHashIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "ByPromptHash"
        projection = AllProjection()

    prompt_hash = UnicodeAttribute(hash_key=True, attr_name="promptHash")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByModelIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "ByModel"
        projection = KeysOnlyProjection()  # search reads keys here, then the records (BatchGetItem)

    model = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByStyleIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "ByStyle"
        projection = KeysOnlyProjection()  # search reads keys here, then the records (BatchGetItem)

    style_type = UnicodeAttribute(hash_key=True, attr_name="styleType")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByTimeBucketIndex(GlobalSecondaryIndex["GenerationRecord"]):
    class Meta(_Meta):
        index_name = "ByTimeBucket"
        projection = AllProjection()

    time_bucket = UnicodeAttribute(hash_key=True, attr_name="timeBucket")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByExpiryDayIndex(GlobalSecondaryIndex["GenerationRecord"]):
    """What the retention sweep needs to delete a record and its object, and nothing more: it
    reads only the index, one item per expired image."""

    class Meta(_Meta):
        index_name = "ByExpiryDay"
        projection = IncludeProjection(non_attr_keys=list(EXPIRY_PROJECTION))

    expires_on = UnicodeAttribute(hash_key=True, attr_name="expiresOn")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByOpenStatusIndex(GlobalSecondaryIndex["GenerationRecord"]):
    """Sparse: only PENDING and FAILED records carry openStatus."""

    class Meta(_Meta):
        index_name = "ByOpenStatus"
        projection = AllProjection()

    open_status = UnicodeAttribute(hash_key=True, attr_name="openStatus")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class GenerationRecord(Model):
    """One image of one generation request. Its state changes only through records.lifecycle."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK", default=RECORD_SORT_KEY)

    id = UnicodeAttribute()
    request_id = UnicodeAttribute(attr_name="requestId")
    index_in_request = NumberAttribute(attr_name="indexInRequest")
    status = UnicodeAttribute()
    source = UnicodeAttribute()  # api | event | batch | reproduce
    correlation_id = UnicodeAttribute(null=True, attr_name="correlationId")
    batch_id = UnicodeAttribute(null=True, attr_name="batchId")
    parent_id = UnicodeAttribute(null=True, attr_name="parentId")
    parent_sha256 = UnicodeAttribute(null=True, attr_name="parentSha256")  # a reproduction's original

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
    starred = BooleanAttribute(null=True)  # absent: not starred
    note = UnicodeAttribute(null=True)
    # The words its TOKEN# index items are under (records.index_items), kept so that they can be
    # removed exactly, whatever the normalization of a later version says.
    index_words = UnicodeSetAttribute(null=True, attr_name="words")
    prompt_hash = UnicodeAttribute(attr_name="promptHash")

    is_safe = BooleanAttribute(null=True, attr_name="isSafe")
    original_url = UnicodeAttribute(null=True, attr_name="originalUrl")
    original_url_expires_at = UnicodeAttribute(null=True, attr_name="originalUrlExpiresAt")

    # Where the image lives (fixed when the record is created) and what was stored there.
    bucket = UnicodeAttribute(null=True)
    key = UnicodeAttribute(null=True)
    size_bytes = NumberAttribute(null=True, attr_name="sizeBytes")
    sha256 = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True, attr_name="contentType")
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    cost_usd = NumberAttribute(null=True, attr_name="costUsd")
    retention_class = UnicodeAttribute(null=True, attr_name="retentionClass")
    legal_hold = BooleanAttribute(null=True, attr_name="legalHold")  # true: never expires

    failure_kind = UnicodeAttribute(null=True, attr_name="failureKind")
    failure_message = UnicodeAttribute(null=True, attr_name="failureMessage")
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")
    revision = NumberAttribute(null=True)  # counts the record's changes (records.lifecycle)
    # Index keys derived from the fields above: see docs/data-model.md.
    time_bucket = UnicodeAttribute(attr_name="timeBucket")
    open_status = UnicodeAttribute(null=True, attr_name="openStatus")
    expires_on = UnicodeAttribute(null=True, attr_name="expiresOn")
    ttl = NumberAttribute(null=True)

    by_seed = BySeedIndex()
    by_prompt_hash = ByPromptHashIndex()
    by_model = ByModelIndex()
    by_style = ByStyleIndex()
    by_time_bucket = ByTimeBucketIndex()
    by_expiry_day = ByExpiryDayIndex()
    by_open_status = ByOpenStatusIndex()


def bind_table(table_name: str, region: str | None = None) -> None:
    """Points every model of the table (records, their indexes, index items) at the function's
    table: they all inherit these from _Meta."""
    _Meta.table_name = table_name
    _Meta.region = region
