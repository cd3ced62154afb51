"""Search: pick the narrowest source the filters allow, read it newest first, check the rest.

A seed or a prompt hash names a few records: its GSI serves the search. Otherwise each word
(other than stop words), tag, the star, the model, the style and a PENDING status can each serve
it; with more than one, a short read of each shows which is the sparsest (its items reach back
furthest in time, or it ran out), and that one is read on. With none, the days are read newest
first. The records behind the candidates are fetched by BatchGetItem and every filter is checked
on them, so a search reads about what it returns, whatever the size of the table; what it read is
counted in `examined`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ideogram_assets.records.index_items import STARRED_PARTITION, tag_partition, token_partition
from ideogram_assets.records.model import RECORD_SORT_KEY, GenerationRecord, record_key
from ideogram_assets.records.status import Status
from ideogram_assets.search.cursor import CursorSigner, InvalidCursor, Position
from ideogram_assets.search.sources import Bounds, DaySource, IndexSource, PartitionSource, Read, Source
from ideogram_assets.search.words import selective

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ideogram_assets.search.filters import SearchFilters

# A page stops reading past this many items, returning what it found and a cursor: a search
# whose filters match little of its source answers in bounded time, page by page.
MAX_EXAMINED_PER_PAGE = 2000
PROBE_ITEMS = 20
BATCH_GET_KEYS = 100
EXPORT_PAGE = 100


@dataclass(frozen=True)
class SearchPage:
    records: list[GenerationRecord]
    next_cursor: str | None
    examined: int  # items DynamoDB read: Query ScannedCount plus records fetched


@dataclass(frozen=True)
class _Found:
    records: list[GenerationRecord]
    after: Any
    examined: int


class SearchService:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        signer: CursorSigner,
        *,
        today: Callable[[], date],
        months_with_records: Callable[[], set[str]],
    ) -> None:
        self._client = client
        self._table = table
        self._signer = signer
        self._today = today
        self._months = months_with_records

    def page(self, filters: SearchFilters, *, limit: int, cursor: str | None = None) -> SearchPage:
        filters = filters.normalized()
        fingerprint = filters.fingerprint()
        sources = self._sources(filters)
        if cursor:
            position = self._signer.read(cursor, fingerprint)
            source = next((source for source in sources if source.name == position.source), None)
            if source is None:
                raise InvalidCursor(
                    "the cursor belongs to another search: repeat the filters it was issued for"
                )
            found = self._collect(source, filters, limit, position.key, None, 0)
        else:
            source, first, probed = self._choose(sources, limit)
            found = self._collect(source, filters, limit, None, first, probed)
        next_cursor = None
        if found.after is not None:
            next_cursor = self._signer.issue(fingerprint, Position(source.name, found.after))
        return SearchPage(found.records, next_cursor, found.examined)

    def iterate(self, filters: SearchFilters) -> Iterator[GenerationRecord]:
        """Every match, newest first, a page at a time (constant memory)."""
        filters = filters.normalized()
        source, first, _ = self._choose(self._sources(filters), EXPORT_PAGE)
        after: Any = None
        while True:
            found = self._collect(source, filters, EXPORT_PAGE, after, first, 0)
            yield from found.records
            if found.after is None:
                return
            after, first = found.after, None

    # -- planning -------------------------------------------------------------------------------

    def _sources(self, filters: SearchFilters) -> list[Source]:
        bounds = Bounds(filters.created_from, filters.created_to)
        client, table = self._client, self._table
        if filters.seed is not None:
            return [IndexSource(client, table, "BySeed", "seed", {"N": str(filters.seed)}, bounds)]
        if filters.prompt_hash is not None:
            return [
                IndexSource(client, table, "ByPromptHash", "promptHash", {"S": filters.prompt_hash}, bounds)
            ]
        sources: list[Source] = [
            PartitionSource(client, table, token_partition(word), bounds) for word in selective(filters.words)
        ]
        sources += [PartitionSource(client, table, tag_partition(tag), bounds) for tag in filters.tags]
        if filters.starred:
            sources.append(PartitionSource(client, table, STARRED_PARTITION, bounds))
        if filters.model:
            sources.append(IndexSource(client, table, "ByModel", "model", {"S": filters.model}, bounds))
        if filters.style_type:
            sources.append(
                IndexSource(client, table, "ByStyle", "styleType", {"S": filters.style_type}, bounds)
            )
        if filters.status == Status.PENDING:
            sources.append(
                IndexSource(client, table, "ByOpenStatus", "openStatus", {"S": Status.PENDING}, bounds)
            )
        if not sources:
            sources.append(DaySource(client, table, bounds, self._today(), self._months))
        return sources

    @staticmethod
    def _choose(sources: Sequence[Source], limit: int) -> tuple[Source, Read | None, int]:
        """The sparsest source, with what was read of it (reused as its first read)."""
        if len(sources) == 1:
            return sources[0], None, 0
        count = min(limit, PROBE_ITEMS)
        reads = [(source, source.read(None, count)) for source in sources]
        examined = sum(read.examined for _, read in reads)

        def sparseness(entry: tuple[Source, Read]) -> tuple[int, int, str]:
            read = entry[1]
            if read.after is None:  # ran out: it holds exactly these
                return (0, len(read.candidates), "")
            # The oldest of its first items: the further back, the sparser it is.
            return (1, 0, read.candidates[-1].created_at if read.candidates else "")

        source, read = min(reads, key=sparseness)
        # The chosen read is counted again when it is used as the first read.
        return source, read, examined - read.examined

    # -- reading --------------------------------------------------------------------------------

    def _collect(
        self,
        source: Source,
        filters: SearchFilters,
        limit: int,
        after: Any,
        first: Read | None,
        examined: int,
    ) -> _Found:
        found: list[GenerationRecord] = []
        read, count = first, limit
        while True:
            if read is None:
                read = source.read(after, count)
            examined += read.examined
            records = self._fetch([candidate.generation_id for candidate in read.candidates])
            examined += len(records)
            for position, candidate in enumerate(read.candidates):
                record = records.get(candidate.generation_id)
                if record is None or not filters.matches(record):
                    continue
                found.append(record)
                if len(found) == limit:
                    more = position < len(read.candidates) - 1 or read.after is not None
                    return _Found(found, candidate.after if more else None, examined)
            if read.after is None or examined >= MAX_EXAMINED_PER_PAGE:
                return _Found(found, read.after, examined)
            after, read = read.after, None
            count = min(BATCH_GET_KEYS, max(2 * (limit - len(found)), 10))

    def _fetch(self, generation_ids: Sequence[str]) -> dict[str, GenerationRecord]:
        """The records by id (those that still exist), read in batches."""
        fetched: dict[str, GenerationRecord] = {}
        unique = list(dict.fromkeys(generation_ids))
        for start in range(0, len(unique), BATCH_GET_KEYS):
            keys: list[Any] = [
                {"PK": {"S": record_key(generation_id)}, "SK": {"S": RECORD_SORT_KEY}}
                for generation_id in unique[start : start + BATCH_GET_KEYS]
            ]
            for attempt in range(5):
                reply = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys}})
                for item in reply.get("Responses", {}).get(self._table, []):
                    record = GenerationRecord.from_raw_data(item)
                    fetched[record.id] = record
                unprocessed: dict[str, Any] = dict(reply.get("UnprocessedKeys", {}))
                keys = list(unprocessed.get(self._table, {}).get("Keys", []))
                if not keys:
                    break
                time.sleep(0.05 * 2**attempt)  # DynamoDB throttled part of the batch: back off
            else:
                raise RuntimeError("DynamoDB left records unread after 5 attempts")
        return fetched
