"""Generate function: POST /generations calls Ideogram and persists every image, in one invocation.

Thin: the resolver parses and validates the request, the generation service does the work, and
this module shapes the reply. The service and its clients are built on the first request
(generation.wiring), so a cold start pays only for the routes and their models.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.api.generations import GenerationRequest, GenerationsResponse
from ideogram_assets.api.views import generation_view
from ideogram_assets.aws import s3_client
from ideogram_assets.config import generate_settings
from ideogram_assets.http_errors import error_responses, register_error_handlers
from ideogram_assets.idempotency import KEY_PATTERN
from ideogram_assets.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        pattern=KEY_PATTERN.pattern,
        description="Makes a retried request safe: the same key returns the first request's result "
        "for 24 hours and never calls Ideogram again. 8-128 characters of A-Z a-z 0-9 _ . : -",
    ),
]


@app.post(
    "/generations",
    summary="Generate images with Ideogram and store every one of them",
    responses={
        201: {
            "description": "Every image is stored (or recorded as unsafe)",
            "content": {"application/json": {"model": GenerationsResponse}},
        },
        202: {
            "description": "Generated, but some image is not stored yet (PENDING or FAILED); "
            "reconciliation finishes it",
            "content": {"application/json": {"model": GenerationsResponse}},
        },
        **error_responses(400, 409, 422, 502, 503),
    },
)
# The reply holds prompts and presigned links: kept out of traces.
@tracer.capture_method(capture_response=False)
def create_generations(
    request: GenerationRequest, idempotency_key: IdempotencyKey = None
) -> Response[GenerationsResponse]:
    from ideogram_assets.generation.wiring import generation_service  # loads on the first request

    outcome = generation_service().generate(
        request, budget=app.lambda_context, source="api", idempotency_key=idempotency_key
    )
    link_seconds = generate_settings().presigned_url_seconds
    body = GenerationsResponse(
        request_id=outcome.request_id,
        complete=outcome.complete,
        generations=[generation_view(record, s3_client(), link_seconds) for record in outcome.records],
    )
    # 202: Ideogram generated the images but some are not stored yet; reconciliation finishes them.
    status = 201 if outcome.complete else 202
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


# clear_state: keys appended during one invocation (request_id) never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
