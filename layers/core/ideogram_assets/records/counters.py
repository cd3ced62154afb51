"""Counter items: images and bytes by status and by retention class, kept by atomic ADD as
records change, so a report reads a few items whether the table holds a thousand records or a
million.

Items: PK = "COUNTER", SK = "<dimension>#<value>#<shard>", attributes `images` and `bytes`.
Each write adds to one of a few shards (spreading a busy counter over several items); a report
sums the shards. Deltas are collected while a service works and added in one go at its end;
a write that fails is logged and counted (metric CounterWriteFailed), and the report's recount
(an explicit full read) puts the counters right again.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ideogram_assets.records.status import Status

COUNTER_PARTITION = "COUNTER"
SHARDS = 4


@dataclass(frozen=True)
class RecordState:
    """What of a record the counters follow."""

    status: str
    size_bytes: int
    retention_class: str | None


def _contributions(state: RecordState) -> list[tuple[str, int]]:
    """(counter, bytes) pairs a record in this state counts towards."""
    counted = [(f"status#{state.status}", state.size_bytes)]
    if state.status == Status.STORED:
        counted.append((f"class#{state.retention_class or 'standard'}", state.size_bytes))
    return counted


class CounterDeltas:
    """Changes to the counters not written yet; thread-safe (images are stored concurrently)."""

    def __init__(self) -> None:
        self._images: Counter[str] = Counter()
        self._bytes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def change(self, before: RecordState | None, after: RecordState | None) -> None:
        """A record moved from `before` to `after` (None: it did not exist / no longer does)."""
        with self._lock:
            for name, size in _contributions(before) if before else ():
                self._images[name] -= 1
                self._bytes[name] -= size
            for name, size in _contributions(after) if after else ():
                self._images[name] += 1
                self._bytes[name] += size

    def take(self) -> dict[str, tuple[int, int]]:
        """Every counter with a net change, as (images, bytes), and forgets them."""
        with self._lock:
            names = set(self._images) | set(self._bytes)
            taken = {
                name: (self._images[name], self._bytes[name])
                for name in names
                if self._images[name] or self._bytes[name]
            }
            self._images.clear()
            self._bytes.clear()
        return taken


def shard_key(name: str) -> str:
    return f"{name}#{random.randrange(SHARDS)}"  # noqa: S311 - spreading load, not security


def totals(items: Iterable[Mapping[str, int | str]]) -> dict[str, dict[str, dict[str, int]]]:
    """Counter items summed over their shards: {dimension: {value: {"images", "bytes"}}}."""
    summed: dict[str, dict[str, dict[str, int]]] = {}
    for item in items:
        dimension, value, _shard = str(item["SK"]).split("#", 2)
        entry = summed.setdefault(dimension, {}).setdefault(value, {"images": 0, "bytes": 0})
        entry["images"] += int(item.get("images", 0))
        entry["bytes"] += int(item.get("bytes", 0))
    # A value everything has left (all its images moved on) says nothing.
    return {
        dimension: {value: entry for value, entry in values.items() if entry["images"] or entry["bytes"]}
        for dimension, values in summed.items()
    }
