"""What a search asks for, in the domain's terms, and whether a record answers it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from ideogram_assets.search.words import distinct_words, query_words

if TYPE_CHECKING:
    from ideogram_assets.records.model import GenerationRecord


@dataclass(frozen=True)
class SearchFilters:
    """Every filter must hold (AND). Times are ISO-8601 UTC instants as records spell them
    (`2026-11-27T09:30:00.000Z`), both bounds included."""

    words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    seed: int | None = None
    model: str | None = None
    style_type: str | None = None
    status: str | None = None
    starred: bool | None = None
    created_from: str | None = None
    created_to: str | None = None
    prompt_hash: str | None = None

    def normalized(self) -> SearchFilters:
        """Words as the index spells them, tags lower case; order and repeats do not matter."""
        return replace(
            self,
            words=tuple(sorted(query_words(self.words))),
            tags=tuple(sorted({tag.lower() for tag in self.tags})),
        )

    def fingerprint(self) -> str:
        """Names this search (and no other): a cursor is valid only for the search it came from."""
        canonical = json.dumps(asdict(self.normalized()), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def matches(self, record: GenerationRecord) -> bool:
        """Whether the record answers every filter (words: all of them, in its prompt or expanded
        prompt, whether indexed or not)."""
        if self.status is not None and record.status != self.status:
            return False
        if self.seed is not None and (record.seed is None or int(record.seed) != self.seed):
            return False
        if self.model is not None and record.model != self.model:
            return False
        if self.style_type is not None and record.style_type != self.style_type:
            return False
        if self.prompt_hash is not None and record.prompt_hash != self.prompt_hash:
            return False
        if self.starred is not None and bool(record.starred) != self.starred:
            return False
        if self.created_from is not None and record.created_at < self.created_from:
            return False
        if self.created_to is not None and record.created_at > self.created_to:
            return False
        if self.tags and not set(self.tags) <= set(record.tags or ()):
            return False
        if self.words:
            text = set(distinct_words(record.prompt, record.expanded_prompt))
            if not set(self.words) <= text:
                return False
        return True
