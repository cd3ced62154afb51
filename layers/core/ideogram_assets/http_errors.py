"""Domain exceptions → API replies, shared by every API function: a clear message, never a trace.

Every reply a function gives, the resolver's own included (404, 415, validation), has the
`ErrorResponse` shape. A body is refused before its fields are validated when it is not JSON
(415) or cannot be read (400); request_guards.py states the rule. Anything unexpected is logged
and answered with a plain 500, never with its details.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import PynamoDBException

from ideogram_assets.api.errors import ErrorResponse
from ideogram_assets.config import ConfigurationError
from ideogram_assets.generation.errors import CannotReproduce, DuplicateGeneration
from ideogram_assets.idempotency import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    IdempotencyStoreUnavailable,
    InvalidIdempotencyKey,
)
from ideogram_assets.ideogram import IdeogramError, IdeogramRequestError, IdeogramUnavailable
from ideogram_assets.observability import logger, metrics
from ideogram_assets.records.errors import GenerationNotFound, InvalidTransition
from ideogram_assets.request_guards import RefusedBody, check_json_body
from ideogram_assets.search.cursor import InvalidCursor

# Replies every route can give whatever it does: the IAM authorizer refuses unsigned or badly
# signed requests before the function runs, and any function can fail unexpectedly.
ALWAYS_POSSIBLE_STATUSES = (403, 500)
# What only a route that reads a body can give: a body over the gateway's payload limit, or
# one that is not JSON.
BODY_STATUSES = (413, 415)
_DESCRIPTIONS = {
    400: "The body cannot be read as one JSON document, the query string is not valid (`errors` "
    "names each parameter), or Ideogram refused the input",
    403: "The request is not signed with SigV4 for execute-api, or the signature does not match",
    404: "Not found",
    409: "A conflict with the resource's state: a request with the same Idempotency-Key is still "
    "running, the record's state does not allow the change, or (on_duplicate=reject) images of "
    "this prompt and parameters are stored already (`existing` names them)",
    413: "The body is larger than the API's payload limit (10 MB)",
    415: "The body is not JSON: send it as application/json in UTF-8",
    422: "The request is not valid; `errors` names each field",
    500: "An unexpected error; it has been logged",
    502: "Ideogram refused our credentials or answered unreadably (an operator must act)",
    503: "Ideogram or storage is unavailable; retry after `Retry-After` seconds",
}


def error_description(status: int) -> str:
    """What an error status means on this API (the OpenAPI description of its reply)."""
    return _DESCRIPTIONS[status]


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error replies a route can give, all in ErrorResponse's shape.

    403 and 500 are added to every route; 413 and 415 belong to the routes that read a body,
    which the OpenAPI generator (local_stack.openapi_doc) adds where a request body is documented.
    """
    return {
        status: {
            "description": error_description(status),
            "content": {"application/json": {"model": ErrorResponse}},
        }
        for status in sorted({*statuses, *ALWAYS_POSSIBLE_STATUSES})
    }


class NotFound(Exception):
    """The resource a request names does not exist (404)."""


