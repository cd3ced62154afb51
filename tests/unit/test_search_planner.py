"""The search planner over fake sources (no DynamoDB): it reads on from the sparsest source, a
page stops at its limit with the key to go on from (none once the source is exhausted), a page
reads a bounded number of items whatever the filters, and cursors resume without a gap."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import pytest

from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.search.cursor import CursorSigner, InvalidCursor
from ideogram_assets.search.filters import SearchFilters
from ideogram_assets.search.service import (
    BATCH_GET_KEYS,
    MAX_EXAMINED_PER_PAGE,
    PROBE_ITEMS,
    SearchService,
)
from ideogram_assets.search.sources import Candidate, Read, Source
from tests.unit.search_records import record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NO_FILTERS = SearchFilters()


def instant(minute: int) -> str:
    """Later minutes are newer: minute 0 is the oldest."""
    return f"2026-11-27T{minute // 60:02d}:{minute % 60:02d}:00.000Z"


def gid(number: int) -> str:
    return f"{number:032x}"


class FakeSource:
    """Entries newest first; a read key is the index of the next entry to read."""

    def __init__(self, name: str, entries: Sequence[tuple[str, str]], *, scanned_per_item: int = 1) -> None:
        self.name = name
        self._entries = list(entries)
        self._scanned_per_item = scanned_per_item
        self.reads: list[tuple[Any, int]] = []

    def read(self, after: Any, count: int) -> Read:
        self.reads.append((after, count))
        start = after or 0
        chunk = self._entries[start : start + count]
        candidates = [
            Candidate(generation_id, created_at, start + offset + 1)
            for offset, (generation_id, created_at) in enumerate(chunk)
        ]
        end = start + len(chunk)
        return Read(
            candidates, end if end < len(self._entries) else None, len(chunk) * self._scanned_per_item
        )


def newest_first(numbers: range | Sequence[int]) -> list[tuple[str, str]]:
    """Entries for record numbers, number n created at minute n, newest first."""
    return [(gid(number), instant(number)) for number in sorted(numbers, reverse=True)]


class FakeService(SearchService):
    """The service with its sources and BatchGetItem replaced by in-memory ones."""

    def __init__(self, records: dict[str, GenerationRecord], sources: list[Source] | None = None) -> None:
        super().__init__(
            cast("DynamoDBClient", None),
            "table",
            CursorSigner(b"k" * 32),
            today=lambda: date(2026, 11, 27),
            months_with_records=lambda: {"2026-11"},
        )
        self.records = records
        self.sources = sources or []
        self.fetched: list[list[str]] = []

    def _sources(self, filters: SearchFilters) -> list[Source]:
        return self.sources

    def _fetch(self, generation_ids: Sequence[str]) -> dict[str, GenerationRecord]:
        self.fetched.append(list(generation_ids))
        return {key: self.records[key] for key in generation_ids if key in self.records}


def records_for(numbers: range | Sequence[int], **fields: Any) -> dict[str, GenerationRecord]:
    return {gid(number): record(gid(number), created_at=instant(number), **fields) for number in numbers}


def ids(records: Sequence[GenerationRecord]) -> list[str]:
    return [item.id for item in records]


# -- choosing the source ----------------------------------------------------------------------


def test_a_single_source_is_read_without_a_probe() -> None:
    only = FakeSource("only", newest_first(range(50)))
    source, first, examined = SearchService._choose([only], 20)
    assert (source, first, examined) == (only, None, 0)
    assert only.reads == []


def test_each_source_is_probed_with_a_short_read_from_the_newest() -> None:
    one, two = FakeSource("one", newest_first(range(50))), FakeSource("two", newest_first(range(50)))
    SearchService._choose([one, two], 100)
    assert one.reads == [(None, PROBE_ITEMS)]
    assert two.reads == [(None, PROBE_ITEMS)]


def test_a_probe_reads_no_more_than_the_page_limit() -> None:
    one, two = FakeSource("one", newest_first(range(50))), FakeSource("two", newest_first(range(50)))
    SearchService._choose([one, two], 5)
    assert one.reads == [(None, 5)]


def test_the_source_whose_first_items_reach_furthest_back_is_chosen() -> None:
    dense = FakeSource("dense", newest_first(range(900, 1000)))  # 100 records in the last 100 minutes
    sparse = FakeSource("sparse", newest_first(range(0, 1000, 20)))  # one record in 20
    source, first, _ = SearchService._choose([dense, sparse], 20)
    assert source is sparse
    assert first is not None
    assert first.candidates[-1].created_at == instant(600)


def test_a_source_that_ran_out_beats_one_that_did_not() -> None:
    # Its items are the newest of all, but there are only three of them.
    exhausted = FakeSource("exhausted", newest_first([997, 998, 999]))
    spread = FakeSource("spread", newest_first(range(0, 1000, 100)))
    source, _, _ = SearchService._choose([spread, exhausted], 5)
    assert source is exhausted


def test_of_the_sources_that_ran_out_the_one_with_fewest_items_is_chosen() -> None:
    three = FakeSource("three", newest_first([1, 2, 3]))
    one = FakeSource("one", newest_first([500]))
    empty = FakeSource("empty", [])
    assert SearchService._choose([three, one], 20)[0] is one
    assert SearchService._choose([three, one, empty], 20)[0] is empty


def test_the_chosen_sources_probe_is_handed_back_as_its_first_read() -> None:
    dense = FakeSource("dense", newest_first(range(900, 1000)))
    sparse = FakeSource("sparse", newest_first(range(0, 1000, 20)))
    _, first, examined = SearchService._choose([dense, sparse], 20)
    assert first is not None
    assert [candidate.generation_id for candidate in first.candidates] == [
        gid(number) for number in range(980, 599, -20)
    ]
    # Both probes were read; the chosen one is counted when it is used as the first read.
    assert examined + first.examined == 40


# -- collecting a page ------------------------------------------------------------------------


def collect(
    service: FakeService, source: FakeSource, filters: SearchFilters, limit: int, after: Any = None
) -> Any:
    return service._collect(source, filters.normalized(), limit, after, None, 0)


def test_a_page_stops_at_its_limit_with_the_key_just_past_its_last_record() -> None:
    source = FakeSource("all", newest_first(range(100)))
    found = collect(FakeService(records_for(range(100))), source, NO_FILTERS, 10)
    assert ids(found.records) == [gid(number) for number in range(99, 89, -1)]
    assert found.after == 10


def test_the_next_page_starts_right_after_the_last_record_returned() -> None:
    service = FakeService(records_for(range(100)))
    source = FakeSource("all", newest_first(range(100)))
    first = collect(service, source, NO_FILTERS, 10)
    second = collect(service, source, NO_FILTERS, 10, first.after)
    assert ids(second.records) == [gid(number) for number in range(89, 79, -1)]


def test_a_page_filled_mid_read_resumes_after_its_last_match_not_after_the_read() -> None:
    # Only even records match: the first read of 3 yields 2 matches and the page needs 3.
    service = FakeService(records_for(range(0, 100, 2)) | records_for(range(1, 100, 2), starred=True))
    source = FakeSource("all", newest_first(range(100)))
    filters = SearchFilters(starred=False)
    first = collect(service, source, filters, 3)
    assert ids(first.records) == [gid(98), gid(96), gid(94)]
    second = collect(service, source, filters, 3, first.after)
    assert ids(second.records) == [gid(92), gid(90), gid(88)]


def test_records_that_do_not_match_or_no_longer_exist_are_skipped() -> None:
    records = records_for(range(10)) | records_for([3, 4], status="UNSAFE")
    del records[gid(7)]  # deleted since its index item was read
    source = FakeSource("all", newest_first(range(10)))
    found = collect(FakeService(records), source, SearchFilters(status="STORED"), 20)
    assert ids(found.records) == [gid(number) for number in (9, 8, 6, 5, 2, 1, 0)]


def test_an_exhausted_source_gives_no_cursor() -> None:
    source = FakeSource("all", newest_first(range(5)))
    found = collect(FakeService(records_for(range(5))), source, NO_FILTERS, 20)
    assert len(found.records) == 5
    assert found.after is None


def test_a_page_filled_by_the_last_item_of_the_source_gives_no_cursor() -> None:
    source = FakeSource("all", newest_first(range(10)))
    found = collect(FakeService(records_for(range(10))), source, NO_FILTERS, 10)
    assert len(found.records) == 10
    assert found.after is None


def test_a_page_filled_by_the_last_item_of_a_read_gives_a_cursor_when_more_remain() -> None:
    source = FakeSource("all", newest_first(range(11)))
    found = collect(FakeService(records_for(range(11))), source, NO_FILTERS, 10)
    assert found.after == 10


def test_later_reads_ask_for_twice_what_is_missing_within_bounds() -> None:
    records = records_for(range(0, 1000, 50))  # one record in 50 exists
    source = FakeSource("all", newest_first(range(1000)))
    collect(FakeService(records), source, NO_FILTERS, 30)
    counts = [count for _, count in source.reads]
    assert counts[0] == 30
    assert all(10 <= count <= BATCH_GET_KEYS for count in counts[1:])
    assert counts[1] == min(BATCH_GET_KEYS, 2 * 30)


def test_a_page_reads_at_most_about_the_examined_cap_and_hands_back_a_cursor() -> None:
    # Nothing matches: without a cap this would read all 50,000 candidates.
    source = FakeSource("all", newest_first(range(50_000)))
    found = collect(FakeService({}), source, NO_FILTERS, 20)
    assert found.records == []
    assert MAX_EXAMINED_PER_PAGE <= found.examined < MAX_EXAMINED_PER_PAGE + BATCH_GET_KEYS
    assert found.after is not None
    assert found.after == sum(count for _, count in source.reads)


def test_examined_counts_the_items_queried_and_the_records_fetched() -> None:
    source = FakeSource("all", newest_first(range(10)), scanned_per_item=3)
    found = collect(FakeService(records_for(range(0, 10, 2))), source, NO_FILTERS, 20)
    assert found.examined == 10 * 3 + 5


def test_a_given_first_read_is_used_instead_of_reading_again() -> None:
    source = FakeSource("all", newest_first(range(5)))
    first = source.read(None, 5)
    service = FakeService(records_for(range(5)))
    found = service._collect(source, NO_FILTERS, 20, None, first, 0)
    assert len(found.records) == 5
    assert len(source.reads) == 1


# -- pages and cursors ------------------------------------------------------------------------


def every_page(service: FakeService, filters: SearchFilters, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = service.page(filters, limit=limit, cursor=cursor)
        pages.append(ids(page.records))
        cursor = page.next_cursor
        if cursor is None:
            return pages


def test_pages_follow_one_another_without_duplicate_or_gap() -> None:
    records = records_for(range(0, 95)) | records_for(range(95, 100), model="V_2")
    sparse = FakeSource("p:TAG#fox", newest_first(range(0, 100, 3)))
    dense = FakeSource("p:TOKEN#fox", newest_first(range(100)))
    service = FakeService(records, [dense, sparse])
    pages = every_page(service, SearchFilters(model="V_3"), limit=7)
    flat = [item for page in pages for item in page]
    assert flat == [gid(number) for number in range(93, -1, -3)]
    assert all(len(page) == 7 for page in pages[:-1])


def test_a_cursor_naming_a_source_the_search_does_not_have_is_refused() -> None:
    service = FakeService(records_for(range(30)), [FakeSource("p:TAG#a", newest_first(range(30)))])
    cursor = service.page(NO_FILTERS, limit=5).next_cursor
    assert cursor is not None
    service.sources = [FakeSource("p:TAG#b", newest_first(range(30)))]
    with pytest.raises(InvalidCursor, match="another search"):
        service.page(NO_FILTERS, limit=5, cursor=cursor)


def test_a_cursor_of_another_search_is_refused() -> None:
    service = FakeService(records_for(range(30)), [FakeSource("p:TAG#a", newest_first(range(30)))])
    cursor = service.page(SearchFilters(model="V_3"), limit=5).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursor, match="another search"):
        service.page(SearchFilters(model="V_2"), limit=5, cursor=cursor)


def test_a_cursor_survives_a_different_spelling_of_the_same_search() -> None:
    records = records_for(range(30), prompt="Café racer", tags={"a"})
    service = FakeService(records, [FakeSource("p:TAG#a", newest_first(range(30)))])
    cursor = service.page(SearchFilters(words=("Café",), tags=("A",)), limit=5).next_cursor
    assert cursor is not None
    page = service.page(SearchFilters(words=("cafe",), tags=("a",)), limit=5, cursor=cursor)
    assert ids(page.records) == [gid(number) for number in range(24, 19, -1)]


def test_examined_counts_each_read_once_when_the_source_was_probed() -> None:
    dense = FakeSource("dense", newest_first(range(900, 1000)))
    sparse = FakeSource("sparse", newest_first([10, 20, 30]))
    service = FakeService(records_for([10, 20, 30]), [dense, sparse])
    page = service.page(NO_FILTERS, limit=5)
    queried = 5 + 3  # the two probes, the only reads made
    assert len(dense.reads) == 1
    assert len(sparse.reads) == 1
    assert page.examined == queried + 3


def test_iterate_yields_every_match_newest_first_across_pages() -> None:
    records = records_for(range(0, 250, 2)) | records_for(range(1, 250, 2), model="V_2")
    service = FakeService(records, [FakeSource("i:ByTimeBucket", newest_first(range(250)))])
    found = list(service.iterate(SearchFilters(model="V_3")))
    assert ids(found) == [gid(number) for number in range(248, -1, -2)]
