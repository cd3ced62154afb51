"""Domain exceptions → API replies, shared by every API function: a clear message, never a trace."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pynamodb.exceptions import PynamoDBException

from ideogram_assets.api.errors import ErrorResponse
from ideogram_assets.config import ConfigurationError
from ideogram_assets.idempotency import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    IdempotencyStoreUnavailable,
    InvalidIdempotencyKey,
)
from ideogram_assets.ideogram import IdeogramError, IdeogramRequestError, IdeogramUnavailable
from ideogram_assets.observability import logger


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error replies a route can give, all in ErrorResponse's shape."""
    descriptions = {
        400: "Ideogram refused the input; its message is passed on",
        404: "Not found",
        409: "A request with the same Idempotency-Key is still running",
        422: "The request is not valid; `errors` names each field",
        502: "Ideogram refused our credentials or answered unreadably (an operator must act)",
        503: "Ideogram or storage is unavailable; retry after `Retry-After` seconds",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
        for status in statuses
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


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        errors = [
            {"field": _field(tuple(item["loc"])), "message": str(item["msg"])} for item in error.errors()
        ]
        return error_reply(422, "the request is not valid", errors=errors)

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
