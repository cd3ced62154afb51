"""Shared machinery of the benchmarks: interleaved rounds, summaries, verdicts, reporting.

The machine the benchmarks run on is shared and noisy, so no benchmark states an absolute
number as its result. Each one measures a candidate and a baseline in the same run, round
after round in alternating order, and judges the ratio of their medians against a target.
A benchmark plugs in as a function returning `Comparison`s, usually built with `run_rounds`
and `compare`.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

Progress = Callable[[str], None]

RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"


class BenchmarkError(RuntimeError):
    """A measurement could not be taken (a child process failed, a file is missing, ...)."""


@dataclass(frozen=True)
class Summary:
    """Median and interquartile range: robust to the outliers a shared machine produces."""

    median: float
    p25: float
    p75: float
    count: int


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        raise ValueError("no samples to summarize")
    if len(samples) == 1:
        return Summary(median=samples[0], p25=samples[0], p75=samples[0], count=1)
    p25, median, p75 = statistics.quantiles(samples, n=4, method="inclusive")
    return Summary(median=median, p25=p25, p75=p75, count=len(samples))


@dataclass(frozen=True)
class Comparison:
    """One verdict: candidate against baseline, lower is better, passes if ratio <= target."""

    name: str
    candidate: Sequence[float]
    baseline: Sequence[float]
    target: float
    unit: str  # "s" or "bytes"; only changes how values are printed

    @property
    def candidate_summary(self) -> Summary:
        return summarize(self.candidate)

    @property
    def baseline_summary(self) -> Summary:
        return summarize(self.baseline)

    @property
    def ratio(self) -> float:
        """The verdict's number: median of the candidate over median of the baseline."""
        return self.candidate_summary.median / self.baseline_summary.median

    @property
    def round_ratios(self) -> Summary | None:
        """Spread of the per-round ratios (samples are paired by round), None if unpaired.

        If its p25..p75 straddles the target, the verdict is marginal on this machine.
        """
        if len(self.candidate) != len(self.baseline):
            return None
        return summarize([c / b for c, b in zip(self.candidate, self.baseline, strict=True)])

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target


def compare(
    name: str, candidate: Sequence[float], baseline: Sequence[float], target: float, unit: str
) -> Comparison:
    return Comparison(
        name=name, candidate=tuple(candidate), baseline=tuple(baseline), target=target, unit=unit
    )


