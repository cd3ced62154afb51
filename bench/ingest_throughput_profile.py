"""What the ingest-throughput benchmark derives from its samples: pure functions, unit-tested.

Ideogram's slots over time come from the emulator's in-flight count, sampled every ~50 ms; the
event source mapping's slots from the invocations' start and end times. Both are step functions
of time, summarised over the run's window (first PutEvents to last STORED).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def ideal_seconds(requests: int, latency_seconds: float, inflight_limit: int) -> float:
    """The wall time if Ideogram's slots were never idle: every image holds one for the latency."""
    if requests < 1 or latency_seconds <= 0 or inflight_limit < 1:
        raise ValueError("requests, latency and the in-flight limit must be positive")
    return requests * latency_seconds / inflight_limit


@dataclass(frozen=True)
class SlotProfile:
    """Slots in use over a window: the most at once, the time-weighted mean, the mean per second."""

    peak: int
    mean: float
    per_second: tuple[float, ...]


def _step_mean(samples: Sequence[tuple[float, int]], start: float, end: float) -> float:
    """Time-weighted mean of a step function (each sample holds until the next) over [start, end]."""
    total = 0.0
    for index, (moment, value) in enumerate(samples):
        until = samples[index + 1][0] if index + 1 < len(samples) else end
        low, high = max(moment, start), min(until, end)
        if high > low:
            total += value * (high - low)
    return total / (end - start)


def slot_profile(samples: Sequence[tuple[float, int]], start: float, end: float) -> SlotProfile:
    """Summarises (time, slots in use) samples, sorted by time, over [start, end].

    The value before the first sample in the window is the last sample before it (or 0).
    """
    if end <= start:
        raise ValueError("the window must have a positive length")
    before = [sample for sample in samples if sample[0] <= start]
    inside = [sample for sample in samples if start < sample[0] < end]
    steps = [(start, before[-1][1] if before else 0), *inside]
    buckets = math.ceil(end - start)
    per_second = tuple(
        _step_mean(steps, start + second, min(end, start + second + 1)) for second in range(buckets)
    )
    return SlotProfile(
        peak=max(value for _, value in steps), mean=_step_mean(steps, start, end), per_second=per_second
    )


def running_profile(intervals: Sequence[tuple[float, float]], start: float, end: float) -> SlotProfile:
    """How many intervals (invocations: start, end) were running at once over [start, end]."""
    changes = sorted([(begin, 1) for begin, _ in intervals] + [(finish, -1) for _, finish in intervals])
    samples: list[tuple[float, int]] = []
    running = 0
    for moment, change in changes:
        running += change
        if samples and samples[-1][0] == moment:
            samples[-1] = (moment, running)
        else:
            samples.append((moment, running))
    return slot_profile(samples, start, end)


@dataclass(frozen=True)
class ReferenceLoop:
    """The reference batch loop's measured requests: reply times and the pauses between them."""

    replies: tuple[float, ...]
    pause_seconds: float

    @property
    def cycle_seconds(self) -> float:
        """One request and the pause that follows it (the loop's time per request)."""
        return statistics.mean(self.replies) + self.pause_seconds

    @property
    def measured_seconds(self) -> float:
        """What the measured requests took: each reply, and a pause between two of them."""
        return sum(self.replies) + self.pause_seconds * (len(self.replies) - 1)

    def extrapolated_seconds(self, requests: int) -> float:
        """The loop's wall time for `requests` at the measured mean reply time (no pause after the last)."""
        return requests * statistics.mean(self.replies) + self.pause_seconds * (requests - 1)


def sparkline(values: Sequence[float], limit: int) -> str:
    """Slots in use per second as a row of digits (0-9, or '#' at or above 10 of `limit`)."""
    scale = 10 / limit if limit > 10 else 1.0
    return "".join("#" if round(value * scale) >= 10 else str(round(value * scale)) for value in values)
