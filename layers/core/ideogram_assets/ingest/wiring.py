"""The ingest's collaborators, built once per execution environment."""

from __future__ import annotations

from functools import cache

from ideogram_assets.aws import CLIENT_CONFIG, dynamodb_client
from ideogram_assets.batches.progress import BatchProgress
from ideogram_assets.config import ingest_settings
from ideogram_assets.generation.wiring import generation_service
from ideogram_assets.ingest.service import Ingest, IngestQueue


@cache
def ingest() -> Ingest:
    import boto3

    settings = ingest_settings()
    queue = IngestQueue(boto3.client("sqs", config=CLIENT_CONFIG), settings.queue_url, settings.max_receives)
    return Ingest(
        generation=generation_service(),
        queue=queue,
        batches=BatchProgress(settings.table_name, dynamodb_client()),
    )
