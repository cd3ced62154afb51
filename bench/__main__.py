"""`python -m bench [names...] [--rounds N] [--write]`: run the benchmarks, print the verdicts.

Exit status: 0 if every target is met, 1 if one is missed, 2 if a benchmark could not run.
With --write, the results section of docs/BENCHMARKS.md is rewritten (even on a miss: a
missed target is a result to record, not to hide); nothing is written if a benchmark failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import (
    cold_start,
    e2e_overhead,
    ingest_throughput,
    persist_memory,
    persist_walltime,
    retention_reconcile,
    retention_sweep,
    search,
)
from bench.harness import (
    Benchmark,
    BenchmarkError,
    Outcome,
    after_run,
    machine_info,
    markdown_block,
    rewrite_results,
    source_state,
    text_table,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DOCUMENT = PROJECT_ROOT / "docs" / "BENCHMARKS.md"
DEFAULT_ROUNDS = 15

# A new benchmark is one more entry here.
BENCHMARKS: dict[str, Benchmark] = {
    benchmark.name: benchmark
    for benchmark in (
        cold_start.BENCHMARK,
        persist_memory.BENCHMARK,
        persist_walltime.BENCHMARK,
        e2e_overhead.BENCHMARK,
        retention_sweep.BENCHMARK,
        retention_reconcile.BENCHMARK,
        search.BENCHMARK,
        ingest_throughput.BENCHMARK,
    )
}


def _progress(message: str) -> None:
    # stderr, so the table on stdout stays clean when redirected.
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run the benchmarks (see docs/BENCHMARKS.md)."
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"measured rounds per arm (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"rewrite the results section of {RESULTS_DOCUMENT.relative_to(PROJECT_ROOT)}",
    )
    parser.add_argument(
        "--sizes",
        help="table sizes of the search benchmark, comma-separated (default "
        f"{','.join(map(str, search.DEFAULT_SIZES))})",
    )
    parser.add_argument(
        "--requests",
        type=int,
        help=f"requests the ingest benchmark puts on the bus (default {ingest_throughput.DEFAULT_REQUESTS})",
    )
    parser.add_argument(
        "--baseline-requests",
        type=int,
        help="requests the ingest benchmark's reference loop measures (default "
        f"{ingest_throughput.DEFAULT_BASELINE_REQUESTS}; the rest is extrapolated)",
    )
    args = parser.parse_args(argv)
    try:
        ingest_throughput.configure(args.requests, args.baseline_requests)
    except ValueError as error:
        parser.error(str(error))
    if args.sizes:
        try:
            search.configure([int(size) for size in args.sizes.split(",")])
        except ValueError:
            parser.error("--sizes takes positive whole numbers separated by commas")
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    selected = [BENCHMARKS[name] for name in dict.fromkeys(args.names or BENCHMARKS)]

    machine = machine_info()
    # The commit measured, taken when the run starts (and checked again at its end: the tree
    # may be shared with other work while the benchmarks run).
    source = source_state(PROJECT_ROOT)
    _progress(f"machine: {machine.describe()}")
    _progress(f"measuring: {source.describe()}")
    results: dict[str, Outcome] = {}
    try:
        for benchmark in selected:
            _progress(f"running {benchmark.name} ({args.rounds} rounds)")
            results[benchmark.name] = benchmark.run(args.rounds, _progress)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    source = after_run(source, PROJECT_ROOT)

    comparisons = [comparison for outcome in results.values() for comparison in outcome.comparisons]
    print(f"\n{machine.describe()}; {args.rounds} rounds\nMeasured: {source.describe()}\n")
    print(text_table(comparisons))
    for outcome in results.values():
        for note in outcome.notes:
            print(f"\n{note}")
    if args.write:
        blocks = {
            benchmark.name: markdown_block(
                benchmark.title, results[benchmark.name], machine, source, args.rounds
            )
            for benchmark in selected
        }
        try:
            document = RESULTS_DOCUMENT.read_text(encoding="utf-8")
            RESULTS_DOCUMENT.write_text(
                rewrite_results(document, blocks, str(RESULTS_DOCUMENT)), encoding="utf-8"
            )
        except (OSError, BenchmarkError) as error:
            print(f"error: cannot write the results: {error}", file=sys.stderr)
            return 2
        _progress(f"wrote the results to {RESULTS_DOCUMENT.relative_to(PROJECT_ROOT)}")
    return 0 if all(comparison.passed for comparison in comparisons) else 1


if __name__ == "__main__":
    sys.exit(main())
