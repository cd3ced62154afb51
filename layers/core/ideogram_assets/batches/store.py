"""A batch in the table: `PK = BATCH#<id>`, one `SK = META` item, one `SK = ITEM#<item id>` per item.

META holds when the batch was made and how many items it has; an item holds its position in
the batch, its status (QUEUED, then DONE or FAILED: progress.py changes it), the message body
it was queued with, and, once it has ended, its generation ids or the reason it failed. Every
item carries the batch's `ttl`.

The items are written before META, so a batch whose writes were cut short is never seen (its
items expire); only then are the messages sent (enqueue.py), so the ingest never meets an item
that is not there yet. No batch item carries an attribute a GSI is keyed on (seed, promptHash,
model, styleType, createdAt with them, openStatus...): the request is kept as one JSON string.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

META_SORT_KEY = "META"
ITEM_PREFIX = "ITEM#"
# A batch's items can be read back for this long after it was made.
BATCH_LIFETIME = timedelta(days=30)
# BatchWriteItem's limit, and how many times items it left unprocessed are written again.
WRITE_CHUNK = 25
WRITE_ATTEMPTS = 5
MAX_REASON_CHARS = 1000
DB_ERRORS = (ClientError, BotoCoreError)


class ItemStatus(StrEnum):
    QUEUED = "QUEUED"
    DONE = "DONE"
    FAILED = "FAILED"


class BatchStoreUnavailable(Exception):
    """DynamoDB refused or did not answer a read or write of a batch."""


def batch_key(batch_id: str) -> str:
    return f"BATCH#{batch_id}"


def item_key(item_id: str) -> str:
    return f"{ITEM_PREFIX}{item_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds, as every record's timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def short_reason(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def unavailable(operation: str, error: Exception) -> BatchStoreUnavailable:
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    return BatchStoreUnavailable(f"DynamoDB {operation} failed ({code or type(error).__name__})")


@dataclass(frozen=True)
class NewItem:
    """An item as the batch is made: its id, and the message body it is queued with."""

    item_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class ItemState:
    item_id: str
    position: int  # 1-based, the item's place in the batch as it was posted
    status: ItemStatus
    generation_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    reason: str | None = None  # why it FAILED
    last_error: str | None = None  # why its last try failed, while it is QUEUED for another


@dataclass(frozen=True)
class BatchState:
    batch_id: str
    created_at: str
    item_count: int
    expires_at: int  # epoch seconds: the ttl of every item of the batch
    items: tuple[ItemState, ...] = field(default=())

    def expired(self, now: datetime) -> bool:
        # DynamoDB removes expired items within days, not at once.
        return self.expires_at <= now.timestamp()


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def item_record(
    batch_id: str,
    item: NewItem,
    position: int,
    expires_at: int,
    *,
    failed_reason: str | None = None,
) -> dict[str, AttributeValueTypeDef]:
    status = ItemStatus.QUEUED if failed_reason is None else ItemStatus.FAILED
    record: dict[str, AttributeValueTypeDef] = {
        "PK": _s(batch_key(batch_id)),
        "SK": _s(item_key(item.item_id)),
        "batchId": _s(batch_id),
        "itemId": _s(item.item_id),
        "position": _n(position),
        "status": _s(status.value),
        "request": _s(json.dumps(item.body, ensure_ascii=False, sort_keys=True)),
        "ttl": _n(expires_at),
    }
    if failed_reason is not None:
        record["reason"] = _s(short_reason(failed_reason))
    return record


def meta_record(batch_id: str, created_at: str, item_count: int, expires_at: int) -> dict[str, Any]:
    # No `status` here: the stream's publisher reads `SK = META` items with a status as records.
    return {
        "PK": _s(batch_key(batch_id)),
        "SK": _s(META_SORT_KEY),
        "batchId": _s(batch_id),
        "createdAt": _s(created_at),
        "itemCount": _n(item_count),
        "ttl": _n(expires_at),
    }


def _strings(item: dict[str, Any], name: str) -> tuple[str, ...]:
    value = item.get(name)
    return () if value is None else tuple(str(member["S"]) for member in value["L"])


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def item_state(item: dict[str, Any]) -> ItemState:
    return ItemState(
        item_id=item["itemId"]["S"],
        position=int(item["position"]["N"]),
        status=ItemStatus(item["status"]["S"]),
        generation_ids=_strings(item, "generationIds"),
        statuses=_strings(item, "statuses"),
        reason=_text(item, "reason"),
        last_error=_text(item, "lastError"),
    )


def _chunks[T](values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# What a read of a batch needs; the request each item was queued with stays in the table.
_READ_NAMES = {
    "#sk": "SK",
    "#itemId": "itemId",
    "#position": "position",
    "#status": "status",
    "#generationIds": "generationIds",
    "#statuses": "statuses",
    "#reason": "reason",
    "#lastError": "lastError",
    "#batchId": "batchId",
    "#createdAt": "createdAt",
    "#itemCount": "itemCount",
    "#ttl": "ttl",
}


class BatchStore:
    """The batches of one table."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client
        self._pause = pause

    def create(self, batch_id: str, items: Sequence[NewItem], now: datetime) -> tuple[str, int]:
        """Writes every item QUEUED, then META; returns (createdAt, ttl).

        Raises BatchStoreUnavailable when a write fails: the batch is then not visible (no META)
        and whatever was written expires with its ttl.
        """
        created_at = iso(now)
        expires_at = int((now + BATCH_LIFETIME).timestamp())
        records = [
            item_record(batch_id, item, position, expires_at) for position, item in enumerate(items, start=1)
        ]
        self.put_all(records)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=meta_record(batch_id, created_at, len(items), expires_at),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except DB_ERRORS as error:
            raise unavailable("PutItem", error) from error
        return created_at, expires_at

    def put_all(self, records: Sequence[dict[str, AttributeValueTypeDef]]) -> None:
        """Writes whole items, 25 per BatchWriteItem, writing again what DynamoDB left unprocessed."""
        for chunk in _chunks(records, WRITE_CHUNK):
            requests: list[WriteRequestTypeDef] = [{"PutRequest": {"Item": record}} for record in chunk]
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    response = self._client.batch_write_item(RequestItems={self._table: requests})
                except DB_ERRORS as error:
                    raise unavailable("BatchWriteItem", error) from error
                unprocessed = response.get("UnprocessedItems", {}).get(self._table, [])
                requests = cast("list[WriteRequestTypeDef]", unprocessed)
                if not requests:
                    break
                self._pause(0.05 * 2**attempt)  # unprocessed: the table is throttling us
            else:
                raise BatchStoreUnavailable(
                    f"DynamoDB BatchWriteItem left {len(requests)} items unprocessed after "
                    f"{WRITE_ATTEMPTS} attempts"
                )

    def read(self, batch_id: str) -> BatchState | None:
        """The batch and every item, in the batch's order; None when there is no such batch."""
        meta: dict[str, Any] | None = None
        items: list[ItemState] = []
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": _s(batch_key(batch_id))},
            ExpressionAttributeNames=_READ_NAMES,
            ProjectionExpression=", ".join(_READ_NAMES),
            ConsistentRead=True,
        )
        try:
            for page in pages:
                for record in page.get("Items", []):
                    if record["SK"]["S"] == META_SORT_KEY:
                        meta = record
                    elif record["SK"]["S"].startswith(ITEM_PREFIX):
                        items.append(item_state(record))
        except DB_ERRORS as error:
            raise unavailable("Query", error) from error
        if meta is None:
            return None
        return BatchState(
            batch_id=batch_id,
            created_at=meta["createdAt"]["S"],
            item_count=int(meta["itemCount"]["N"]),
            expires_at=int(meta["ttl"]["N"]),
            items=tuple(sorted(items, key=lambda state: state.position)),
        )
