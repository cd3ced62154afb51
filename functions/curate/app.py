"""Curate function: PATCH /generations/{id} labels an image (tags, star, note) and changes what
is kept of it and for how long.

Thin: the resolver validates the body; the retention changes service writes the object's tag and
the record together, the label changes service the record and its index items; the reply is the
record as the API shows it.
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
    summary="Tag, star or annotate an image; pin it to a retention class; set or clear its legal hold",
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
    from ideogram_assets.records.errors import GenerationNotFound
    from ideogram_assets.wiring import label_changes, retention_changes  # loads on the first request

    settings = base_settings()
    try:
        if change.changes_retention:
            record = retention_changes().change(
                generation_id, retention_class=change.retention_class, legal_hold=change.legal_hold
            )
        if change.changes_labels:
            record = label_changes().change(
                generation_id,
                add_tags=frozenset(change.add_tags),
                remove_tags=frozenset(change.remove_tags),
                starred=change.starred,
                note=change.note or None,
                clear_note="note" in change.model_fields_set and not change.note,
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
