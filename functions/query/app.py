"""Query function: the API's read routes. Thin: parse, call the core, shape the reply."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from ideogram_assets.api.generations import GENERATION_ID_PATTERN, GenerationView
from ideogram_assets.api.reports import StorageReport
from ideogram_assets.api.search import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    PROMPT_HASH_PATTERN,
    SearchFields,
    SearchResponse,
)
from ideogram_assets.api.views import generation_view
from ideogram_assets.aws import s3_client
from ideogram_assets.config import base_settings, search_settings
from ideogram_assets.health import HealthReport, check_health
from ideogram_assets.http_errors import NotFound, error_responses, register_error_handlers
from ideogram_assets.ideogram.models import ModelVersion, StyleType
from ideogram_assets.ideogram.spec_values import MAX_SEED
from ideogram_assets.observability import logger, metrics, tracer
from ideogram_assets.records.status import Status
from ideogram_assets.search.cursor import MAX_CURSOR_CHARS

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


@app.get(
    "/generations",
    summary="Search the records, newest first: by words, tags, seed, model, style, status, star and time",
    description="Every filter given must hold. `q` matches whole words of the prompt or of the prompt "
    "Ideogram expanded it to, whatever their case, accents or punctuation. Pages follow `nextCursor`.",
    responses={
        200: {"description": "A page of matches", "content": {"application/json": {"model": SearchResponse}}},
        **error_responses(400),
    },
)
# The reply holds prompts and presigned links: kept out of traces.
@tracer.capture_method(capture_response=False)
def search_generations(
    q: Annotated[
        str | None, Query(max_length=MAX_QUERY_CHARS, description="Words that must all appear")
    ] = None,
    tags: Annotated[
        str | None, Query(description="Comma-separated tags that must all be on the image")
    ] = None,
    seed: Annotated[int | None, Query(ge=0, le=MAX_SEED)] = None,
    model: Annotated[ModelVersion | None, Query()] = None,
    style_type: Annotated[StyleType | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    starred: Annotated[bool | None, Query()] = None,
    created_from: Annotated[
        str | None, Query(alias="from", description="Created at or after: YYYY-MM-DD or an ISO-8601 time")
    ] = None,
    created_to: Annotated[
        str | None,
        Query(alias="to", description="Created at or before: YYYY-MM-DD (the whole day) or a time"),
    ] = None,
    prompt_hash: Annotated[str | None, Query(pattern=PROMPT_HASH_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_CHARS, description="nextCursor of a page")
    ] = None,
) -> Response[SearchResponse]:
    from ideogram_assets.wiring import search_service  # PynamoDB loads with the first search

    asked = {
        "q": q,
        "tags": [tag for tag in (tags or "").split(",") if tag],
        "seed": seed,
        "model": model,
        "style_type": style_type,
        "status": status,
        "starred": starred,
        "from": created_from,
        "to": created_to,
        "prompt_hash": prompt_hash,
    }
    try:
        fields = SearchFields.model_validate(
            {name: value for name, value in asked.items() if value is not None}
        )
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("query", *item["loc"])} for item in error.errors()]
        ) from None
    settings = search_settings()
    page = search_service(settings).page(fields.filters(), limit=limit, cursor=cursor)
    s3 = s3_client()
    items = [generation_view(record, s3, settings.presigned_url_seconds) for record in page.records]
    metrics.add_metric(name="SearchItemsExamined", unit=MetricUnit.Count, value=page.examined)
    reply = SearchResponse(items=items, next_cursor=page.next_cursor)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=reply)


@app.get(
    "/generations/<generation_id>/image",
    summary="Redirects to a fresh short-lived link to the stored image",
    responses={
        302: {"description": "`Location` is a presigned link to the PNG"},
        **error_responses(404, 422),
    },
)
@tracer.capture_method(capture_response=False)
def get_generation_image(
    generation_id: Annotated[
        str, Path(pattern=GENERATION_ID_PATTERN, description="32 lowercase hex characters")
    ],
) -> Response[None]:
    from ideogram_assets.links import presigned_get_url
    from ideogram_assets.wiring import record_store

    settings = base_settings()
    record = record_store(settings).get(generation_id)
    if record is None:
        raise NotFound(f"generation {generation_id} was not found")
    if record.status != Status.STORED or not (record.bucket and record.key):
        raise NotFound(f"generation {generation_id} has no stored image (it is {record.status})")
    link = presigned_get_url(s3_client(), record.bucket, record.key, settings.presigned_url_seconds)
    return Response(status_code=302, headers={"Location": link, "Cache-Control": "no-store"}, body=None)


@app.get(
    "/reports/storage",
    summary="Images, bytes, estimated cost and unsafe rate by model, style, tag and month",
    responses={
        200: {"description": "The report", "content": {"application/json": {"model": StorageReport}}},
        **error_responses(),
    },
)
@tracer.capture_method
def storage_report() -> Response[StorageReport]:
    from ideogram_assets.records.counters import totals
    from ideogram_assets.records.model import utc_now
    from ideogram_assets.storage_report import storage_report as build_report
    from ideogram_assets.wiring import record_store

    counted = totals(record_store(base_settings()).counter_items())
    report = build_report(counted, utc_now())
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=report)


# clear_state: keys appended during one invocation (request_id) never leak into the next.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
