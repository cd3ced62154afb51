"""The API's request and response bodies (Pydantic; the OpenAPI document is generated from them)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from ideogram_assets.ideogram.models import GenerateParams
from ideogram_assets.ideogram.payload import problems

MAX_PROMPT_CHARS = 4000
MAX_TAGS = 20
MAX_TAG_CHARS = 64
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.:-]*$")


class GenerationRequest(GenerateParams):
    """POST /generations: what to generate (Ideogram's parameters) and how to label it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]
    negative_prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)] | None = None
    tags: Annotated[list[str], Field(default_factory=list, max_length=MAX_TAGS)]

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, tags: list[str]) -> list[str]:
        normalized = []
        for tag in tags:
            value = tag.strip().lower()
            if not 1 <= len(value) <= MAX_TAG_CHARS or not TAG_PATTERN.match(value):
                raise ValueError(
                    f"tag {tag!r} must be 1-{MAX_TAG_CHARS} characters of a-z, 0-9, '_', '.', ':' or '-', "
                    "starting with a letter or digit"
                )
            normalized.append(value)
        return sorted(set(normalized))

    @model_validator(mode="after")
    def _fits_the_model(self) -> Self:
        # What only one Ideogram endpoint accepts (e.g. QUALITY on V_2) is refused here, before
        # anything is written or sent.
        mismatches = problems(self.ideogram_params())
        if mismatches:
            raise ValueError("; ".join(mismatches))
        return self

    def ideogram_params(self) -> GenerateParams:
        return GenerateParams.model_validate(self.model_dump(exclude={"tags"}, exclude_none=True))


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
    image_url: str | None = None
    image_url_expires_in: int | None = None


class GenerationsResponse(ApiModel):
    """POST /generations reply: every image of the request, in Ideogram's order."""

    request_id: str
    complete: bool  # false: some image is still PENDING or FAILED and will be reconciled
    generations: list[GenerationView]


class ErrorResponse(BaseModel):
    message: str
    errors: list[dict[str, str]] | None = None
