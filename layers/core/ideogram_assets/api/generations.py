"""POST /generations and GET /generations/{id}: the request, and records as the API shows them."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.retention.policy import RetentionClass

GENERATION_ID_PATTERN = r"^[0-9a-f]{32}$"


class GenerationRequest(GenerationSpec):
    """POST /generations: what to generate and how to label it (the generation spec itself)."""


class ApiModel(BaseModel):
    """Replies use camelCase names, like the records they show."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class GenerationView(ApiModel):
    """One image's record as the API shows it; `imageUrl` is a short-lived presigned link."""

    id: str
    request_id: str
    index_in_request: int
    status: str
    source: str
    parent_id: str | None = None
    prompt: str
    expanded_prompt: str | None = None
    negative_prompt: str | None = None
    model: str
    rendering_speed: str
    style_type: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    seed: int | None = None
    color_palette: Any = None
    tags: list[str] = []
    is_safe: bool | None = None
    stored_uri: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    cost_usd: float | None = None
    prompt_hash: str
    created_at: str
    failure_kind: str | None = None
    retention_class: str | None = None
    legal_hold: bool = False
    expires_on: str | None = None  # the day the retention sweep removes it; none: kept for ever
    image_url: str | None = None
    image_url_expires_in: int | None = None


class GenerationsResponse(ApiModel):
    """POST /generations reply: every image of the request, in Ideogram's order."""

    request_id: str
    complete: bool  # false: some image is still PENDING or FAILED and will be reconciled
    generations: list[GenerationView]


class GenerationChange(BaseModel):
    """PATCH /generations/{id}: pin an image to another retention class, set or clear a legal hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retention_class: RetentionClass | None = None
    # strict: "yes" or 1 is a caller mistake, not a hold.
    legal_hold: Annotated[bool, Field(strict=True)] | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if self.retention_class is None and self.legal_hold is None:
            raise ValueError("name what to change: retention_class and/or legal_hold")
        return self
