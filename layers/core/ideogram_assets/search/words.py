"""Words as search sees them: lower case, accents folded, punctuation dropped.

"Café-Racer, NEON!" and "cafe racer neon" are the same three words. Prompts are indexed with
their distinct words (very common English words are not: their index partitions would hold
almost every record and never narrow a search); a query made only of such words is still
answered, by checking the text of the newest records.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Longer runs are not words anyone searches for (hashes, base64, noise) and would make big keys.
MAX_WORD_CHARS = 40
_SEPARATORS = re.compile(r"[\W_]+")

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "without",
    }
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(character for character in decomposed if not unicodedata.combining(character)).casefold()


def words(text: str) -> list[str]:
    """Every word of `text`, normalized, in order (repeats kept)."""
    return [word for word in _SEPARATORS.split(_fold(text)) if word and len(word) <= MAX_WORD_CHARS]


def distinct_words(*texts: str | None) -> list[str]:
    """The distinct words of the texts, in order of first appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text or ""):
            seen.setdefault(word, None)
    return list(seen)


def index_words(*texts: str | None, limit: int) -> list[str]:
    """The words a record is indexed under: distinct, not stop words, at most `limit` (the first
    ones: prompts lead with their subject, and the rest is still matched when another word of a
    search finds the record)."""
    return [word for word in distinct_words(*texts) if word not in STOPWORDS][:limit]


def query_words(query: Iterable[str]) -> tuple[str, ...]:
    """A search's words, normalized and distinct, in order."""
    return tuple(distinct_words(*query))


def selective(query: Iterable[str]) -> list[str]:
    """The words of a query an index partition can serve (stop words are checked, not looked up)."""
    return [word for word in query if word not in STOPWORDS]
