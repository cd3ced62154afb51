"""GET /generations (search) and the filters POST /exports shares with it.

Callers write filters as these models take them; `filters()` turns them into the domain's
SearchFilters (times as UTC instants, a bare date meaning the whole day).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

from ideogram_assets.api.generations import ApiModel, GenerationView
from ideogram_assets.generation.spec import Tag
from ideogram_assets.ideogram.models import ModelVersion, StyleType
from ideogram_assets.ideogram.spec_values import MAX_SEED
from ideogram_assets.records.model import iso
from ideogram_assets.records.status import Status
from ideogram_assets.search.filters import SearchFilters
from ideogram_assets.search.words import query_words

MAX_QUERY_CHARS = 200
MAX_TAG_FILTERS = 10
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
PROMPT_HASH_PATTERN = r"^[0-9a-f]{64}$"

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT: TypeAdapter[datetime] = TypeAdapter(datetime)


def _day_or_instant(value: object) -> date | datetime:
    """`YYYY-MM-DD` is a day; anything else must be an ISO-8601 time (midnight is an instant,
    not a day; a number is not a time)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date (YYYY-MM-DD) or an ISO-8601 time")
    if _DAY.match(value):
        return date.fromisoformat(value)
    return _INSTANT.validate_python(value)


# A day, or an instant with its offset (none: UTC).
TimeBound = Annotated[date | datetime, BeforeValidator(_day_or_instant)]


def instant(bound: TimeBound, *, end: bool) -> str:
    """A bound as records spell createdAt; a date covers its whole (UTC) day."""
    if not isinstance(bound, datetime):
        bound = datetime.combine(bound, time.max if end else time.min, UTC)
    elif bound.tzinfo is None:
        bound = bound.replace(tzinfo=UTC)
    return iso(bound)


class SearchFields(BaseModel):
    """Filters of a search: every one given must hold. Words match whole words of the prompt or
    of the prompt Ideogram expanded it to, whatever their case, accents or punctuation."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    q: Annotated[str, Field(max_length=MAX_QUERY_CHARS)] | None = Field(
        default=None, description="Words that must all appear in the prompt or expanded prompt"
    )
    tags: Annotated[list[Tag], Field(max_length=MAX_TAG_FILTERS)] = Field(
        default_factory=list, description="Tags that must all be on the image"
    )
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = None
    model: ModelVersion | None = None
    style_type: StyleType | None = None
    status: Status | None = None
    starred: bool | None = None
    created_from: TimeBound | None = Field(
        default=None, alias="from", description="Created at or after: a date (YYYY-MM-DD) or an ISO-8601 time"
    )
    created_to: TimeBound | None = Field(
        default=None,
        alias="to",
        description="Created at or before: a date (its whole day) or an ISO-8601 time",
    )
    prompt_hash: Annotated[str, Field(pattern=PROMPT_HASH_PATTERN)] | None = Field(
        default=None, description="The promptHash of a record: its duplicates"
    )

    @model_validator(mode="after")
    def _range_in_order(self) -> Self:
        if self.q is not None and not query_words(self.q.split()):
            raise ValueError("q must hold at least one word (letters or digits, at most 40 of them)")
        start, end = self.created_from, self.created_to
        if start and end and instant(start, end=False) > instant(end, end=True):
            raise ValueError("'from' must not be after 'to'")
        return self

    def filters(self) -> SearchFilters:
        return SearchFilters(
            words=tuple((self.q or "").split()),
            tags=tuple(self.tags),
            seed=self.seed,
            model=self.model.value if self.model else None,
            style_type=self.style_type.value if self.style_type else None,
            status=self.status.value if self.status else None,
            starred=self.starred,
            created_from=instant(self.created_from, end=False) if self.created_from else None,
            created_to=instant(self.created_to, end=True) if self.created_to else None,
            prompt_hash=self.prompt_hash,
        )


class SearchResponse(ApiModel):
    """A page of matches, newest first; `nextCursor` fetches the next page (null: the last)."""

    items: list[GenerationView]
    next_cursor: str | None = None
