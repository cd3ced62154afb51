"""How a batch item ends: the ingest reports each batch message's outcome here.

Every change is conditional, because SQS delivers at least once and a message may be tried
again after it ended:

- `item_done` makes the item DONE with its generation ids, from QUEUED or FAILED (a message
  redriven from the dead-letter queue may still succeed), and never changes a DONE item again;
- `item_failed(final=True)` makes a QUEUED item FAILED with the reason; a DONE item stays DONE
  (a late duplicate delivery cannot undo a generation that happened);
- `item_failed(final=False)` keeps the item QUEUED (it will be tried again) and notes the
  reason as `lastError`, with the number of failed tries.

An item that is not there (unknown batch or item, or expired) is left alone: each method
returns whether it changed the item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ideogram_assets.batches.store import (
    ItemStatus,
    batch_key,
    iso,
    item_key,
    short_reason,
    unavailable,
    utc_now,
)
from ideogram_assets.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _strings(values: Sequence[str]) -> AttributeValueTypeDef:
    return {"L": [{"S": value} for value in values]}


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class BatchProgress:
    """Batch items' ends, in one table. Raises BatchStoreUnavailable when DynamoDB fails (the
    caller should try the message again: every change here can be made twice)."""

    def __init__(self, table: str, client: DynamoDBClient, *, now: Callable[[], datetime] = utc_now) -> None:
        self._table = table
        self._client = client
        self._now = now

    def item_done(
        self, batch_id: str, item_id: str, *, generation_ids: list[str], statuses: list[str]
    ) -> bool:
        """The item's generation ended with these records (ids and statuses in the same order)."""
        if len(generation_ids) != len(statuses):
            raise ValueError("generation_ids and statuses must be in pairs")
        return self._update(
            batch_id,
            item_id,
            "SET #status = :done, generationIds = :ids, statuses = :statuses, updatedAt = :now "
            "REMOVE reason, lastError",
            "attribute_exists(PK) AND #status <> :done",
            {
                ":done": _s(ItemStatus.DONE.value),
                ":ids": _strings(generation_ids),
                ":statuses": _strings(statuses),
            },
            outcome="done",
        )

    def item_failed(self, batch_id: str, item_id: str, *, reason: str, final: bool) -> bool:
        """The item's try failed; `final`: it will not be tried again (it is FAILED with `reason`)."""
        if final:
            return self._update(
                batch_id,
                item_id,
                "SET #status = :failed, reason = :reason, updatedAt = :now",
                "#status = :queued",
                {
                    ":failed": _s(ItemStatus.FAILED.value),
                    ":queued": _s(ItemStatus.QUEUED.value),
                    ":reason": _s(short_reason(reason)),
                },
                outcome="failed",
            )
        return self._update(
            batch_id,
            item_id,
            "SET lastError = :reason, tries = if_not_exists(tries, :zero) + :one, updatedAt = :now",
            "#status = :queued",
            {
                ":queued": _s(ItemStatus.QUEUED.value),
                ":reason": _s(short_reason(reason)),
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
            },
            outcome="retrying",
        )

    def _update(
        self,
        batch_id: str,
        item_id: str,
        update: str,
        condition: str,
        values: dict[str, AttributeValueTypeDef],
        *,
        outcome: str,
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": _s(batch_key(batch_id)), "SK": _s(item_key(item_id))},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={**values, ":now": _s(iso(self._now()))},
            )
        except ClientError as error:
            if _conditional_failure(error):
                logger.info(
                    "batch item left as it was",
                    extra={"batch_id": batch_id, "item_id": item_id, "outcome": outcome},
                )
                return False
            raise unavailable("UpdateItem", error) from error
        except BotoCoreError as error:
            raise unavailable("UpdateItem", error) from error
        return True
