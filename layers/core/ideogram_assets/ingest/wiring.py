"""The ingest's collaborators, built once per execution environment."""

from __future__ import annotations

import time
from functools import cache

from ideogram_assets.aws import CLIENT_CONFIG, dynamodb_client
from ideogram_assets.batches.progress import BatchProgress
from ideogram_assets.config import ingest_settings
from ideogram_assets.generation.slots import ImageSlots
from ideogram_assets.generation.wiring import build_generation_service
from ideogram_assets.ingest.service import Ingest, IngestQueue


@cache
def ingest() -> Ingest:
    import boto3

    settings = ingest_settings()
    queue = IngestQueue(boto3.client("sqs", config=CLIENT_CONFIG), settings.queue_url, settings.max_receives)
    # The batch's requests run at once; together they hold at most this environment's share of
    # Ideogram's in-flight images, and only while Ideogram works on them.
    slots = ImageSlots(settings.image_slots, clock=time.monotonic)
    return Ingest(
        generation=build_generation_service(slots),
        queue=queue,
        batches=BatchProgress(settings.table_name, dynamodb_client()),
        slots=slots,
    )
