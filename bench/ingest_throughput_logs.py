"""Where an ingest invocation's time goes, read from what the stack logs anyway.

- The queue poller logs each invocation it makes (`local_stack.event_sources`: the mapping, the
  batch's outcome, `latencyMs`), as Lambda's event source mapping reports them: the invocations'
  start and end times, hence how many ran at once.
- The ingest function's own log lines (Powertools JSON, one file for every execution environment)
  mark the steps of one generation: the Ideogram call (`Ideogram generate attempt`, with its
  duration), each image stored (`image persisted`, with its duration), the records written
  (`generation persisted`, with the generation's duration) and the message done (`request
  ingested`). The gaps between them are the table's writes.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

EVENT_SOURCE_LOGGER = "local_stack.event_sources"
IDEOGRAM_ATTEMPT = "Ideogram generate attempt"
IMAGE_PERSISTED = "image persisted"
GENERATION_PERSISTED = "generation persisted"
REQUEST_INGESTED = "request ingested"

# The steps of one generation, in order, as the phases table names them.
PHASES = (
    "before the Ideogram call (PENDING records written)",
    "Ideogram call (emulator latency)",
    "Ideogram's answer written to the records",
    "image downloaded and stored in S3",
    "record STORED with its index items, counters added",
    "idempotency record completed, message done",
)


@dataclass(frozen=True)
class Invocation:
    mapping: str
    start: float
    end: float
    batch_size: int
    outcome: str


class InvocationLog(logging.Handler):
    """Collects the invocations the event source mappings make, while installed."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self._lock_entries = threading.Lock()
        self._invocations: list[Invocation] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = json.loads(record.getMessage())
            latency = float(entry["latencyMs"]) / 1000
            invocation = Invocation(
                mapping=str(entry.get("mapping", "")),
                start=record.created - latency,
                end=record.created,
                batch_size=int(entry.get("batchSize", 0)),
                outcome=str(entry.get("outcome", "")),
            )
        except (ValueError, KeyError, TypeError):
            return  # a line that is not an invocation (a poll error, a failed delete)
        with self._lock_entries:
            self._invocations.append(invocation)

    def take(self) -> list[Invocation]:
        with self._lock_entries:
            taken, self._invocations = self._invocations, []
        return taken


@contextmanager
def invocations_logged() -> Iterator[InvocationLog]:
    """Installs an InvocationLog on the event source mappings' logger (at INFO) for the block."""
    logger = logging.getLogger(EVENT_SOURCE_LOGGER)
    handler, level = InvocationLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _moment(timestamp: str) -> float:
    return datetime.strptime(timestamp, "%Y-%m-%d %H:%M:%S,%f%z").timestamp()


def _entries(lines: Iterable[str], function_name: str) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("function_name") == function_name and "request_id" in entry:
            yield entry


def generation_phases(
    lines: Iterable[str], function_name: str, start: float, end: float
) -> dict[str, list[float]]:
    """Seconds spent in each of PHASES, per generation of `function_name` that ended in [start, end]."""
    steps: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for entry in _entries(lines, function_name):
        try:
            moment = _moment(str(entry["timestamp"]))
        except (KeyError, ValueError):
            continue
        duration = entry.get("duration_ms")
        took = float(duration) / 1000 if isinstance(duration, int | float) else 0.0
        steps[str(entry["request_id"])][str(entry.get("message"))].append((moment - took, moment))
    phases: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for marks in steps.values():
        needed = (IDEOGRAM_ATTEMPT, IMAGE_PERSISTED, GENERATION_PERSISTED, REQUEST_INGESTED)
        if not all(marks.get(name) for name in needed):
            continue  # a generation that failed, or whose lines fall outside the file
        generation_start, generation_end = marks[GENERATION_PERSISTED][0]
        if not start <= generation_end <= end:
            continue
        ideogram_start = min(begin for begin, _ in marks[IDEOGRAM_ATTEMPT])
        ideogram_end = max(finish for _, finish in marks[IDEOGRAM_ATTEMPT])
        persist_start = min(begin for begin, _ in marks[IMAGE_PERSISTED])
        persist_end = max(finish for _, finish in marks[IMAGE_PERSISTED])
        ingested = marks[REQUEST_INGESTED][0][1]
        durations = (
            ideogram_start - generation_start,
            ideogram_end - ideogram_start,
            persist_start - ideogram_end,
            persist_end - persist_start,
            generation_end - persist_end,
            ingested - generation_end,
        )
        for phase, seconds in zip(PHASES, durations, strict=True):
            phases[phase].append(max(0.0, seconds))
    return phases


def medians(phases: dict[str, list[float]]) -> dict[str, float]:
    return {phase: statistics.median(values) for phase, values in phases.items() if values}


def latencies(invocations: Sequence[Invocation]) -> list[float]:
    return [invocation.end - invocation.start for invocation in invocations]
