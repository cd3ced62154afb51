"""POST and GET /exports: record a job, start the worker on it, and show a job with a fresh link.

An export of a large history takes longer than an API request may (API Gateway stops waiting
after 30 s), so the API only records the job and starts the worker asynchronously; callers poll
the job until it is DONE (with a link) or FAILED (with a message).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ideogram_assets.exports.errors import ExportsUnavailable
from ideogram_assets.exports.jobs import ExportJob, ExportJobs, JobStatus, JobStoreUnavailable, new_job
from ideogram_assets.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

    from ideogram_assets.exports.rows import ExportFormat

NOT_STARTED_MESSAGE = "the export could not be started; try again shortly"


class WorkerNotStarted(Exception):
    """Lambda did not accept the worker's asynchronous invocation."""


class WorkerInvoker:
    """Starts the export worker on one job: Lambda's asynchronous Invoke (InvocationType=Event)."""

    def __init__(self, client: LambdaClient, function_name: str) -> None:
        self._client = client
        self._function_name = function_name

    def __call__(self, export_id: str) -> None:
        try:
            response = self._client.invoke(
                FunctionName=self._function_name,
                InvocationType="Event",
                Payload=json.dumps({"exportId": export_id}).encode(),
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            raise WorkerNotStarted(f"Lambda Invoke failed ({code})") from error
        except BotoCoreError as error:
            raise WorkerNotStarted(f"Lambda Invoke failed ({type(error).__name__})") from error
        if response["StatusCode"] != 202:
            raise WorkerNotStarted(f"Lambda Invoke answered {response['StatusCode']}, not 202")


@dataclass(frozen=True)
class ExportStatus:
    """A job as the API shows it: its link when DONE (made now, never stored)."""

    job: ExportJob
    url: str | None = None
    url_expires_in: int | None = None


class ExportRequests:
    def __init__(
        self,
        *,
        jobs: ExportJobs,
        start_worker: Callable[[str], None],
        presign: Callable[[str], str],
        link_seconds: int,
        now: Callable[[], datetime],
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._jobs = jobs
        self._start_worker = start_worker
        self._presign = presign
        self._link_seconds = link_seconds
        self._now = now
        self._new_id = new_id

    def start(self, export_format: ExportFormat, filters: dict[str, Any], query: dict[str, Any]) -> ExportJob:
        """Records a RUNNING job and starts the worker on it.

        Raises ExportsUnavailable when either fails; a job whose worker did not start is marked
        FAILED at once (and, should that write fail too, reads FAILED once it is stale).
        """
        job = new_job(self._new_id(), export_format, filters, query, self._now())
        try:
            self._jobs.create(job)
        except JobStoreUnavailable as error:
            logger.error("export job not recorded", extra={"error": str(error)})
            raise ExportsUnavailable("storage is unavailable right now; retry shortly") from error
        try:
            self._start_worker(job.id)
        except WorkerNotStarted as error:
            logger.error("export worker not started", extra={"export_id": job.id, "error": str(error)})
            try:
                self._jobs.finish_failed(job.id, self._now(), NOT_STARTED_MESSAGE)
            except JobStoreUnavailable as store_error:
                logger.error(
                    "export job left RUNNING; it reads FAILED once stale",
                    extra={"export_id": job.id, "error": str(store_error)},
                )
            raise ExportsUnavailable(NOT_STARTED_MESSAGE) from error
        logger.info("export started", extra={"export_id": job.id, "format": export_format})
        return job

    def find(self, export_id: str) -> ExportStatus | None:
        """The job as of now, with a fresh link when DONE; None when there is none (or it expired)."""
        try:
            job = self._jobs.get(export_id)
        except JobStoreUnavailable as error:
            logger.error("export job not read", extra={"error": str(error)})
            raise ExportsUnavailable("storage is unavailable right now; retry shortly") from error
        now = self._now()
        if job is None or job.expired(now):
            return None
        job = job.as_seen_at(now)
        if job.status != JobStatus.DONE or job.key is None:
            return ExportStatus(job)
        return ExportStatus(job, url=self._presign(job.key), url_expires_in=self._link_seconds)
