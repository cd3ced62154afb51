"""Index items: the base-table items that let search find a record by word, tag or star.

    PK = TOKEN#<word> | TAG#<tag> | STARRED      SK = <createdAt>#<id>      id, ttl

A partition holds one item per record that has the word (in its prompt or expanded prompt), the
tag or the star, sorted by creation time, so a search reads newest first and stops when its page
is full: what it reads follows what it returns, not the size of the table. Items are written in
the transaction that makes a record STORED or UNSAFE, changed with its tags and star, and removed
with it; they carry the record's `ttl`, so DynamoDB's TTL backstop removes them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from ideogram_assets.records.model import GenerationRecord, _Meta
from ideogram_assets.records.status import Status
from ideogram_assets.search.words import index_words

STARRED_PARTITION = "STARRED"
# A record and its index items are written in one transaction (at most 100 items): 1 record,
# its tags, the star, and this many words, with room to spare.
MAX_TAGS = 20
MAX_INDEXED_WORDS = 70
# Records search finds through index items; a MISSING one keeps them (it is still a record).
INDEXED_STATUSES = frozenset({Status.STORED, Status.UNSAFE, Status.MISSING})


def token_partition(word: str) -> str:
    return f"TOKEN#{word}"


def tag_partition(tag: str) -> str:
    return f"TAG#{tag}"


def position(created_at: str, generation_id: str) -> str:
    """An index item's sort key: newest first when read backwards, unique per record."""
    return f"{created_at}#{generation_id}"


def words_of(prompt: str, expanded_prompt: str | None) -> list[str]:
    """The words a record is indexed under, from its prompt and its expanded prompt."""
    return index_words(prompt, expanded_prompt, limit=MAX_INDEXED_WORDS)


@dataclass(frozen=True)
class IndexKeys:
    """Which index partitions hold a record."""

    words: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    starred: bool = False

    def partitions(self) -> list[str]:
        keys = [token_partition(word) for word in sorted(self.words)]
        keys += [tag_partition(tag) for tag in sorted(self.tags)]
        return keys + ([STARRED_PARTITION] if self.starred else [])

    def minus(self, other: IndexKeys) -> list[str]:
        """Partitions this one names that `other` does not."""
        return sorted(set(self.partitions()) - set(other.partitions()))


def keys_of(record: GenerationRecord) -> IndexKeys:
    """The index partitions a record is in now (none unless its status is indexed)."""
    if record.status not in INDEXED_STATUSES:
        return IndexKeys()
    return IndexKeys(frozenset(record.index_words or ()), frozenset(record.tags or ()), bool(record.starred))


class IndexItem(Model):
    """One index item (same table as the records; bound with them by records.model.bind_table)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")
    id = UnicodeAttribute()
    ttl = NumberAttribute(null=True)


def items_for(partitions: Iterable[str], record: GenerationRecord, ttl: float | None) -> list[IndexItem]:
    """The index items of `record` in these partitions, carrying `ttl`."""
    sort_key = position(record.created_at, record.id)
    expiry = int(ttl) if ttl is not None else None
    return [IndexItem(partition, sort_key, id=record.id, ttl=expiry) for partition in partitions]


def index_items(record: GenerationRecord) -> list[dict[str, dict[str, str]]]:
    """Every index item of a record as it stands, as DynamoDB's low-level API spells them (for
    bulk loads and checks)."""
    items = items_for(keys_of(record).partitions(), record, record.ttl)
    return [{"PK": {"S": item.pk}, "SK": {"S": item.sk}, **item.serialize()} for item in items]
