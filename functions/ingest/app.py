"""Ingest function: generation requests from the queue (upstream events, batches, direct messages).

Thin: Powertools' AsyncBatchProcessor runs the batch's messages through the ingest service at
once, each on a thread of its own, and reports the ones that failed so only they come back. The
messages share this environment's Ideogram slots (ingest.wiring), so a message's writes, download
and upload overlap another's generation instead of leaving Ideogram's slots idle.
"""

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.observability import logger, metrics, tracer

# A batch whose every message failed is reported like any other (its failures come back with
# their backoff), not raised: a raise would retry them all at once and count a function error.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# One thread per message of the largest batch the template allows (IngestBatchSize <= 10).
workers = ThreadPoolExecutor(max_workers=10, thread_name_prefix="message")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    from ideogram_assets.ingest.wiring import ingest  # loads on the first batch

    service = ingest()

    async def handle(record: SQSRecord) -> None:
        # Each message in a copy of the batch's context: its log keys are its own.
        in_context = contextvars.copy_context().run
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(workers, in_context, service.process, record.raw_event, context)

    with service.batch():
        return async_process_partial_response(
            event=event, record_handler=handle, processor=processor, context=context
        )
