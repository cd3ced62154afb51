"""Query function: the API's read routes. Thin: parse, call the core, shape the reply."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.api.generations import GENERATION_ID_PATTERN, GenerationView
from ideogram_assets.api.views import generation_view
from ideogram_assets.aws import s3_client
from ideogram_assets.config import base_settings
from ideogram_assets.health import HealthReport, check_health
from ideogram_assets.http_errors import NotFound, error_responses, register_error_handlers
from ideogram_assets.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)


@app.get(
    "/health",
    summary="Whether the table and the bucket are reachable",
    responses={
        200: {"description": "Healthy", "content": {"application/json": {"model": HealthReport}}},
        503: {
            "description": "A dependency is down",
            "content": {"application/json": {"model": HealthReport}},
        },
    },
)
@tracer.capture_method
def health() -> Response[HealthReport]:
    report = check_health(base_settings())
    if report.status != "ok":
        metrics.add_metric(name="HealthDegraded", unit=MetricUnit.Count, value=1)
    status_code = 200 if report.status == "ok" else 503
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=report)


@app.get(
    "/generations/<generation_id>",
    summary="One generation's record, with a short-lived link to its image",
    responses={
        200: {"description": "The record", "content": {"application/json": {"model": GenerationView}}},
        **error_responses(404, 422),
    },
)
# The reply holds the prompt and a presigned link: kept out of traces.
@tracer.capture_method(capture_response=False)
def get_generation(
    generation_id: Annotated[
        str, Path(pattern=GENERATION_ID_PATTERN, description="32 lowercase hex characters")
    ],
) -> Response[GenerationView]:
    from ideogram_assets.wiring import record_store  # PynamoDB loads with the first read

    settings = base_settings()
    record = record_store(settings).get(generation_id)
    if record is None:
        raise NotFound(f"generation {generation_id} was not found")
    view = generation_view(record, s3_client(), settings.presigned_url_seconds)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=view)


# clear_state: keys appended during one invocation (request_id) never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
