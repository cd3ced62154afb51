"""Generate function: POST /generations calls Ideogram and persists every image, in one invocation."""

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.api_models import GenerationRequest, GenerationsResponse
from ideogram_assets.aws import s3_client
from ideogram_assets.config import get_settings, ideogram_api_key
from ideogram_assets.http_errors import error_responses, register_error_handlers
from ideogram_assets.idempotency import IDEMPOTENCY_HEADER, run_once, validated_key
from ideogram_assets.observability import logger, metrics, trace_requests, tracer
from ideogram_assets.views import record_view, with_fresh_link

if TYPE_CHECKING:
    import requests

    from ideogram_assets.pipeline import Pipeline
    from ideogram_assets.pricing import PriceTable

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)


# The generation machinery (HTTP client, storage, transactions) loads on the first request:
# importing this module only registers the routes and their validation models.


@cache
def _http_session() -> "requests.Session":
    """One pooled session per execution environment, for Ideogram calls and image downloads."""
    import requests

    trace_requests()
    return requests.Session()


@cache
def _price_table(overrides: str | None) -> "PriceTable":
    from ideogram_assets.pricing import PriceTable

    return PriceTable(overrides)


def _pipeline() -> "Pipeline":
    from ideogram_assets.ideogram import IdeogramClient
    from ideogram_assets.pipeline import GenerationServices, Pipeline

    settings = get_settings()
    session = _http_session()
    # The key is read per invocation (Powertools caches it), so a rotated secret is picked up.
    client = IdeogramClient(settings.ideogram_base_url, ideogram_api_key(settings), session=session)
    services = GenerationServices(
        settings=settings,
        ideogram=client,
        s3=s3_client(),
        http=session,
        prices=_price_table(settings.pricing_overrides),
    )
    return Pipeline(services)


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
@tracer.capture_method
def create_generations(request: GenerationRequest) -> Response[GenerationsResponse]:
    context = app.lambda_context
    settings = get_settings()

    def generate() -> dict[str, Any]:
        def remaining_seconds() -> float:
            return float(context.get_remaining_time_in_millis()) / 1000

        outcome = _pipeline().run(request, remaining_seconds=remaining_seconds)
        body = GenerationsResponse(
            request_id=outcome.request_id,
            complete=outcome.complete,
            generations=[record_view(record) for record in outcome.records],
        )
        # 202: Ideogram generated the images but some are not stored yet; reconciliation finishes them.
        return {"status": 201 if outcome.complete else 202, "body": body.model_dump(mode="json")}

    key = app.current_event.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        reply = generate()
    else:
        request_data = request.model_dump(mode="json")
        reply = run_once(
            validated_key(key), request_data, generate, table_name=settings.table_name, context=context
        )
    # Links are presigned per reply, replays included: a stored reply never holds one.
    body = GenerationsResponse.model_validate(reply["body"])
    body.generations = [with_fresh_link(view, s3_client(), settings) for view in body.generations]
    return Response(status_code=reply["status"], content_type=content_types.APPLICATION_JSON, body=body)


# clear_state: keys appended during one invocation (request_id) never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
