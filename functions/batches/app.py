"""Batches function: POST /batches queues up to 1,000 generation requests, GET /batches/{id}
shows how far they have got.

Thin: the resolver validates the body, the batches service records the batch and sends one
message per item to the generation requests queue (the ingest generates them at Ideogram's
pace and reports each item's end), and the reply is the batch as the API shows it.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.api.batches import (
    BATCH_ID_PATTERN,
    BatchAccepted,
    BatchCounts,
    BatchItemFailure,
    BatchItemResult,
    BatchRequest,
    BatchView,
)
from ideogram_assets.batches.service import BatchesUnavailable, counts
from ideogram_assets.batches.store import BatchState, ItemStatus
from ideogram_assets.http_errors import NotFound, error_reply, error_responses, register_error_handlers
from ideogram_assets.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)

RETRY_AFTER_SECONDS = "5"


# Powertools' exception_handler carries no type hints.
@app.exception_handler(BatchesUnavailable)  # type: ignore[untyped-decorator]
def batches_unavailable(error: BatchesUnavailable) -> Response[Any]:
    return error_reply(503, error.message, headers={"Retry-After": RETRY_AFTER_SECONDS})


def _view(batch: BatchState) -> BatchView:
    tally = counts(batch.items)
    return BatchView(
        batch_id=batch.batch_id,
        created_at=batch.created_at,
        items=batch.item_count,
        counts=BatchCounts(**tally),
        complete=tally[ItemStatus.QUEUED.value] == 0,
        results=[
            BatchItemResult(
                item_id=item.item_id,
                status=item.status.value,
                generation_ids=list(item.generation_ids),
                statuses=list(item.statuses),
                last_error=item.last_error if item.status is ItemStatus.QUEUED else None,
            )
            for item in batch.items
        ],
        failures=[
            BatchItemFailure(item_id=item.item_id, reason=item.reason or "no reason recorded")
            for item in batch.items
            if item.status is ItemStatus.FAILED
        ],
    )


@app.post(
    "/batches",
    summary="Queue up to 1,000 generation requests at once",
    description="Records the batch and queues one generation request per item; answers at once. "
    "Poll `Location` (GET /batches/{batch_id}) until `complete`. Each item's generation is "
    "idempotent (its `client_request_id`, by default `batch-<batchId>-<itemId>`): a redelivered "
    "item never calls Ideogram twice.",
    responses={
        202: {
            "description": "The batch is recorded and its items queued (those that could not be "
            "are FAILED and listed in `failures`); `Location` is where to follow it",
            "content": {"application/json": {"model": BatchAccepted}},
        },
        **error_responses(400, 422, 503),
    },
)
@tracer.capture_method(capture_response=False)
def start_batch(request: BatchRequest) -> Response[BatchAccepted]:
    from ideogram_assets.batches.wiring import batch_requests  # loads on the first request

    context = app.lambda_context
    started = batch_requests().start(
        request.new_items(), seconds_left=lambda: context.get_remaining_time_in_millis() / 1000
    )
    body = BatchAccepted(
        batch_id=started.batch_id,
        items=started.items,
        status="QUEUED",
        enqueued=started.enqueued,
        failures=[
            BatchItemFailure(item_id=item_id, reason=reason) for item_id, reason in started.failures.items()
        ],
    )
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Location": f"/batches/{started.batch_id}"},
    )


@app.get(
    "/batches/<batch_id>",
    summary="A batch's progress: counts by status, each item's generations, failed items and why",
    responses={
        200: {"description": "The batch", "content": {"application/json": {"model": BatchView}}},
        **error_responses(404, 422, 503),
    },
)
@tracer.capture_method(capture_response=False)
def get_batch(
    batch_id: Annotated[str, Path(pattern=BATCH_ID_PATTERN, description="32 lowercase hex characters")],
) -> Response[BatchView]:
    from ideogram_assets.batches.wiring import batch_requests  # loads on the first request

    batch = batch_requests().find(batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} was not found")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_view(batch))


# clear_state: keys appended during one invocation never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
