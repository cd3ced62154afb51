"""Search: items examined and latency per search as the table grows, against Scan-and-filter.

Tables of 1k, 10k and 100k records (bench.search_fixture: varied prompts, tags, seeds, models
and styles over twelve months, with their index items and counter items), loaded with
BatchWriteItem into one moto server, one table per size. Six searches (bench.search_cases) run
at every size through the product's SearchService, as the query function builds it, one
client per table: the first page (20 records) and two more through the cursor. Each page's
records are checked against the ground truth kept while loading, and its `examined` against
what moto answered, counted on the client's own events (ScannedCount of every Query, items
every BatchGetItem returned). Side by side: the reference's Scan-and-filter for the same search.

Targets: items examined per page <= 2 x returned + 25 at every size; the median latency of the
first page at the largest size <= 1.5 x its median at the smallest. Also reported: the write
cost of storing one image under the template's GSI projections and the alternatives
(bench.search_write_cost).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.harness import Benchmark, BenchmarkError, Comparison, Outcome, Progress, compare
from bench.search_cases import PAGE_LIMIT, ScanAnswer, SearchCase, choose, newest_first, scan_and_filter
from bench.search_fixture import (
    BulkLoader,
    CounterItems,
    RecordBuilder,
    frequencies,
    items_of,
    plan,
)
from bench.search_world import SearchWorld, search_world, size_label
from bench.search_write_cost import ItemWrite, Step, item_bytes, recommendation, report, template_gsis
from bench.wire_counts import WireCounter, WireCounts
from ideogram_assets.retention.policy import RetentionPolicy
from ideogram_assets.search.cursor import CursorSigner
from ideogram_assets.search.service import SearchPage, SearchService

DEFAULT_SIZES = (1_000, 10_000, 100_000)
PAGES = 3
EXAMINED_SLACK = 25
LATENCY_TARGET = 1.5
BASELINE_MAX_ROUNDS = 3
BASELINE_LARGE = 100_000  # from this size on, the baseline runs once (a full Scan takes minutes)
SHIPPED_ROUNDS = 1
TODAY = date(2026, 1, 15)  # after the records' twelve months: "today" for the day-by-day source
POLICY = RetentionPolicy(short_days=30, standard_days=365, grace_days=7)
PROJECT_ROOT = Path(__file__).resolve().parents[1]
WRITE_COST_RECORDS = 2_000  # the records a typical one is chosen from for the write cost

# Set by `python -m bench search --sizes ...`.
SIZES: tuple[int, ...] = DEFAULT_SIZES


def configure(sizes: Sequence[int]) -> None:
    global SIZES
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError("sizes must be positive")
    SIZES = tuple(sorted(set(sizes)))


def examined_bound(returned: int) -> int:
    return 2 * returned + EXAMINED_SLACK


# -- loading ------------------------------------------------------------------------------------


@dataclass
class Loaded:
    seconds: float
    build_seconds: float
    items: dict[int, int]
    requests: int
    server_bytes: int | None
    truth: dict[str, dict[int, list[tuple[str, str]]]]  # case -> size -> (createdAt, id) found
    months: dict[int, set[str]]


def load(world: SearchWorld, sizes: Sequence[int], cases: Sequence[SearchCase], progress: Progress) -> Loaded:
    """Every planned record into every table big enough for it, with index and counter items."""
    largest = max(sizes)
    builders = {size: RecordBuilder(world.bucket(size), POLICY) for size in sizes}
    counters = {size: CounterItems() for size in sizes}
    truth: dict[str, dict[int, list[tuple[str, str]]]] = {case.key: defaultdict(list) for case in cases}
    months: dict[int, set[str]] = {size: set() for size in sizes}
    loader = BulkLoader(lambda: world.client("dynamodb"))
    started = time.perf_counter()
    build_seconds = 0.0
    for planned in plan(largest):
        built = time.perf_counter()
        # Every table gets its own record (its own id and bucket), as a separate library would.
        holders = [size for size in sizes if planned.number < size]
        records = {size: builders[size].build(planned) for size in holders}
        items = {size: items_of(record) for size, record in records.items()}
        build_seconds += time.perf_counter() - built
        for size, record in records.items():
            loader.add(world.table(size), items[size])
            counters[size].add(record)
            months[size].add(record.created_at[:7])
            for case in cases:
                if case.finds(record):
                    truth[case.key][size].append((record.created_at, record.id))
        if (planned.number + 1) % 10_000 == 0:
            elapsed = time.perf_counter() - started
            progress(f"  loaded {planned.number + 1:,} of {largest:,} records ({elapsed:.0f} s)")
    for size in sizes:
        loader.add(world.table(size), counters[size].items())
    loader.close()
    return Loaded(
        seconds=time.perf_counter() - started,
        build_seconds=build_seconds,
        items={size: loader.items_written[world.table(size)] for size in sizes},
        requests=loader.requests,
        server_bytes=world.server_memory_bytes(),
        truth={key: dict(found) for key, found in truth.items()},
        months=months,
    )


# -- searching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageFigures:
    returned: int
    examined: int  # as the service counted it
    read_on_wire: int  # ScannedCount + BatchGetItem items, from moto's answers
    queries: int
    batch_gets: int
    seconds: float
    query_seconds: float = 0.0  # of which in Query requests (sent, answered, parsed)
    batch_get_seconds: float = 0.0  # and in BatchGetItem requests


class Searcher:
    """The search service of one table, with a counter on its client."""

    def __init__(self, world: SearchWorld, size: int, months: set[str]) -> None:
        self.size = size
        client = world.search_client()
        self.counter = WireCounter()
        self.counter.attach(client)
        self.service = SearchService(
            client,
            world.table(size),
            CursorSigner(world.cursor_key(size)),
            today=lambda: TODAY,
            months_with_records=lambda: months,
        )

    def page(self, case: SearchCase, cursor: str | None) -> tuple[SearchPage, PageFigures]:
        before = _snapshot(self.counter.counts)
        started = time.perf_counter()
        page = self.service.page(case.filters, limit=PAGE_LIMIT, cursor=cursor)
        seconds = time.perf_counter() - started
        after = self.counter.counts
        figures = PageFigures(
            returned=len(page.records),
            examined=page.examined,
            read_on_wire=after.dynamodb_items_read - before["read"],
            queries=after.requests["dynamodb.Query"] - before["queries"],
            batch_gets=after.requests["dynamodb.BatchGetItem"] - before["batch_gets"],
            seconds=seconds,
            query_seconds=after.seconds["dynamodb.Query"] - before["query_seconds"],
            batch_get_seconds=after.seconds["dynamodb.BatchGetItem"] - before["batch_get_seconds"],
        )
        return page, figures


def _snapshot(counts: WireCounts) -> dict[str, Any]:
    return {
        "read": counts.dynamodb_items_read,
        "queries": counts.requests["dynamodb.Query"],
        "batch_gets": counts.requests["dynamodb.BatchGetItem"],
        "query_seconds": counts.seconds["dynamodb.Query"],
        "batch_get_seconds": counts.seconds["dynamodb.BatchGetItem"],
    }


def check_pages(searcher: Searcher, case: SearchCase, truth: list[tuple[str, str]]) -> list[PageFigures]:
    """The first pages of a search: each the next slice of the truth, its count confirmed."""
    expected = newest_first(truth)
    cursor: str | None = None
    figures = []
    for number in range(PAGES):
        page, measured = searcher.page(case, cursor)
        where = f"{case.label} at {size_label(searcher.size)}, page {number + 1}"
        want = expected[number * PAGE_LIMIT : (number + 1) * PAGE_LIMIT]
        if [record.id for record in page.records] != want:
            raise BenchmarkError(f"{where}: the records differ from the ground truth")
        if measured.examined != measured.read_on_wire:
            raise BenchmarkError(
                f"{where}: the service counted {measured.examined} items examined, moto's answers "
                f"{measured.read_on_wire}"
            )
        figures.append(measured)
        cursor = page.next_cursor
        if cursor is None:
            if len(expected) > (number + 1) * PAGE_LIMIT:
                raise BenchmarkError(f"{where}: no cursor although more records match")
            break
    return figures


def latency_rounds(
    searchers: dict[int, Searcher], cases: Sequence[SearchCase], rounds: int, progress: Progress
) -> dict[tuple[str, int], list[PageFigures]]:
    """First pages of every search at every size, rounds interleaving sizes and searches."""
    sizes = list(searchers)
    samples: dict[tuple[str, int], list[PageFigures]] = defaultdict(list)
    for index in range(-1, rounds):  # one warm-up round
        shift = index % len(sizes)
        for size in sizes[shift:] + sizes[:shift]:
            turn = shift % len(cases)
            for case in [*cases[turn:], *cases[:turn]]:
                _, measured = searchers[size].page(case, None)
                if index >= 0:
                    samples[(case.key, size)].append(measured)
        if index >= 0:
            progress(f"  latency round {index + 1}/{rounds} done")
    return samples


# -- reporting ----------------------------------------------------------------------------------


@dataclass
class Results:
    sizes: tuple[int, ...]
    cases: list[SearchCase]
    loaded: Loaded
    pages: dict[tuple[str, int], list[PageFigures]]
    timed: dict[tuple[str, int], list[PageFigures]]
    baseline: dict[tuple[str, int], list[ScanAnswer]]
    shipped: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    write_cost: str = ""
    rounds: int = 0

    @property
    def latency(self) -> dict[tuple[str, int], list[float]]:
        return {key: [page.seconds for page in pages] for key, pages in self.timed.items()}

    def part_ms(self, key: tuple[str, int]) -> str:
        """Median milliseconds in Query and in BatchGetItem requests."""
        pages = self.timed[key]
        query = _ms([page.query_seconds for page in pages])
        return f"{query} / {_ms([page.batch_get_seconds for page in pages])}"


def verdicts(results: Results) -> list[Comparison]:
    comparisons = []
    for case in results.cases:
        for size in results.sizes:
            pages = results.pages[(case.key, size)]
            worst = max(pages, key=lambda page: page.examined / examined_bound(page.returned))
            comparisons.append(
                compare(
                    f"{case.key} at {size_label(size)}: items examined, worst of {len(pages)} page(s), "
                    f"vs 2 x returned ({worst.returned}) + {EXAMINED_SLACK}",
                    [worst.examined],
                    [examined_bound(worst.returned)],
                    1.0,
                    "items",
                )
            )
    smallest, largest = min(results.sizes), max(results.sizes)
    if largest != smallest:
        for case in results.cases:
            comparisons.append(
                compare(
                    f"{case.key}: first-page latency at {size_label(largest)} vs at {size_label(smallest)}",
                    results.latency[(case.key, largest)],
                    results.latency[(case.key, smallest)],
                    LATENCY_TARGET,
                    "s",
                )
            )
    return comparisons


def _ms(samples: Sequence[float]) -> str:
    return f"{statistics.median(samples) * 1000:,.0f}" if samples else "n/a"


def side_by_side(results: Results) -> str:
    lines = [
        "Per search and table size: the search's first three pages (records returned; items "
        "examined; DynamoDB requests), the median latency of its first page, and the "
        "Scan-and-filter baseline's items read (ScannedCount), matches and latency (median of "
        "its runs).",
        "",
        "| search | table | returned p1/p2/p3 | examined p1/p2/p3 (bound p1) | Query + BatchGetItem "
        "requests p1 | search p50 ms | of which Query / BatchGetItem ms | Scan items read | Scan matches "
        "| Scan ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in results.cases:
        for size in results.sizes:
            pages = results.pages[(case.key, size)]
            baseline = results.baseline.get((case.key, size), [])
            first = pages[0]
            scan = baseline[0] if baseline else None
            lines.append(
                f"| {case.key} | {size_label(size)} | {'/'.join(str(page.returned) for page in pages)} | "
                f"{'/'.join(str(page.examined) for page in pages)} ({examined_bound(first.returned)}) | "
                f"{first.queries} + {first.batch_gets} | {_ms(results.latency[(case.key, size)])} | "
                f"{results.part_ms((case.key, size))} | "
                f"{f'{scan.scanned:,}' if scan else 'n/a'} | {f'{scan.matches:,}' if scan else 'n/a'} | "
                f"{_ms([answer.seconds for answer in baseline])} |"
            )
    lines += ["", "Searches:"]
    lines += [f"- `{case.key}`: {case.label}" for case in results.cases]
    return "\n".join(lines)


def load_note(results: Results) -> str:
    loaded = results.loaded
    sizes = ", ".join(f"{size_label(size)} records: {loaded.items[size]:,} items" for size in results.sizes)
    memory = f"{loaded.server_bytes / 2**30:.1f} GiB" if loaded.server_bytes else "n/a"
    return (
        f"Loading: {sizes} (records, their index items and counter items), "
        f"{loaded.requests:,} BatchWriteItem requests of up to 25 items, 4 at a time, in "
        f"{loaded.seconds:.0f} s (of which {loaded.build_seconds:.0f} s building the records in the "
        f"benchmark's process); moto's resident memory afterwards: {memory}. Not measured."
    )


def shipped_note(results: Results) -> str:
    if not results.shipped:
        return ""
    smallest, largest = min(results.sizes), max(results.sizes)
    rows = [
        f"| {case.key} | {_ms(results.shipped.get((case.key, smallest), []))} | "
        f"{_ms(results.shipped.get((case.key, largest), []))} | "
        f"{_ms(results.latency[(case.key, smallest)])} | {_ms(results.latency[(case.key, largest)])} |"
        for case in results.cases
    ]
    return "\n".join(
        [
            f"First-page latency (ms) on moto as shipped ({SHIPPED_ROUNDS} run) and on the benchmark's moto "
            "(median of the rounds):",
            "",
            f"| search | shipped, {size_label(smallest)} | shipped, {size_label(largest)} | "
            f"benchmark's, {size_label(smallest)} | benchmark's, {size_label(largest)} |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )


MOTO_NOTE = """\
Reading the latency. moto 5.2.5 answers every Query, on the table or on an index, by sorting
every item of the table (`Table.all_items()` returns them sorted), keeping the partition's,
sorting those again and walking them from the first to the page's start key
(`moto/dynamodb/models/table.py`, `Table.query`); each Scan page sorts the whole table and
walks it from its start. So in moto a Query costs in proportion to the table (and a full Scan in
proportion to its square), where DynamoDB's costs in proportion to what it returns; measured on
moto as shipped, the latency target cannot be met (table above). The searches therefore run on
the benchmark's moto (bench/moto_query_site): each table keeps, until its next write, its
partitions and each index's partitions sorted exactly as moto sorts them; a Query finds its
partition, its start key and its sort key range by binary search and then runs moto's own steps
on those items (limit, 1 MB page, copy, projection, filter, last evaluated key); a Scan starts
its page by binary search and runs moto's own loop. Anything it does not cover goes to moto's
own code, and any write drops the sorted copies; tests/unit/test_bench_search_moto_query.py
checks, page by page, that both answer alike. Sorting a partition or an index once after the
tables are loaded is left out of the timings (the warm-up round pays it). moto also keeps every
item object it creates for its dashboard, the copies each read makes included, so every Query
and Scan page grows its memory for good (a full Scan of 100k records, about 1.6 GB: a run of
these baselines ran the server out of memory); the benchmark's moto keeps no such list."""


