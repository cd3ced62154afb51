"""The bodies of generation requests that arrive as events or queue messages.

A GenerationRequested detail is exactly the body of POST /generations, plus the caller's own
request id (its idempotency key), so a caller moves between HTTP and events without reshaping
anything. JSON Schemas of these models live in events/schemas/ (checked by a test).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ideogram_assets.api.generations import GENERATION_ID_PATTERN, GenerationRequest
from ideogram_assets.idempotency import KEY_PATTERN

GENERATION_REQUESTED = "GenerationRequested"
REPRODUCTION_REQUESTED = "ReproductionRequested"
RequestType = Literal["GenerationRequested", "ReproductionRequested"]

ClientRequestId = Annotated[
    str,
    Field(
        pattern=KEY_PATTERN.pattern,
        description="The caller's id for this request, and its idempotency key: a request sent again "
        "with the same id (as an event, a message or over HTTP as Idempotency-Key) returns the first "
        "one's result and never calls Ideogram again. Default: the event's id (or the message's)",
    ),
]


class GenerationRequested(GenerationRequest):
    """Generate and store images: the body of POST /generations, plus `client_request_id`."""

    client_request_id: ClientRequestId | None = None


class ReproductionRequested(BaseModel):
    """Generate a stored image again from its seed, prompt and parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    generation_id: Annotated[str, Field(pattern=GENERATION_ID_PATTERN, description="The original's id")]
    client_request_id: ClientRequestId | None = None
