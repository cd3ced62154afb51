"""Export jobs in the table: one item per export, `PK = EXPORT#<id>`, `SK = META`.

A job is created RUNNING by the API, claimed once by the worker (a duplicate delivery of the
worker's event finds it claimed and leaves it alone), and finished DONE or FAILED with a
condition on RUNNING, so a finished job never changes again. `ttl` removes the item after the
export's lifetime, as the bucket's lifecycle rule removes its file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from ideogram_assets.exports.rows import EXPORT_FORMATS, ExportFormat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

JOB_SORT_KEY = "META"
# How long a finished export can be downloaded; the bucket's exports/ lifecycle rule matches it.
EXPORT_LIFETIME = timedelta(days=7)
# ExportWorkerFunction's Timeout and EventInvokeConfig.MaximumEventAgeInSeconds in template.yaml
# (a unit test keeps them equal): a job still RUNNING after the longest wait for the worker,
# plus its longest run, plus a minute, will never finish.
WORKER_TIMEOUT_SECONDS = 900
WORKER_MAX_EVENT_AGE_SECONDS = 300
STALE_AFTER = timedelta(seconds=WORKER_MAX_EVENT_AGE_SECONDS + WORKER_TIMEOUT_SECONDS + 60)
STALE_MESSAGE = "the export did not finish"
_DB_ERRORS = (ClientError, BotoCoreError)


class JobStatus(StrEnum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class JobStoreUnavailable(Exception):
    """DynamoDB refused or did not answer a read or write of an export job."""


def job_key(export_id: str) -> str:
    return f"EXPORT#{export_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds, as every record's timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class ExportJob:
    id: str
    status: JobStatus
    format: ExportFormat
    # The filters as the caller wrote them (shown back), and as the search runs them.
    filters: dict[str, Any]
    query: dict[str, Any]
    created_at: str
    expires_at: int  # epoch seconds: the item's ttl
    started_at: str | None = None
    finished_at: str | None = None
    records: int | None = None
    bytes: int | None = None
    key: str | None = None  # the export's object, once DONE
    message: str | None = None  # why it FAILED

    def as_seen_at(self, now: datetime) -> ExportJob:
        """The job as callers see it: RUNNING far past the worker's longest run reads FAILED."""
        if self.status == JobStatus.RUNNING and now - parse_iso(self.created_at) > STALE_AFTER:
            return replace(self, status=JobStatus.FAILED, message=STALE_MESSAGE)
        return self

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now.timestamp()


def new_job(
    export_id: str,
    export_format: ExportFormat,
    filters: dict[str, Any],
    query: dict[str, Any],
    now: datetime,
) -> ExportJob:
    return ExportJob(
        id=export_id,
        status=JobStatus.RUNNING,
        format=export_format,
        filters=filters,
        query=query,
        created_at=iso(now),
        expires_at=int((now + EXPORT_LIFETIME).timestamp()),
    )


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def job_item(job: ExportJob) -> dict[str, AttributeValueTypeDef]:
    return {
        "PK": _s(job_key(job.id)),
        "SK": _s(JOB_SORT_KEY),
        "id": _s(job.id),
        "status": _s(job.status.value),
        "format": _s(job.format),
        "filters": _s(json.dumps(job.filters, sort_keys=True)),
        "query": _s(json.dumps(job.query, sort_keys=True)),
        "createdAt": _s(job.created_at),
        "ttl": _n(job.expires_at),
    }


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def _number(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return None if value is None else int(value["N"])


def job_from_item(item: dict[str, Any]) -> ExportJob:
    export_format = item["format"]["S"]
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"export job with unknown format {export_format!r}")
    return ExportJob(
        id=item["id"]["S"],
        status=JobStatus(item["status"]["S"]),
        format=cast("ExportFormat", export_format),
        filters=json.loads(item["filters"]["S"]),
        query=json.loads(item["query"]["S"]),
        created_at=item["createdAt"]["S"],
        expires_at=int(item["ttl"]["N"]),
        started_at=_text(item, "startedAt"),
        finished_at=_text(item, "finishedAt"),
        records=_number(item, "records"),
        bytes=_number(item, "bytes"),
        key=_text(item, "key"),
        message=_text(item, "message"),
    )


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _unavailable(operation: str, error: Exception) -> JobStoreUnavailable:
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    return JobStoreUnavailable(f"DynamoDB {operation} failed ({code or type(error).__name__})")


class ExportJobs:
    """The export jobs of one table."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def _key(self, export_id: str) -> dict[str, AttributeValueTypeDef]:
        return {"PK": _s(job_key(export_id)), "SK": _s(JOB_SORT_KEY)}

    def create(self, job: ExportJob) -> None:
        try:
            self._client.put_item(
                TableName=self._table, Item=job_item(job), ConditionExpression="attribute_not_exists(PK)"
            )
        except _DB_ERRORS as error:
            raise _unavailable("PutItem", error) from error

    def get(self, export_id: str) -> ExportJob | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=self._key(export_id), ConsistentRead=True
            )
        except _DB_ERRORS as error:
            raise _unavailable("GetItem", error) from error
        item = response.get("Item")
        return None if item is None else job_from_item(item)

    def claim(self, export_id: str, now: datetime) -> ExportJob | None:
        """Marks the job started and returns it; None when it is not RUNNING or already claimed."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(export_id),
                UpdateExpression="SET startedAt = :now",
                ConditionExpression="#status = :running AND attribute_not_exists(startedAt)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":now": _s(iso(now)), ":running": _s(JobStatus.RUNNING.value)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _conditional_failure(error):
                return None
            raise _unavailable("UpdateItem", error) from error
        except BotoCoreError as error:
            raise _unavailable("UpdateItem", error) from error
        return job_from_item(response["Attributes"])

    def finish_done(self, export_id: str, now: datetime, *, key: str, records: int, size: int) -> bool:
        return self._finish(
            export_id,
            JobStatus.DONE,
            now,
            "#key = :key, #records = :records, #bytes = :bytes",
            {":key": _s(key), ":records": _n(records), ":bytes": _n(size)},
        )

    def finish_failed(self, export_id: str, now: datetime, message: str) -> bool:
        return self._finish(
            export_id, JobStatus.FAILED, now, "#message = :message", {":message": _s(message)}
        )

    def _finish(
        self,
        export_id: str,
        status: JobStatus,
        now: datetime,
        assignments: str,
        values: dict[str, AttributeValueTypeDef],
    ) -> bool:
        """Ends a RUNNING job; False when it had ended already (it is left as it is)."""
        names = {"#status": "status", "#key": "key", "#records": "records", "#bytes": "bytes"}
        names |= {"#message": "message"}
        used = {name: value for name, value in names.items() if name == "#status" or name in assignments}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(export_id),
                UpdateExpression=f"SET #status = :status, finishedAt = :now, {assignments}",
                ConditionExpression="#status = :running",
                ExpressionAttributeNames=used,
                ExpressionAttributeValues={
                    ":status": _s(status.value),
                    ":now": _s(iso(now)),
                    ":running": _s(JobStatus.RUNNING.value),
                    **values,
                },
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise _unavailable("UpdateItem", error) from error
        except BotoCoreError as error:
            raise _unavailable("UpdateItem", error) from error
        return True
