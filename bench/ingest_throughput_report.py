"""What an ingest-throughput run found, and the notes (markdown) written under its verdicts."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.ingest_throughput_cpu import MOTO, CpuUse
from bench.ingest_throughput_logs import PHASES
from bench.ingest_throughput_profile import ReferenceLoop, SlotProfile, sparkline


@dataclass(frozen=True)
class BusRun:
    """One candidate run: N events through the bus, until every request's record is final."""

    requests: int
    start: float  # time.time() just before the first PutEvents
    put_seconds: float
    end: float  # the last record's STORED time (or when the run gave up)
    complete: bool  # every request STORED before the run gave up
    stored_requests: int
    failed_records: int  # FAILED or LOST
    dead_lettered: int
    rate_limited: int  # 429s the emulator answered during the run
    ideogram_calls: int
    slots: SlotProfile  # Ideogram's images in flight
    running: SlotProfile  # ingest invocations running at once
    invocation_seconds: tuple[float, ...]
    cpu: CpuUse
    phases: Mapping[str, float] = field(default_factory=dict)

    @property
    def wall_seconds(self) -> float:
        return self.end - self.start

    @property
    def failed_items(self) -> int:
        """Requests that did not end STORED: FAILED or LOST records, dead letters, or missing."""
        return max(self.requests - self.stored_requests, self.failed_records + self.dead_lettered)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rounds_table(runs: Sequence[BusRun], ideal: float) -> str:
    rows = [
        (
            str(number),
            f"{run.wall_seconds:.1f}" + ("" if run.complete else " (gave up)"),
            f"{run.wall_seconds / ideal:.2f}",
            f"{run.put_seconds:.1f}",
            f"{run.stored_requests}/{run.requests}",
            str(run.failed_records),
            str(run.dead_lettered),
            str(run.rate_limited),
            str(run.ideogram_calls),
            f"{run.slots.peak} / {run.slots.mean:.2f}",
            f"{run.running.peak} / {run.running.mean:.2f}",
            f"{_median(run.invocation_seconds) * 1000:.0f}",
        )
        for number, run in enumerate(runs, start=1)
    ]
    header = (
        "round",
        "wall (s)",
        "x ideal",
        "PutEvents (s)",
        "requests STORED",
        "FAILED/LOST",
        "dead-lettered",
        "429s answered",
        "Ideogram calls",
        "images in flight: peak / mean",
        "invocations running: peak / mean",
        "invocation median (ms)",
    )
    return _table(header, rows)


def slots_over_time(runs: Sequence[BusRun], limit: int) -> str:
    lines = [f"Ideogram's images in flight, mean of each second of the run (0-9, `#` = {limit}):", ""]
    lines += [
        f"    round {number}: {sparkline(run.slots.per_second, limit)}" for number, run in enumerate(runs, 1)
    ]
    return "\n".join(lines)


def phases_table(runs: Sequence[BusRun]) -> str:
    """Median of each round's per-generation medians, in order, and the invocation as a whole."""
    rows = []
    for phase in PHASES:
        values = [run.phases[phase] for run in runs if phase in run.phases]
        if values:
            rows.append((phase, f"{_median(values) * 1000:.0f}"))
    whole = [_median(run.invocation_seconds) for run in runs if run.invocation_seconds]
    rows.append(("whole invocation, as the queue poller timed it", f"{_median(whole) * 1000:.0f}"))
    return _table(("step of one generation (ingest function's log)", "median (ms)"), rows)


def cpu_table(runs: Sequence[BusRun], requests: int) -> str:
    parts = sorted({part for run in runs for part in run.cpu.by_part}, key=lambda part: (part != MOTO, part))
    rows = []
    for part in parts:
        seconds = _median([run.cpu.by_part.get(part, 0.0) for run in runs])
        rows.append((part, f"{seconds:.1f}", f"{seconds / requests * 1000:.0f}"))
    stack = _median([run.cpu.stack for run in runs])
    others = _median([run.cpu.others for run in runs])
    busy = _median(
        [run.cpu.machine_busy / run.cpu.machine_capacity for run in runs if run.cpu.machine_capacity]
    )
    rows.append(("the whole local stack", f"{stack:.1f}", f"{stack / requests * 1000:.0f}"))
    rows.append(("other work on this machine (not the stack)", f"{others:.1f}", ""))
    rows.append(("machine's cores busy", f"{busy * 100:.0f}%", ""))
    return _table(("CPU during a run (median of the rounds)", "CPU seconds", "ms per request"), rows)


