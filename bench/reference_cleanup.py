"""The baseline the retention sweep is measured against: the cleanup the reference script does.

It reads every record (one Scan of the whole table, its filter keeping only what has expired),
then, for each expired record, deletes its object (one DeleteObject per key) and, only once S3
has confirmed that delete, its record (one DeleteItem per record, under the same condition the
sweep writes: still stored, still expiring that day, no legal hold). It keeps no counters and
no checkpoint. The Scan is finished before the first delete, so no page boundary moves under it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

_NAMES = {"#status": "status", "#bucket": "bucket", "#key": "key", "#hold": "legalHold"}
_NOT_HELD = "(attribute_not_exists(#hold) OR #hold = :no)"
EXPIRED_BY = f"expiresOn <= :today AND #status = :stored AND {_NOT_HELD}"
STILL_EXPIRED_ON = f"expiresOn = :day AND #status = :stored AND {_NOT_HELD}"


def reference_cleanup(dynamodb: DynamoDBClient, s3: S3Client, table: str, today: date) -> Counter[str]:
    """Deletes what expired on or before `today`; returns the outcomes it counted."""
    outcomes: Counter[str] = Counter()
    expired: list[dict[str, Any]] = []
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression=EXPIRED_BY,
        ProjectionExpression="PK, SK, #bucket, #key, expiresOn",
        ExpressionAttributeNames=_NAMES,
        ExpressionAttributeValues={
            ":today": {"S": today.isoformat()},
            ":stored": {"S": "STORED"},
            ":no": {"BOOL": False},
        },
    )
    for page in pages:
        expired.extend(page.get("Items", []))
    for item in expired:
        try:
            s3.delete_object(Bucket=item["bucket"]["S"], Key=item["key"]["S"])
        except ClientError:
            outcomes["object_delete_failed"] += 1
            continue
        try:
            dynamodb.delete_item(
                TableName=table,
                Key={"PK": item["PK"], "SK": item["SK"]},
                ConditionExpression=STILL_EXPIRED_ON,
                ExpressionAttributeNames={"#status": "status", "#hold": "legalHold"},
                ExpressionAttributeValues={
                    ":day": item["expiresOn"],
                    ":stored": {"S": "STORED"},
                    ":no": {"BOOL": False},
                },
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            outcomes["changed_meanwhile"] += 1
            continue
        outcomes["deleted"] += 1
    return outcomes
