"""Exports function: POST /exports starts an export job, GET /exports/{id} shows it.

Thin: the resolver validates the body, the exports service records the job and starts the
export worker asynchronously (an export of a large history takes longer than an API request
may), and the reply is the job as the API shows it, with a fresh link once it is DONE.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.api.exports import EXPORT_ID_PATTERN, ExportRequest, ExportView
from ideogram_assets.exports.errors import ExportsUnavailable
from ideogram_assets.exports.service import ExportStatus
from ideogram_assets.http_errors import NotFound, error_reply, error_responses, register_error_handlers
from ideogram_assets.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)

RETRY_AFTER_SECONDS = "5"


# Powertools' exception_handler carries no type hints.
@app.exception_handler(ExportsUnavailable)  # type: ignore[untyped-decorator]
def exports_unavailable(error: ExportsUnavailable) -> Response[Any]:
    return error_reply(503, error.message, headers={"Retry-After": RETRY_AFTER_SECONDS})


def _view(status: ExportStatus) -> ExportView:
    job = status.job
    return ExportView(
        id=job.id,
        status=job.status.value,
        format=job.format,
        filters=job.filters,
        created_at=job.created_at,
        finished_at=job.finished_at,
        records=job.records,
        bytes=job.bytes,
        url=status.url,
        url_expires_in=status.url_expires_in,
        message=job.message,
    )


@app.post(
    "/exports",
    summary="Export the history (or the records matching filters) as JSON Lines or CSV",
    description="Starts an export job and answers at once; poll `Location` until the job is DONE "
    "(its `url` downloads the file) or FAILED (its `message` says why).",
    responses={
        202: {
            "description": "The export job, RUNNING; `Location` is where to poll it",
            "content": {"application/json": {"model": ExportView}},
        },
        **error_responses(400, 422, 503),
    },
)
@tracer.capture_method(capture_response=False)
def start_export(request: ExportRequest) -> Response[ExportView]:
    from ideogram_assets.exports.query import query_json
    from ideogram_assets.exports.wiring import export_requests  # loads on the first request

    filters = request.filters.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    job = export_requests().start(request.format, filters, query_json(request.filters.filters()))
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=_view(ExportStatus(job)),
        headers={"Location": f"/exports/{job.id}"},
    )


@app.get(
    "/exports/<export_id>",
    summary="An export job: RUNNING, DONE with a short-lived link to its file, or FAILED",
    responses={
        200: {"description": "The export job", "content": {"application/json": {"model": ExportView}}},
        **error_responses(404, 422, 503),
    },
)
# The reply holds a presigned link: kept out of traces.
@tracer.capture_method(capture_response=False)
def get_export(
    export_id: Annotated[str, Path(pattern=EXPORT_ID_PATTERN, description="32 lowercase hex characters")],
) -> Response[ExportView]:
    from ideogram_assets.exports.wiring import export_requests  # loads on the first request

    status = export_requests().find(export_id)
    if status is None:
        raise NotFound(f"export {export_id} was not found")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_view(status))


# clear_state: keys appended during one invocation never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