def lower_bounds(
    runs: Sequence[BusRun], ideal: float, limit: int, batch_size: int, concurrency: int, cores: int
) -> str:
    """What the CPU the stack needs allows at best on this machine, whatever the pacing; and how
    the measured wall time follows from the invocations' length and how many ran at once."""
    moto = _median([run.cpu.by_part.get(MOTO, 0.0) for run in runs])
    stack = _median([run.cpu.stack for run in runs])
    wall = _median([run.wall_seconds for run in runs])
    running = _median([run.running.mean for run in runs])
    slots = _median([run.slots.mean for run in runs])
    invocation = _median([_median(run.invocation_seconds) for run in runs if run.invocation_seconds])
    requests = runs[0].requests
    # Invocation slots (MaximumConcurrency) left empty, per request: receiving the next message,
    # deleting the last one, the ramp at the start and the tail at the end of the run.
    empty = _median([(concurrency - run.running.mean) * run.wall_seconds / requests for run in runs])
    invocations = _median([float(len(run.invocation_seconds)) for run in runs])
    share = limit // concurrency
    return (
        f"Reading the figures. A run is no faster than its CPU allows: moto is one Python process (one "
        f"core at most), and its {moto:.1f} CPU seconds alone are {moto / ideal:.1f} x the ideal; the "
        f"whole stack used {stack:.1f} CPU seconds, which {cores} cores cannot give in less than "
        f"{stack / cores:.1f} s ({stack / cores / ideal:.1f} x the ideal), even with the machine to "
        f"itself. Pacing: {invocations:.0f} invocations (batches of up to {batch_size}) of a median "
        f"{invocation * 1000:.0f} ms, {running:.2f} running at once on average (measured wall: "
        f"{wall:.1f} s); of the {concurrency} invocation slots, one sat empty {empty * 1000:.0f} ms per "
        f"request. Each environment holds {share} of Ideogram's {limit} image slots, and a request "
        f"holds them only while Ideogram generates, so the slots' mean use ({slots:.2f} of {limit}) "
        f"falls short of {limit} by the time an environment has no request at Ideogram: its batch's "
        f"first writes, its last upload and STORED transaction, the next receive, and waits for the "
        f"CPU."
    )


def reference_table(loops: Sequence[ReferenceLoop], requests: int) -> str:
    rows = [
        (
            str(number),
            str(len(loop.replies)),
            f"{_median(loop.replies) * 1000:.0f}",
            f"{loop.cycle_seconds:.2f}",
            f"{loop.measured_seconds:.1f}",
            f"{loop.extrapolated_seconds(requests):.0f} (extrapolated)",
        )
        for number, loop in enumerate(loops, start=1)
    ]
    header = (
        "round",
        "requests measured",
        "reply median (ms)",
        "time per request, reply + pause (s)",
        "measured wall (s)",
        f"{requests} requests (s)",
    )
    return _table(header, rows)


def bus_notes(
    runs: Sequence[BusRun],
    loops: Sequence[ReferenceLoop],
    *,
    ideal: float,
    latency: float,
    limit: int,
    deployment: str,
    batch_size: int,
    concurrency: int,
    requests: int,
    cores: int,
    calls: str,
    max_rounds: int,
) -> list[str]:
    setup = (
        f"Setup: the local stack deployed with {deployment} (the mapping polled here: BatchSize "
        f"{batch_size}, MaximumConcurrency {concurrency}, {limit // concurrency} image slot(s) per "
        f"environment); the Ideogram emulator answers "
        f"every generate call after L = {latency:g} s and refuses (429) an image beyond {limit} in "
        f"flight. Every request asks for one image of the same prompt and seed (rendered once by the "
        f"emulator), each its own generation (its own event id). Wall time: from the first PutEvents "
        f"to the last record's STORED time (its `updatedAt`); ideal {requests} x {latency:g} s / "
        f"{limit} = {ideal:g} s. In-flight images sampled every ~50 ms from the emulator's health; "
        f"invocations timed by the queue poller."
    )
    notes = [setup, rounds_table(runs, ideal), slots_over_time(runs, limit)]
    notes += [
        "Reference loop (the baseline: one POST /generations at a time through the signed gateway, "
        f"then a fixed pause; same emulator latency). Its {requests}-request time is EXTRAPOLATED "
        "from the measured mean reply time; `python -m bench ingest_throughput --baseline-requests "
        f"{requests}` measures it in full.\n\n" + reference_table(loops, requests),
        "Where an ingest invocation's time goes:\n\n" + phases_table(runs),
        cpu_table(runs, requests),
        calls,
        lower_bounds(runs, ideal, limit, batch_size, concurrency, cores),
        f"This benchmark runs at most {max_rounds} rounds, whatever --rounds says: {len(runs)} here.",
    ]
    return notes
