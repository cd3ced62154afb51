"""What the application announces on its bus: an image stored, a generation failed.

Derived from a record's change of status (the table's stream), whatever made it: the HTTP path,
an event, a batch, or the reconciler rescuing an image later. JSON Schemas of these details live
in events/schemas/ (checked by a test).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.status import Status

EVENT_SOURCE = "ideogram-assets"
IMAGE_PERSISTED = "ImagePersisted"
GENERATION_FAILED = "GenerationFailed"
# The statuses a record announces when it reaches them.
ANNOUNCED = frozenset({Status.STORED, Status.FAILED, Status.LOST})


class _Detail(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, frozen=True
    )

    id: str = Field(description="The generation record's id (one image)")
    request_id: str = Field(description="The generation request the image belongs to")
    prompt_hash: str = Field(description="Normalized prompt and parameters: equal for duplicates")
    tags: list[str]
    source: str = Field(description="api | event | batch | reproduce")
    correlation_id: str | None = Field(
        default=None, description="What caused it: the API request's, the event's or the batch's id"
    )
    batch_id: str | None = None


class ImagePersisted(_Detail):
    """An image is stored: in S3 at `bucket`/`key`, with its SHA-256 and size."""

    bucket: str
    key: str
    sha256: str
    size_bytes: int
    parent_id: str | None = Field(default=None, description="A reproduction's original")


class GenerationFailed(_Detail):
    """An image could not be stored: FAILED (the reconciler may still rescue it, which then
    announces ImagePersisted) or LOST (its URL expired first: billed, gone)."""

    status: Literal["FAILED", "LOST"]
    failure_kind: str | None = None
    failure_message: str | None = None


def _common(record: GenerationRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "request_id": record.request_id,
        "prompt_hash": record.prompt_hash,
        "tags": sorted(record.tags or ()),
        "source": record.source,
        "correlation_id": record.correlation_id,
        "batch_id": record.batch_id,
    }


def announcement(record: GenerationRecord) -> ImagePersisted | GenerationFailed:
    """The event detail for a record that has just reached an announced status."""
    if record.status == Status.STORED:
        return ImagePersisted.model_validate(
            {
                **_common(record),
                "bucket": record.bucket,
                "key": record.key,
                "sha256": record.sha256,
                "size_bytes": int(record.size_bytes or 0),
                "parent_id": record.parent_id,
            }
        )
    return GenerationFailed.model_validate(
        {
            **_common(record),
            "status": record.status,
            "failure_kind": record.failure_kind,
            "failure_message": record.failure_message,
        }
    )


def detail_type(detail: ImagePersisted | GenerationFailed) -> str:
    return IMAGE_PERSISTED if isinstance(detail, ImagePersisted) else GENERATION_FAILED
