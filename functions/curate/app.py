"""Curate function: PATCH /generations/{id} changes what is kept of an image and for how long.

Thin: the resolver validates the body, the retention changes service writes the object's tag and
the record together, and the reply is the record as the API shows it.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ideogram_assets.api.generations import GENERATION_ID_PATTERN, GenerationChange, GenerationView
from ideogram_assets.api.views import generation_view
from ideogram_assets.aws import s3_client
from ideogram_assets.config import base_settings
from ideogram_assets.http_errors import NotFound, error_responses, register_error_handlers
from ideogram_assets.observability import logger, metrics, tracer

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)


@app.patch(
    "/generations/<generation_id>",
    summary="Pin an image to a retention class, or set or clear its legal hold",
    responses={
        200: {
            "description": "The record as changed",
            "content": {"application/json": {"model": GenerationView}},
        },
        **error_responses(400, 404, 409, 422),
    },
)
# The reply holds the prompt and a presigned link: kept out of traces.
@tracer.capture_method(capture_response=False)
def change_generation(
    generation_id: Annotated[
        str, Path(pattern=GENERATION_ID_PATTERN, description="32 lowercase hex characters")
    ],
    change: GenerationChange,
) -> Response[GenerationView]:
    from ideogram_assets.retention.pinning import GenerationNotFound
    from ideogram_assets.wiring import retention_changes  # loads on the first request

    settings = base_settings()
    try:
        record = retention_changes().change(
            generation_id, retention_class=change.retention_class, legal_hold=change.legal_hold
        )
    except GenerationNotFound as error:
        raise NotFound(str(error)) from None
    view = generation_view(record, s3_client(), settings.presigned_url_seconds)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=view)


# clear_state: keys appended during one invocation never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
