"""POST /generations and GET /generations/{id}: the request, and records as the API shows them."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ideogram_assets.generation.duplicates import DEFAULT_DUPLICATE_POLICY, DuplicatePolicy
from ideogram_assets.generation.spec import GenerationSpec, Tags
from ideogram_assets.records.lifecycle import MAX_NOTE_CHARS
from ideogram_assets.retention.policy import RetentionClass

GENERATION_ID_PATTERN = r"^[0-9a-f]{32}$"


class GenerationRequest(GenerationSpec):
    """POST /generations (and a GenerationRequested event's detail): what to generate and how to
    label it, and what to do when the same prompt and parameters are stored already."""

    on_duplicate: DuplicatePolicy = Field(
        default=DEFAULT_DUPLICATE_POLICY,
        description="When images of the same normalized prompt and parameters are stored already: "
        "generate new ones (the default), reuse the stored ones (no Ideogram call, 200), or reject "
        "the request (409 naming them)",
    )

    def spec(self) -> GenerationSpec:
        """The generation spec alone (without how to treat duplicates, or a subclass's request id)."""
        return GenerationSpec.model_validate(self.model_dump(include=set(GenerationSpec.model_fields)))


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
    correlation_id: str | None = None
    batch_id: str | None = None
    parent_id: str | None = None
    matches_parent: bool | None = Field(
        default=None, description="A reproduction: whether its image is byte for byte its original's"
    )
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
    starred: bool = False
    note: str | None = None
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
    reused: bool = False  # on_duplicate=reuse: these were stored already, nothing was generated
    generations: list[GenerationView]


class GenerationChange(BaseModel):
    """PATCH /generations/{id}: label an image (tags, star, note), pin it to another retention
    class, or set or clear a legal hold. Fields left out are left as they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retention_class: RetentionClass | None = None
    # strict: "yes" or 1 is a caller mistake, not a hold or a star.
    legal_hold: Annotated[bool, Field(strict=True)] | None = None
    add_tags: Annotated[Tags, Field(default_factory=list, description="Tags to add")]
    remove_tags: Annotated[Tags, Field(default_factory=list, description="Tags to remove")]
    starred: Annotated[bool, Field(strict=True)] | None = None
    note: (
        Annotated[str, Field(max_length=MAX_NOTE_CHARS, description='A short note; "" clears it')] | None
    ) = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not (self.changes_labels or self.changes_retention):
            raise ValueError(
                "name what to change: add_tags, remove_tags, starred, note, retention_class and/or legal_hold"
            )
        both = set(self.add_tags) & set(self.remove_tags)
        if both:
            raise ValueError(f"a tag cannot be both added and removed: {sorted(both)}")
        if self.note and any(
            unicodedata.category(character) == "Cc" and character not in "\t\n" for character in self.note
        ):
            raise ValueError("note must not contain control characters (other than tab and newline)")
        return self

    @property
    def changes_labels(self) -> bool:
        return (
            bool(self.add_tags or self.remove_tags)
            or self.starred is not None
            or "note" in self.model_fields_set
        )

    @property
    def changes_retention(self) -> bool:
        return self.retention_class is not None or self.legal_hold is not None
