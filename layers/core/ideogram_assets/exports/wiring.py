"""The exports' collaborators, built once per execution environment on first use.

The API side (ExportsFunction) needs the job store, a Lambda client and the presigner; the worker
(ExportWorkerFunction) needs the job store, S3 and the search, which loads PynamoDB.
"""

from __future__ import annotations

from functools import cache, partial
from typing import TYPE_CHECKING

import boto3

from ideogram_assets.aws import CLIENT_CONFIG, dynamodb_client, s3_client
from ideogram_assets.exports.jobs import ExportJobs, utc_now
from ideogram_assets.exports.service import ExportRequests, WorkerInvoker
from ideogram_assets.exports.settings import export_settings

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

    from ideogram_assets.exports.worker import ExportWorker


@cache
def lambda_client() -> LambdaClient:
    return boto3.client("lambda", config=CLIENT_CONFIG)


@cache
def export_requests() -> ExportRequests:
    """POST and GET /exports."""
    from ideogram_assets.links import presigned_get_url

    settings = export_settings()
    return ExportRequests(
        jobs=ExportJobs(settings.table_name, dynamodb_client()),
        start_worker=WorkerInvoker(lambda_client(), settings.worker_function),
        presign=lambda key: presigned_get_url(
            s3_client(), settings.bucket_name, key, settings.presigned_url_seconds
        ),
        link_seconds=settings.presigned_url_seconds,
        now=utc_now,
    )


@cache
def export_worker() -> ExportWorker:
    """The worker's run, with the search of this environment's table."""
    from ideogram_assets.config import search_settings
    from ideogram_assets.exports.worker import ExportWorker
    from ideogram_assets.wiring import search_service

    settings = search_settings()
    return ExportWorker(
        jobs=ExportJobs(settings.table_name, dynamodb_client()),
        records=partial(search_service, settings),
        s3=s3_client(),
        bucket=settings.bucket_name,
        now=utc_now,
    )
