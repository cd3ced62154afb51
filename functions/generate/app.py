"""Generate function: POST /generations calls Ideogram and persists every image, in one invocation;
POST /generations/{id}/reproduce does the same from a stored record.

Thin: the resolver parses and validates the request, the generation service does the work, and
this module shapes the reply. The service and its clients are built on the first request
(generation.wiring), so a cold start pays only for the routes and their models.
"""

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.api.generations import GENERATION_ID_PATTERN, GenerationRequest, GenerationsResponse
from ideogram_assets.api.views import generation_view
from ideogram_assets.aws import s3_client
from ideogram_assets.config import generate_settings
from ideogram_assets.generation.origin import Origin
from ideogram_assets.http_errors import error_responses, register_error_handlers
from ideogram_assets.idempotency import KEY_PATTERN
from ideogram_assets.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from ideogram_assets.generation.service import Outcome

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


_GENERATED: dict[int, OpenAPIResponse] = {
    200: {
        "description": "on_duplicate=reuse: the images of this prompt and parameters stored already "
        "(nothing was generated; `reused` is true)",
        "content": {"application/json": {"model": GenerationsResponse}},
    },
    201: {
        "description": "Every image is stored (or recorded as unsafe)",
        "content": {"application/json": {"model": GenerationsResponse}},
    },
    202: {
        "description": "Generated, but some image is not stored yet (PENDING or FAILED); "
        "reconciliation finishes it",
        "content": {"application/json": {"model": GenerationsResponse}},
    },
}


def _reply(outcome: "Outcome") -> Response[GenerationsResponse]:
    link_seconds = generate_settings().presigned_url_seconds
    body = GenerationsResponse(
        request_id=outcome.request_id,
        complete=outcome.complete,
        reused=outcome.reused,
        generations=[generation_view(record, s3_client(), link_seconds) for record in outcome.records],
    )
    # 202: Ideogram generated the images but some are not stored yet; reconciliation finishes them.
    status = 200 if outcome.reused else 201 if outcome.complete else 202
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _correlation_id() -> str | None:
    request_id: str | None = app.current_event.request_context.request_id
    return request_id


@app.post(
    "/generations",
    summary="Generate images with Ideogram and store every one of them",
    responses={**_GENERATED, **error_responses(400, 409, 422, 502, 503)},
)
# The reply holds prompts and presigned links: kept out of traces.
@tracer.capture_method(capture_response=False)
def create_generations(
    request: GenerationRequest, idempotency_key: IdempotencyKey = None
) -> Response[GenerationsResponse]:
    from ideogram_assets.generation.wiring import generation_service  # loads on the first request

    outcome = generation_service().generate(
        request.spec(),
        budget=app.lambda_context,
        origin=Origin(source="api", correlation_id=_correlation_id()),
        idempotency_key=idempotency_key,
        on_duplicate=request.on_duplicate,
    )
    return _reply(outcome)


@app.post(
    "/generations/<generation_id>/reproduce",
    summary="Generate a stored image again from its seed, prompt and parameters",
    description="The new record has `parentId`, `source: reproduce`, the tag `reproduced`, and "
    "`matchesParent`: whether its bytes equal the original's.",
    responses={
        201: _GENERATED[201],
        202: _GENERATED[202],
        **error_responses(400, 404, 409, 422, 502, 503),
    },
)
@tracer.capture_method(capture_response=False)
def reproduce_generation(
    generation_id: Annotated[
        str, Path(pattern=GENERATION_ID_PATTERN, description="32 lowercase hex characters")
    ],
    idempotency_key: IdempotencyKey = None,
) -> Response[GenerationsResponse]:
    from ideogram_assets.generation.wiring import generation_service

    outcome = generation_service().reproduce(
        generation_id,
        budget=app.lambda_context,
        correlation_id=_correlation_id(),
        idempotency_key=idempotency_key,
    )
    return _reply(outcome)


# clear_state: keys appended during one invocation (request_id) never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