def run_rounds(
    arms: Mapping[str, Callable[[], float]],
    rounds: int,
    progress: Progress,
    warmup: int = 1,
    unit: str = "s",
) -> dict[str, list[float]]:
    """Measures every arm once per round, rotating which goes first, and returns the samples.

    Interleaving spreads a slow spell of the machine over all arms instead of one; rotating
    the order keeps any "runs first/second" effect from favouring one arm. Warm-up rounds
    (page cache, .pyc files) are run the same way and discarded.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    names = list(arms)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(-warmup, rounds):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        measured = {name: arms[name]() for name in order}
        if index < 0:
            progress(f"  warm-up round {index + warmup + 1}/{warmup} done")
            continue
        for name, value in measured.items():
            samples[name].append(value)
        values = ", ".join(f"{name} {format_value(value, unit)}" for name, value in measured.items())
        progress(f"  round {index + 1}/{rounds}: {values}")
    return samples


def format_value(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    return f"{value:.3g} {unit}"


def format_summary(summary: Summary, unit: str) -> str:
    low, high = format_value(summary.p25, unit), format_value(summary.p75, unit)
    return f"{format_value(summary.median, unit)} ({low}..{high})"


def verdict(comparison: Comparison) -> str:
    """PASS or FAIL on the ratio of medians, marked "thin" when the per-round ratios' p25..p75
    straddles the target: on this machine the verdict could go either way in another run."""
    spread = comparison.round_ratios
    if comparison.passed:
        thin = spread is not None and spread.p75 > comparison.target
        return "PASS (thin)" if thin else "PASS"
    thin = spread is not None and spread.p25 <= comparison.target
    return "FAIL (thin)" if thin else "FAIL"


@dataclass(frozen=True)
class MachineInfo:
    python: str
    platform: str
    cpu: str
    cpu_count: int | None
    usable_cpus: int | None
    load_average: tuple[float, float, float] | None
    date: str

    def describe(self) -> str:
        load = "n/a" if self.load_average is None else " / ".join(f"{x:.2f}" for x in self.load_average)
        return (
            f"{self.date}, Python {self.python} on {self.platform}, CPU {self.cpu}, "
            f"{self.cpu_count} CPUs ({self.usable_cpus} usable), load average at start {load}"
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> MachineInfo:
    try:
        load: tuple[float, float, float] | None = os.getloadavg()
    except OSError:
        load = None
    return MachineInfo(
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.release()} {platform.machine()}",
        cpu=_cpu_model(),
        cpu_count=os.cpu_count(),
        usable_cpus=os.process_cpu_count(),
        load_average=load,
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


# What a benchmark measures: the product's code, its template and dependencies, the local stack
# the end-to-end benchmark runs, and the harness itself.
MEASURED_PATHS = ("layers", "functions", "template.yaml", "local", "bench", "pyproject.toml")


def parse_porcelain(text: str) -> tuple[str, ...]:
    """Paths named by `git status --porcelain` (v1), renames by their new name, sorted."""
    paths = set()
    for line in text.splitlines():
        if len(line) < 4:
            continue
        path = line[3:]
        paths.add(path.split(" -> ", 1)[1] if " -> " in path else path)
    return tuple(sorted(paths))


@dataclass(frozen=True)
class SourceState:
    """The commit a run measured, and whether the measured paths held uncommitted changes."""

    commit: str
    changed: tuple[str, ...] = ()
    paths: tuple[str, ...] = MEASURED_PATHS
    commit_at_end: str | None = None  # set when HEAD moved while the benchmarks ran
    moved_changes: tuple[str, ...] = ()  # measured paths the commits made during the run changed

    def describe(self, shown: int = 5) -> str:
        text = f"commit {self.commit}"
        if self.commit_at_end and self.commit_at_end != self.commit:
            if self.moved_changes:
                listed = ", ".join(self.moved_changes[:shown])
                more = (
                    f" and {len(self.moved_changes) - shown} more" if len(self.moved_changes) > shown else ""
                )
                changed = f"changing {listed}{more}"
            else:
                changed = "changing none of the measured paths"
            text += f" (HEAD moved to {self.commit_at_end} during the run, {changed})"
        if not self.changed:
            return f"{text}, no uncommitted changes in {', '.join(self.paths)}"
        listed = ", ".join(self.changed[:shown])
        more = f" and {len(self.changed) - shown} more" if len(self.changed) > shown else ""
        return f"{text}, tree dirty: uncommitted changes in {listed}{more}"


def _git(root: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout if completed.returncode == 0 else None


def head_commit(root: Path) -> str:
    return (_git(root, "rev-parse", "--short", "HEAD") or "").strip() or "unknown (not a git checkout)"


def after_run(state: SourceState, root: Path) -> SourceState:
    """The state with HEAD as it is now and, if it moved, which measured paths it changed."""
    end = head_commit(root)
    if end == state.commit:
        return state
    diff = _git(root, "diff", "--name-only", state.commit, end, "--", *state.paths) or ""
    changed = tuple(sorted(line for line in diff.splitlines() if line))
    return replace(state, commit_at_end=end, moved_changes=changed)


def source_state(root: Path, paths: Sequence[str] = MEASURED_PATHS) -> SourceState:
    """`git rev-parse --short HEAD` and `git status --porcelain` over the measured paths, now."""
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths) or ""
    return SourceState(commit=head_commit(root), changed=parse_porcelain(status), paths=tuple(paths))


_COLUMNS = (
    "benchmark",
    "candidate median (p25..p75)",
    "baseline median (p25..p75)",
    "ratio",
    "round ratios p25..p75",
    "target",
    "result",
)


def _row(comparison: Comparison) -> tuple[str, ...]:
    spread = comparison.round_ratios
    return (
        comparison.name,
        format_summary(comparison.candidate_summary, comparison.unit),
        format_summary(comparison.baseline_summary, comparison.unit),
        f"{comparison.ratio:.2f}",
        "n/a" if spread is None else f"{spread.p25:.2f}..{spread.p75:.2f}",
        f"<= {comparison.target:.2f}",
        verdict(comparison),
    )


def text_table(comparisons: Sequence[Comparison]) -> str:
    rows = [_COLUMNS, *(_row(c) for c in comparisons)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(comparisons: Sequence[Comparison]) -> str:
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "|".join("---" for _ in _COLUMNS) + "|"]
    lines += ["| " + " | ".join(_row(c)) + " |" for c in comparisons]
    return "\n".join(lines)


def parts_table(rows: Sequence[tuple[str, str, Sequence[float]]], unit: str) -> str:
    """A breakdown of what the verdict's samples are made of: (arm, part, samples) per row."""
    lines = ["| arm | part | median (p25..p75) |", "|---|---|---|"]
    lines += [
        f"| {arm} | {part} | {format_summary(summarize(samples), unit)} |" for arm, part, samples in rows
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    """What one benchmark run returns: its verdicts, and notes (markdown) that explain them."""

    comparisons: list[Comparison]
    notes: list[str] = field(default_factory=list)


def markdown_block(
    title: str, outcome: Outcome, machine: MachineInfo, source: SourceState, rounds: int
) -> str:
    """One benchmark's part of the results section, stamped with what, when and where it ran."""
    parts = [
        f"### {title}",
        "",
        f"Measured: {source.describe()}.",
        f"Run: {machine.describe()}; {rounds} rounds.",
        "",
        markdown_table(outcome.comparisons),
    ]
    for note in outcome.notes:
        parts += ["", note.strip()]
    return "\n".join(parts)


@dataclass(frozen=True)
class Benchmark:
    """What `python -m bench` runs: a name on the command line, a title in the results."""

    name: str
    title: str
    run: Callable[[int, Progress], Outcome]  # (rounds, progress) -> verdicts and notes


def _block_markers(name: str) -> tuple[str, str]:
    return f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"


def _split(text: str, start: str, end: str, where: str) -> tuple[str, str, str]:
    """(text up to and with start, text between, end and the rest); each marker once, in order."""
    if text.count(start) != 1 or text.count(end) != 1:
        raise BenchmarkError(f"{where} must contain {start} and {end} exactly once each")
    if text.index(end) < text.index(start):
        raise BenchmarkError(f"{where}: {end} comes before {start}")
    head, rest = text.split(start)
    body, tail = rest.split(end)
    return head + start, body, end + tail


def rewrite_results(document: str, blocks: Mapping[str, str], where: str = "the document") -> str:
    """Replaces, between the results markers, the block of each benchmark that ran.

    Each benchmark owns a block with its own markers, so running one benchmark rewrites its
    results and keeps the others'. Blocks not seen before are appended at the end of the
    section. Everything outside the results markers is kept byte for byte.
    """
    head, section, tail = _split(document, RESULTS_START, RESULTS_END, where)
    for name, content in blocks.items():
        start, end = _block_markers(name)
        block = f"{start}\n{content.strip()}\n{end}"
        if start in section or end in section:
            block_head, _, block_tail = _split(section, start, end, f"{where} (block {name})")
            section = block_head.removesuffix(start) + block + block_tail.removeprefix(end)
        else:
            section = section.rstrip("\n") + "\n\n" + block + "\n"
    return head + "\n" + section.strip("\n") + "\n" + tail
