"""A queue message as work: which request, its idempotency key, where it came from.

A body that is a whole EventBridge event (as the bus's rule delivers it) is read by its
detail-type; any other body is a GenerationRequested detail written to the queue directly. A
body that cannot be read is a PoisonMessage: retrying cannot help, so it goes to the dead-letter
queue after its receives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ideogram_assets.events.requests import (
    GENERATION_REQUESTED,
    REPRODUCTION_REQUESTED,
    GenerationRequested,
    ReproductionRequested,
)
from ideogram_assets.generation.origin import Source

BATCH_ID_ATTRIBUTE = "batchId"
BATCH_ITEM_ATTRIBUTE = "batchItem"


class PoisonMessage(ValueError):
    """The message is not a request this service can read; the reason names what is wrong."""


@dataclass(frozen=True)
class Work:
    request: GenerationRequested | ReproductionRequested
    idempotency_key: str
    correlation_id: str
    source: Source  # "event" | "batch"
    batch_id: str | None = None
    batch_item: str | None = None


def _attribute(record: dict[str, Any], name: str) -> str | None:
    value = record.get("messageAttributes", {}).get(name, {})
    found = value.get("stringValue")
    return str(found) if found else None


def batch_of(record: dict[str, Any]) -> tuple[str | None, str | None]:
    """The batch and item a message belongs to (None, None: not a batch item)."""
    return _attribute(record, BATCH_ID_ATTRIBUTE), _attribute(record, BATCH_ITEM_ATTRIBUTE)


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}" for item in error.errors()
    )


def read_message(record: dict[str, Any]) -> Work:
    """The work an SQS record (Lambda's event shape) asks for, or PoisonMessage."""
    message_id = str(record["messageId"])
    try:
        body = json.loads(record["body"])
    except (TypeError, ValueError):
        raise PoisonMessage("the body is not JSON") from None
    if not isinstance(body, dict):
        raise PoisonMessage("the body is not a JSON object")
    kind, detail, fallback_key = GENERATION_REQUESTED, body, f"sqs-{message_id}"
    if "detail-type" in body and "detail" in body:  # a whole event, from the bus's rule
        kind, detail, fallback_key = (
            body["detail-type"],
            body["detail"],
            f"event-{body.get('id', message_id)}",
        )
    try:
        request: GenerationRequested | ReproductionRequested
        if kind == GENERATION_REQUESTED:
            request = GenerationRequested.model_validate(detail)
        elif kind == REPRODUCTION_REQUESTED:
            request = ReproductionRequested.model_validate(detail)
        else:
            raise PoisonMessage(f"detail-type {kind!r} is not a request this service takes")
    except ValidationError as error:
        raise PoisonMessage(f"not a valid {kind}: {_problems(error)}") from None
    batch_id, batch_item = batch_of(record)
    key = request.client_request_id or fallback_key
    return Work(
        request=request,
        idempotency_key=key,
        correlation_id=batch_id or (body.get("id") if detail is not body else None) or key,
        source="batch" if batch_id else "event",
        batch_id=batch_id,
        batch_item=batch_item,
    )
