"""The searches the benchmark runs, chosen from the plan's own frequencies, and the Scan-and-filter
baseline that answers each the way the reference does.

Six searches: a keyword that is rare, one of middling frequency and a common one; a tag; a
seed; a model over one month. The rare word is planted in the same 50 records of every table
(0.05% of 100k records); the others are chosen by how many records they find in the largest
table (about 3% and 30% of the records for the words, 8% for the tag, the most used seed, one
month of the most used model), so each search fills its first page at every size and its
latency at two sizes compares like with like. The reference's `findByPrompt` / `findByTags` read every
record and keep those whose prompt contains the text (or whose tags hold the tag), then sort
newest first: the baseline is that, as a DynamoDB Scan with a filter, page after page.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.search_fixture import PLANTED_WORD, Frequencies
from ideogram_assets.records.index_items import INDEXED_STATUSES
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.search.filters import SearchFilters

MID_SHARE, COMMON_SHARE = 0.03, 0.3
TAG_SHARE = 0.08
MODEL = "V_3"
MONTH = "2025-07"
PAGE_LIMIT = 20


@dataclass(frozen=True)
class SearchCase:
    key: str  # short name in tables
    label: str
    filters: SearchFilters
    # Reached through index items (TOKEN#/TAG#): only records search indexes (stored, unsafe,
    # missing); through a GSI: every record with the attribute.
    through_index_items: bool
    scan_filter: str
    scan_values: Mapping[str, Any]
    scan_names: Mapping[str, str] = field(default_factory=dict)

    def finds(self, record: GenerationRecord) -> bool:
        """Whether the search should return this record (the ground truth the pages are checked on)."""
        if self.through_index_items and record.status not in INDEXED_STATUSES:
            return False
        return self.filters.matches(record)


def _pick(counts: Mapping[Any, int], target: float, eligible: Sequence[Any]) -> Any:
    if not eligible:
        raise ValueError("no candidate")
    return min(sorted(eligible, key=str), key=lambda key: (abs(counts[key] - target), str(key)))


def choose(found: Mapping[int, Frequencies]) -> list[SearchCase]:
    """The searches, from the frequencies of the smallest and the largest table."""
    smallest, largest = found[min(found)], found[max(found)]
    records = largest.records
    words = [word for word in largest.words if smallest.words[word]]
    rare = PLANTED_WORD
    mid = _pick(largest.words, MID_SHARE * records, words)
    common = _pick(largest.words, COMMON_SHARE * records, words)
    tag = _pick(largest.tags, TAG_SHARE * records, [tag for tag in largest.tags if smallest.tags[tag]])
    seed = max(sorted(largest.seeds), key=lambda value: (smallest.seeds[value], largest.seeds[value]))
    month_start, month_end = f"{MONTH}-01T00:00:00.000Z", f"{MONTH}-31T23:59:59.999Z"
    cases = [
        _keyword("rare word", rare, largest),
        _keyword("mid word", mid, largest),
        _keyword("common word", common, largest),
        SearchCase(
            key="tag",
            label=f"tag '{tag}' ({_share(largest.tags[tag], records)})",
            filters=SearchFilters(tags=(tag,)),
            through_index_items=True,
            scan_filter="contains(tags, :tag)",
            scan_values={":tag": {"S": tag}},
        ),
        SearchCase(
            key="seed",
            label=f"seed {seed} ({largest.seeds[seed]:,} records)",
            filters=SearchFilters(seed=seed),
            through_index_items=False,
            scan_filter="seed = :seed",
            scan_values={":seed": {"N": str(seed)}},
        ),
        SearchCase(
            key="model+month",
            label=f"model {MODEL} in {MONTH} ({_share(largest.model_months[(MODEL, MONTH)], records)})",
            filters=SearchFilters(model=MODEL, created_from=month_start, created_to=month_end),
            through_index_items=False,
            scan_filter="#model = :model AND createdAt BETWEEN :from AND :to",
            scan_values={
                ":model": {"S": MODEL},
                ":from": {"S": month_start},
                ":to": {"S": month_end},
            },
            scan_names={"#model": "model"},
        ),
    ]
    return cases


def _share(count: int, records: int) -> str:
    return f"{count:,} records, {100 * count / records:.2g}%"


def _keyword(kind: str, word: str, largest: Frequencies) -> SearchCase:
    return SearchCase(
        key=kind.split()[0],
        label=f"keyword, {kind} '{word}' ({_share(largest.words[word], largest.records)})",
        filters=SearchFilters(words=(word,)),
        through_index_items=True,
        scan_filter="contains(prompt, :word)",
        scan_values={":word": {"S": word}},
    )


def newest_first(found: Sequence[tuple[str, str]]) -> list[str]:
    """Ids by creation time, newest first (ties: the larger id first, as the indexes order them)."""
    return [generation_id for _, generation_id in sorted(found, reverse=True)]


@dataclass(frozen=True)
class ScanAnswer:
    seconds: float
    scanned: int  # ScannedCount summed over the pages
    pages: int
    matches: int
    top: list[str]  # the ids of the first page, newest first


def scan_and_filter(client: Any, table: str, case: SearchCase, limit: int = PAGE_LIMIT) -> ScanAnswer:
    """The reference's way: every item read, the matches kept, sorted newest first, the first page."""
    started = time.perf_counter()
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": case.scan_filter,
        "ExpressionAttributeValues": dict(case.scan_values),
    }
    if case.scan_names:
        request["ExpressionAttributeNames"] = dict(case.scan_names)
    matches: list[tuple[str, str]] = []
    scanned = pages = 0
    while True:
        page = client.scan(**request)
        pages += 1
        scanned += int(page["ScannedCount"])
        matches += [(item["createdAt"]["S"], item["id"]["S"]) for item in page.get("Items", [])]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
        request["ExclusiveStartKey"] = start
    top = newest_first(matches)[:limit]
    return ScanAnswer(time.perf_counter() - started, scanned, pages, len(matches), top)
