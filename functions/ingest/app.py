"""Ingest function: generation requests from the queue (upstream events, batches, direct messages).

Thin: Powertools' BatchProcessor runs each message through the ingest service, one at a time
(each may take Ideogram's slots), and reports the ones that failed so only they come back.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.observability import logger, metrics, tracer

# A batch whose every message failed is reported like any other (its failures come back with
# their backoff), not raised: a raise would retry them all at once and count a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    from ideogram_assets.ingest.wiring import ingest  # loads on the first batch

    service = ingest()

    def handle(record: SQSRecord) -> None:
        service.process(record.raw_event, context)

    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