def report_notes(results: Results) -> list[str]:
    notes = [side_by_side(results), load_note(results), MOTO_NOTE]
    shipped = shipped_note(results)
    if shipped:
        notes.append(shipped)
    if results.write_cost:
        notes.append(results.write_cost)
    notes.append(
        f"Latency: {results.rounds} round(s) after a warm-up round, each running every search's first page "
        "at every size (sizes and searches in rotating order), from this process, one DynamoDB client "
        "per table (same settings), against one moto server (over TLS) holding every table. "
        f"Scan-and-filter runs min(rounds, {BASELINE_MAX_ROUNDS}) times per search below "
        f"{size_label(BASELINE_LARGE)} records and once from there (a full Scan takes minutes)."
    )
    return notes


# -- write cost -------------------------------------------------------------------------------------


def typical_records(count: int = WRITE_COST_RECORDS) -> tuple[int, int]:
    """Plan numbers of a stored record of median size and of one at the 90th percentile."""
    builder = RecordBuilder("bench-bucket", POLICY)
    sized: list[tuple[int, int]] = []
    for planned in plan(count):
        if planned.outcome == "STORED":
            sized.append((item_bytes(builder.build(planned).serialize()), planned.number))
    sized.sort()
    return sized[len(sized) // 2][1], sized[int(len(sized) * 0.9)][1]


def run_writes(world: SearchWorld, number: int) -> dict[str, Any]:
    table, bucket = world.writes.physical_ids["AssetsTable"], world.writes.physical_ids["AssetsBucket"]
    job = json.dumps({"table": table, "bucket": bucket, "record": number})
    with tempfile.TemporaryDirectory(prefix="bench-search-writes-") as scratch:
        result_path = Path(scratch) / "result.json"
        completed = subprocess.run(
            [sys.executable, "-m", "bench.search_writes_child", job, str(result_path)],
            cwd=PROJECT_ROOT,
            env={**world.function_environment(), "PYTHONPATH": str(PROJECT_ROOT)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if completed.returncode != 0 or not result_path.exists():
            raise BenchmarkError(
                f"the write-cost run failed:\n{(completed.stdout + completed.stderr)[-2000:]}"
            )
        answer: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return answer


def steps_of(answer: dict[str, Any]) -> list[Step]:
    return [
        Step(
            step["name"],
            step["operation"],
            [ItemWrite(write["before"], write["after"]) for write in step["writes"]],
        )
        for step in answer["steps"]
    ]


def write_cost_note(world: SearchWorld, progress: Progress) -> str:
    median, p90 = typical_records()
    gsis = template_gsis()
    parts = []
    median_steps: list[Step] = []
    median_stored: dict[str, Any] = {}
    for name, number in (("median", median), ("90th percentile", p90)):
        progress(f"  storing the {name} record through the record store")
        answer = run_writes(world, number)
        stored = answer["stored"]
        if number == median:
            median_steps, median_stored = steps_of(answer), stored
        parts.append(
            f"**Write cost of storing one image**, the record of {name} size among {WRITE_COST_RECORDS:,} "
            f"planned (a {item_bytes(stored):,}-byte record, {answer['words']} indexed words, "
            f"{answer['tags']} tags), written by the record store as the generation service writes it:\n\n"
            + report(steps_of(answer), gsis, stored)
        )
    parts.append(WRITE_COST_READING)
    parts.append(recommendation(median_steps, gsis, median_stored))
    return "\n\n".join(parts)


WRITE_COST_READING = """\
Reading the write cost. Sizes are the table's own items before and after each request (read back
with GetItem), priced with DynamoDB's rules: a write unit per started KB, the larger of before
and after for an update, twice in a transaction; a GSI entry (table key, index key, projected
attributes) costs a write unit per started KB when the item enters or leaves the index or a
projected attribute changes, two writes when its index key changes, and is not doubled by the
transaction. Every step changes `updatedAt`, so an index projecting ALL is rewritten on every
step the record is in it; a KEYS_ONLY index only when the record enters or leaves it or its key
changes. Search reads only keys from BySeed, ByModel and ByStyle (it fetches the records by
BatchGetItem), so KEYS_ONLY costs search nothing there. ByTimeBucket (the reconciler's audit),
ByPromptHash (the duplicate check) and ByOpenStatus (the reconciler) are read as whole records
through PynamoDB: KEYS_ONLY there would need those readers to fetch the records by key first."""


# -- the benchmark ----------------------------------------------------------------------------------


def _baseline_runs(size: int, rounds: int) -> int:
    return 1 if size >= BASELINE_LARGE else min(rounds, BASELINE_MAX_ROUNDS)


def run(rounds: int, progress: Progress) -> Outcome:
    sizes = SIZES
    progress(f"  planning {max(sizes):,} records")
    cases = choose(frequencies(plan(max(sizes)), sizes))
    with (
        tempfile.TemporaryDirectory(prefix="bench-search-") as scratch,
        search_world(Path(scratch), sizes) as world,
    ):
        loaded = load(world, sizes, cases, progress)
        progress(f"  loaded in {loaded.seconds:.0f} s")
        searchers = {size: Searcher(world, size, loaded.months[size]) for size in sizes}
        pages: dict[tuple[str, int], list[PageFigures]] = {}
        for size in sizes:
            for case in cases:
                pages[(case.key, size)] = check_pages(
                    searchers[size], case, loaded.truth[case.key].get(size, [])
                )
        progress("  every page matched the ground truth and moto's counts")
        latency = latency_rounds(searchers, cases, rounds, progress)
        baseline: dict[tuple[str, int], list[ScanAnswer]] = {}
        scan_client = world.search_client()
        for size in sizes:
            # The benchmark's moto sorts a table once for its Scans (moto as shipped: every page).
            scan_client.scan(TableName=world.table(size), Limit=1)
            for case in cases:
                runs = [
                    scan_and_filter(scan_client, world.table(size), case)
                    for _ in range(_baseline_runs(size, rounds))
                ]
                baseline[(case.key, size)] = runs
                progress(f"  scan-and-filter {case.key} at {size_label(size)}: {runs[0].seconds:.1f} s")
        results = Results(sizes, cases, loaded, pages, latency, baseline, rounds=rounds)
        results.shipped = shipped_probe(world, searchers, cases, progress)
        results.write_cost = write_cost_note(world, progress)
    return Outcome(verdicts(results), report_notes(results))


def shipped_probe(
    world: SearchWorld, searchers: dict[int, Searcher], cases: Sequence[SearchCase], progress: Progress
) -> dict[tuple[str, int], list[float]]:
    """The first pages again on moto's own Query code (the tables tagged), smallest and largest."""
    timed: dict[tuple[str, int], list[float]] = defaultdict(list)
    for size in sorted({min(searchers), max(searchers)}):
        world.set_moto_as_shipped(size, True)
        try:
            for _ in range(SHIPPED_ROUNDS):
                for case in cases:
                    _, measured = searchers[size].page(case, None)
                    timed[(case.key, size)].append(measured.seconds)
        finally:
            world.set_moto_as_shipped(size, False)
        progress(f"  moto as shipped at {size_label(size)}: done")
    return dict(timed)


BENCHMARK = Benchmark(
    name="search",
    title="Search: items examined and latency as the table grows, vs Scan-and-filter; write cost per image",
    run=run,
)
