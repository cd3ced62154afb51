"""Publishes each record's change to an announced status, once.

Stream records arrive at least once (a retried batch delivers them again), so each announcement
is marked in the table (`PK=EVENT#<id>`, `SK=<status>`, kept 7 days) before it is put on the bus,
and marked sent after: a marker already sent means a repeat, skipped. A failure between the two
marks resends the event on the retry (at least once, never silently dropped).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from pydantic import ValidationError

from ideogram_assets.events.results import ANNOUNCED, EVENT_SOURCE, announcement, detail_type
from ideogram_assets.observability import logger, metrics
from ideogram_assets.records.model import GenerationRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MARKER_DAYS = 7


class PublishFailed(RuntimeError):
    """The bus did not take the event; the stream record is retried."""


def changed_status(stream_record: dict[str, Any]) -> GenerationRecord | None:
    """The record, if this change moved it to an announced status (not a repeat of its status)."""
    change = stream_record.get("dynamodb", {})
    new = change.get("NewImage")
    # Other items of the table (export jobs, batches, index items, counters) are not records.
    if (
        not new
        or not str(new.get("PK", {}).get("S", "")).startswith("GEN#")
        or new.get("SK", {}).get("S") != "META"
    ):
        return None
    status = new.get("status", {}).get("S")
    before = (change.get("OldImage") or {}).get("status", {}).get("S")
    if status not in ANNOUNCED or status == before:
        return None
    return GenerationRecord.from_raw_data(new)


class Publisher:
    def __init__(
        self,
        *,
        table: str,
        dynamodb: DynamoDBClient,
        events: EventBridgeClient,
        bus_name: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._dynamodb = dynamodb
        self._events = events
        self._bus = bus_name
        self._clock = clock

    def publish(self, record: GenerationRecord) -> bool:
        """Announces the record's status; False when it was announced before."""
        key = {"PK": {"S": f"EVENT#{record.id}"}, "SK": {"S": str(record.status)}}
        if not self._claim(key):
            logger.info("already announced", generation_id=record.id, status=record.status)
            return False
        try:
            detail = announcement(record)
        except ValidationError as error:
            # A record that says STORED without its object (written by hand, say) can never be
            # announced: retrying it would only hold up every change behind it on the stream.
            logger.error("record cannot be announced", generation_id=record.id, error=str(error))
            metrics.add_metric(name="UnannouncedRecords", unit=MetricUnit.Count, value=1)
            return False
        entry: PutEventsRequestEntryTypeDef = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type(detail),
            "Detail": json.dumps(detail.model_dump(mode="json")),
            "EventBusName": self._bus,
        }
        reply = self._events.put_events(Entries=[entry])
        if reply.get("FailedEntryCount"):
            failure = reply["Entries"][0]
            raise PublishFailed(f"{failure.get('ErrorCode')}: {failure.get('ErrorMessage')}")
        self._dynamodb.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="SET #state = :sent",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":sent": {"S": "SENT"}},
        )
        logger.info("announced", generation_id=record.id, detail_type=entry["DetailType"])
        return True

    def _claim(self, key: dict[str, Any]) -> bool:
        expires = int(self._clock()) + MARKER_DAYS * 86400
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={**key, "state": {"S": "SENDING"}, "ttl": {"N": str(expires)}},
                ConditionExpression="attribute_not_exists(PK) OR #state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":sending": {"S": "SENDING"}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
