"""Idempotent generation: a retried request with the same Idempotency-Key never pays Ideogram twice.

Powertools' idempotency utility keeps each key's reply in the assets table (items
PK=IDEMPOTENCY#generation, SK=<hash of the key>, expired by the table's `ttl` after a day). Every
trigger shares these keys (the HTTP Idempotency-Key, an event's id or client request id), so the
same key sent over HTTP and as an event is one generation. A
replay returns the stored reply; a key reused with a different body is refused; a replay
while the first call still runs is refused until it ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from ideogram_assets.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

IDEMPOTENCY_HEADER = "idempotency-key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
REPLAY_WINDOW_SECONDS = 24 * 3600
IDEMPOTENCY_PARTITION = "IDEMPOTENCY#generation"
KEY_PREFIX = "generation"


class Budget(Protocol):
    """How much of the invocation is left (a LambdaContext is one)."""

    def get_remaining_time_in_millis(self) -> int: ...


class InvalidIdempotencyKey(ValueError):
    """The Idempotency-Key header is not 8-128 characters of A-Z a-z 0-9 _ . : -."""


class IdempotencyKeyReused(ValueError):
    """The key was used before with a different request body (422)."""


class IdempotencyInProgress(RuntimeError):
    """The first request with this key is still running (409)."""


class IdempotencyStoreUnavailable(RuntimeError):
    """The table that keeps replies could not be read or written (503)."""


def validated_key(value: str) -> str:
    if not KEY_PATTERN.match(value):
        raise InvalidIdempotencyKey("Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 _ . : -")
    return value


@cache
def _persistence(table_name: str) -> DynamoDBPersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from ideogram_assets.aws import CLIENT_CONFIG

    return DynamoDBPersistenceLayer(
        table_name=table_name,
        # Our clients' limits (3 attempts, short timeouts), not botocore's legacy 10 attempts,
        # so a failing store answers 503 well inside the function's timeout.
        boto_config=CLIENT_CONFIG,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=IDEMPOTENCY_PARTITION,
        expiry_attr="ttl",
    )


def run_once(
    key: str,
    request: dict[str, Any],
    produce: Callable[[], dict[str, Any]],
    *,
    table_name: str,
    budget: Budget,
) -> dict[str, Any]:
    """produce()'s reply, computed at most once per key; `request` must be the same on replays."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        expires_after_seconds=REPLAY_WINDOW_SECONDS,
    )
    # Only the remaining time is read from it: an in-progress marker expires with the invocation.
    config.register_lambda_context(cast("LambdaContext", budget))

    produced: list[dict[str, Any]] = []

    # One prefix for every function: the same key over HTTP, as an event or in a batch is one call
    # (Powertools would otherwise prefix it with the function's name).
    @idempotent_function(
        data_keyword_argument="call",
        persistence_store=_persistence(table_name),
        config=config,
        key_prefix=KEY_PREFIX,
    )
    def once(call: dict[str, Any]) -> dict[str, Any]:
        produced.append(produce())
        return produced[0]

    # Translated here so the API's error mapping need not import the utility at cold start.
    try:
        reply: dict[str, Any] = once(call={"key": key, "request": request})
    except IdempotencyValidationError:
        raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request") from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still running; retry when it has finished"
        ) from None
    except IdempotencyPersistenceLayerError as error:
        if produced:
            # The work is done (and paid for): its reply matters more than the replay record.
            logger.warning("reply not saved for replays", error=type(error).__name__)
            return produced[0]
        raise IdempotencyStoreUnavailable(type(error).__name__) from None
    return reply
