"""The export worker's run: every record matching a job's filters, newest first, streamed into
one S3 object, then the job marked DONE or FAILED.

Memory stays flat however many records match: the search yields records one at a time and the
writer holds one part. Time is bounded by the invocation: the run stops while there is still
time to abort the upload and say so in the job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from ideogram_assets.exports.jobs import WORKER_TIMEOUT_SECONDS, ExportJobs
from ideogram_assets.exports.query import query_filters
from ideogram_assets.exports.rows import CONTENT_TYPES, export_row, file_extension, header, line_encoder
from ideogram_assets.exports.writer import (
    DEFAULT_PART_BYTES,
    ExportObjectWriter,
    ExportWriteFailed,
    ObjectSettings,
)
from ideogram_assets.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from ideogram_assets.exports.jobs import ExportJob
    from ideogram_assets.records.model import GenerationRecord
    from ideogram_assets.search.filters import SearchFilters

EXPORT_PREFIX = "exports/"
# Time kept back at the end of the invocation to abort the upload and mark the job FAILED.
RESERVE_MILLIS = 60_000
TIME_LIMIT_MESSAGE = (
    f"the export did not finish within the worker's {WORKER_TIMEOUT_SECONDS // 60}-minute limit;"
    " narrow it with filters"
)
UNEXPECTED_MESSAGE = "the export failed unexpectedly; the error has been logged"


class Budget(Protocol):
    """How much of the invocation is left (a LambdaContext is one)."""

    def get_remaining_time_in_millis(self) -> int: ...


class RecordSource(Protocol):
    """The search: every record matching the filters, newest first, one at a time."""

    def iterate(self, filters: SearchFilters) -> Iterator[GenerationRecord]: ...


class OutOfTime(Exception):
    """The invocation is about to end before the export does."""


def export_key(job: ExportJob) -> str:
    return f"{EXPORT_PREFIX}{job.id}.{file_extension(job.format)}"


@dataclass(frozen=True)
class RunSummary:
    export_id: str
    outcome: str  # done | failed | skipped (not RUNNING, or already claimed by another delivery)
    records: int = 0
    bytes: int = 0
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "exportId": self.export_id,
            "outcome": self.outcome,
            "records": self.records,
            "bytes": self.bytes,
        }
        if self.message:
            summary["message"] = self.message
        return summary


class ExportWorker:
    def __init__(
        self,
        *,
        jobs: ExportJobs,
        records: Callable[[], RecordSource],
        s3: S3Client,
        bucket: str,
        now: Callable[[], datetime],
        part_size: int = DEFAULT_PART_BYTES,
    ) -> None:
        self._jobs = jobs
        # Built on demand: a duplicate delivery (job already claimed) needs no search at all.
        self._records = records
        self._s3 = s3
        self._bucket = bucket
        self._now = now
        self._part_size = part_size

    def run(self, export_id: str, budget: Budget) -> RunSummary:
        """Writes the job's export. A failure other than running out of time marks the job
        FAILED and is raised, so that Lambda counts the invocation as an error."""
        job = self._jobs.claim(export_id, self._now())
        if job is None:
            logger.warning("export job not RUNNING or already claimed; nothing to do")
            return RunSummary(export_id, "skipped")
        key = export_key(job)
        filename = f"generations-{job.id}.{file_extension(job.format)}"
        writer = ExportObjectWriter(
            self._s3,
            ObjectSettings(
                bucket=self._bucket,
                key=key,
                content_type=CONTENT_TYPES[job.format],
                content_disposition=f'attachment; filename="{filename}"',
            ),
            part_size=self._part_size,
        )
        encode = line_encoder(job.format)
        count = 0
        try:
            writer.write(header(job.format))
            for record in self._records().iterate(query_filters(job.query)):
                if budget.get_remaining_time_in_millis() < RESERVE_MILLIS:
                    raise OutOfTime
                writer.write(encode(export_row(record)))
                count += 1
            written = writer.close()
        except OutOfTime:
            writer.abort()
            return self._failed(job, TIME_LIMIT_MESSAGE, count)
        except ExportWriteFailed as error:
            writer.abort()
            self._failed(job, f"storing the export failed: {error.message}", count)
            raise
        except (PynamoDBException, ClientError, BotoCoreError) as error:
            writer.abort()
            self._failed(job, f"reading the records failed ({type(error).__name__}); try again", count)
            raise
        except Exception as error:
            writer.abort()
            logger.exception("export failed", extra={"error": type(error).__name__})
            self._failed(job, UNEXPECTED_MESSAGE, count)
            raise
        self._jobs.finish_done(job.id, self._now(), key=written.key, records=count, size=written.size)
        metrics.add_metric(name="ExportRecords", unit=MetricUnit.Count, value=count)
        logger.info(
            "export written",
            extra={"records": count, "bytes": written.size, "parts": written.parts, "format": job.format},
        )
        return RunSummary(job.id, "done", records=count, bytes=written.size)

    def _failed(self, job: ExportJob, message: str, count: int) -> RunSummary:
        logger.error(
            "export failed", extra={"export_id": job.id, "records_written": count, "reason": message}
        )
        metrics.add_metric(name="ExportsFailed", unit=MetricUnit.Count, value=1)
        self._jobs.finish_failed(job.id, self._now(), message)
        return RunSummary(job.id, "failed", records=count, message=message)
