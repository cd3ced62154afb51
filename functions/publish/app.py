"""Publish function: announces records' changes to STORED, FAILED or LOST on the bus, from the
table's stream (whatever path made the change: the API, an event, a batch, the reconciler).

Thin: Powertools' BatchProcessor runs each stream record through the publisher and reports the
first failure, so the stream resumes from it (ReportBatchItemFailures).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    from ideogram_assets.events.publisher import changed_status
    from ideogram_assets.events.wiring import publisher

    service = publisher()

    def handle(record: DynamoDBRecord) -> None:
        changed = changed_status(record.raw_event)
        if changed is not None:
            service.publish(changed)

    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
