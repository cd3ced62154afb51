"""The batches' collaborators, built once per execution environment on first use.

The API side (BatchesFunction) needs the store, the queue and the progress updates (to mark the
items it could not queue); the ingest needs only the progress updates.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3

from ideogram_assets.aws import CLIENT_CONFIG, dynamodb_client
from ideogram_assets.batches.enqueue import QueueSender
from ideogram_assets.batches.progress import BatchProgress
from ideogram_assets.batches.service import BatchRequests
from ideogram_assets.batches.settings import batch_settings
from ideogram_assets.batches.store import BatchStore, utc_now
from ideogram_assets.config import base_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@cache
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=CLIENT_CONFIG)


@cache
def batch_requests() -> BatchRequests:
    """POST and GET /batches."""
    settings = batch_settings()
    return BatchRequests(
        store=BatchStore(settings.table_name, dynamodb_client()),
        progress=BatchProgress(settings.table_name, dynamodb_client()),
        sender=QueueSender(sqs_client(), settings.queue_url),
        now=utc_now,
    )


@cache
def batch_progress() -> BatchProgress:
    """The ingest's reports of each batch item's end."""
    return BatchProgress(base_settings().table_name, dynamodb_client())