def error_reply(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[Any]:
    body = ErrorResponse(message=message, **extra).model_dump(exclude_none=True)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def _field(location: tuple[Any, ...]) -> str:
    # ("body", "tags", 0) → "tags[0]"; the "body" prefix says nothing to the caller.
    parts = [str(part) for part in location if part != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


def _message(item: Mapping[str, Any]) -> str:
    # Powertools reports an empty body (or `null`) as the body "field" missing.
    if item.get("type") == "missing" and tuple(item["loc"]) == ("body",):
        return "a JSON object is required"
    return str(item["msg"])


def _refused_reply(refused: RefusedBody) -> Response[Any]:
    return error_reply(
        refused.status, refused.summary, errors=[{"field": refused.field, "message": refused.reason}]
    )


def _route_reads_body(app: APIGatewayHttpResolver) -> bool:
    route = app.context.get("_route")  # set by the resolver for the matched route
    return route is not None and bool(route.dependant.body_params)


def _body_refusal(app: APIGatewayHttpResolver) -> RefusedBody | None:
    """Why the current request's body is refused before validation, if it is (request_guards)."""
    if not _route_reads_body(app):
        return None
    event = app.current_event
    try:
        check_json_body(event.headers.get("content-type"), event.body, bool(event.is_base64_encoded))
    except RefusedBody as refused:
        return refused
    return None


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Error replies for every route of `app`, and the body checks that run before its routes.

    Powertools validates the request before any middleware runs, and its JSON parsing takes
    things this API refuses (duplicate keys, NaN, form data) or fails with a bare exception on
    others (bytes that are not UTF-8, 100,000 levels of nesting). So the body is checked twice
    over: by a middleware once validation has passed, and by the handlers below when validation
    failed or raised; request_guards decides in both cases, so the reply is the same.
    """

    def refuse_unreadable_bodies(
        app: APIGatewayHttpResolver, next_middleware: NextMiddleware
    ) -> Response[Any]:
        refused = _body_refusal(app)
        if refused is not None:
            raise refused
        return next_middleware(app)

    app.use([refuse_unreadable_bodies])

    @app.exception_handler(RefusedBody)
    def refused_body(error: RefusedBody) -> Response[Any]:
        return _refused_reply(error)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(error: RequestUnsupportedContentType) -> Response[Any]:
        refused = _body_refusal(app)
        return _refused_reply(refused or RefusedBody(415, "Content-Type", str(error)))

    @app.exception_handler(ServiceError)
    def resolver_error(error: ServiceError) -> Response[Any]:
        # The resolver's own replies (e.g. 404 for a path no route serves), in the API's shape.
        message = error.msg if isinstance(error.msg, str) else HTTPStatus(error.status_code).phrase
        return error_reply(error.status_code, message)

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[Any]:
        # Reading a body Powertools cannot parse raises a bare exception (UnicodeDecodeError,
        # RecursionError, ValueError) before the route runs: that is the caller's 400, not a 500.
        refused = _body_refusal(app)
        if refused is not None:
            return _refused_reply(refused)
        logger.exception("unhandled error", error=type(error).__name__)
        metrics.add_metric(name="UnhandledError", unit=MetricUnit.Count, value=1)
        return error_reply(500, "an unexpected error occurred; it has been logged")

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        refused = _body_refusal(app)
        if refused is not None:
            return _refused_reply(refused)
        errors = [{"field": _field(tuple(item["loc"])), "message": _message(item)} for item in error.errors()]
        if all(tuple(item["loc"])[:1] == ("query",) for item in error.errors()):
            # A query string that does not say what it means is a bad request, not a bad entity.
            return error_reply(400, "the query string is not valid", errors=errors)
        return error_reply(422, "the request is not valid", errors=errors)

    @app.exception_handler(GenerationNotFound)
    def generation_not_found(error: GenerationNotFound) -> Response[Any]:
        return error_reply(404, str(error))

    @app.exception_handler(CannotReproduce)
    def cannot_reproduce(error: CannotReproduce) -> Response[Any]:
        return error_reply(409, str(error))

    @app.exception_handler(DuplicateGeneration)
    def duplicate(error: DuplicateGeneration) -> Response[Any]:
        return error_reply(409, str(error), existing=error.existing)

    @app.exception_handler(InvalidCursor)
    def invalid_cursor(error: InvalidCursor) -> Response[Any]:
        return error_reply(400, str(error), errors=[{"field": "cursor", "message": str(error)}])

    @app.exception_handler(InvalidIdempotencyKey)
    def invalid_key(error: InvalidIdempotencyKey) -> Response[Any]:
        return error_reply(422, str(error), errors=[{"field": "Idempotency-Key", "message": str(error)}])

    @app.exception_handler(IdempotencyKeyReused)
    def key_reused(error: IdempotencyKeyReused) -> Response[Any]:
        return error_reply(422, str(error))

    @app.exception_handler(IdempotencyInProgress)
    def key_in_progress(error: IdempotencyInProgress) -> Response[Any]:
        return error_reply(409, str(error), headers={"Retry-After": "5"})

    @app.exception_handler(IdempotencyStoreUnavailable)
    def idempotency_store_unavailable(error: IdempotencyStoreUnavailable) -> Response[Any]:
        logger.error("idempotency store unavailable", error=str(error))
        return error_reply(
            503, "storage is unavailable right now; retry shortly", headers={"Retry-After": "5"}
        )

    @app.exception_handler(NotFound)
    def not_found(error: NotFound) -> Response[Any]:
        return error_reply(404, str(error))

    @app.exception_handler(InvalidTransition)
    def invalid_transition(error: InvalidTransition) -> Response[Any]:
        return error_reply(409, str(error))

    @app.exception_handler(IdeogramRequestError)
    def invalid_parameters(error: IdeogramRequestError) -> Response[Any]:
        errors = [{"field": "body", "message": problem} for problem in error.problems]
        return error_reply(422, error.message, errors=errors)

    @app.exception_handler(IdeogramUnavailable)
    def unavailable(error: IdeogramUnavailable) -> Response[Any]:
        return error_reply(503, error.message, headers={"Retry-After": str(error.retry_after_seconds)})

    @app.exception_handler(IdeogramError)
    def ideogram_error(error: IdeogramError) -> Response[Any]:
        return error_reply(error.http_status, error.message)

    @app.exception_handler(PynamoDBException)
    def table_unavailable(error: PynamoDBException) -> Response[Any]:
        logger.error("table unavailable", error=type(error).__name__)
        return error_reply(
            503, "storage is unavailable right now; retry shortly", headers={"Retry-After": "5"}
        )

    @app.exception_handler(ConfigurationError)
    def misconfigured(error: ConfigurationError) -> Response[Any]:
        logger.error("configuration error", error=str(error))
        return error_reply(503, "the service is not configured correctly; the operator has been alerted")
