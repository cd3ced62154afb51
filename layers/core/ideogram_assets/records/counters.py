"""Counter items: the storage report's figures, kept by atomic ADD as records change, so a report
reads a few items whether the table holds a thousand records or a million.

Items: PK = "COUNTER", SK = "<dimension>#<value>#<shard>". Dimensions: `status`, `class`
(retention class, stored images only), `model`, `style`, `month` (of creation) and `tag`.
Fields: `records` (records counted), `images` (stored copies), `bytes` (their size; a MISSING
record's counts too, as what was lost), `generated` (images
Ideogram answered), `unsafe` (answered but withheld) and `costMicros` (estimated charges, in
millionths of a US dollar, so that adding never rounds).

Each write adds to one of a few shards (spreading a busy counter over several items); a report
sums the shards. Deltas are collected while a service works and added in one go at its end; a
write that fails is logged and counted (metric CounterWriteFailed), and `recount` (an explicit
full read) says what the counters should be.
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
FIELDS = ("records", "images", "bytes", "generated", "unsafe", "costMicros")
NO_STYLE = "NONE"

Fields = dict[str, int]


@dataclass(frozen=True)
class RecordState:
    """What of a record the counters follow."""

    status: str
    size_bytes: int = 0
    retention_class: str | None = None
    model: str | None = None
    style_type: str | None = None
    month: str | None = None  # YYYY-MM of its creation
    tags: frozenset[str] = frozenset()
    answered: bool = False  # Ideogram said what it made (seed, safety, price)
    cost_micros: int = 0


def _fields(state: RecordState) -> Fields:
    stored = state.status == Status.STORED
    return {
        "records": 1,
        "images": 1 if stored else 0,
        "bytes": state.size_bytes,  # a stored image's (a MISSING one's: what was lost)
        "generated": 1 if state.answered else 0,
        "unsafe": 1 if state.status == Status.UNSAFE else 0,
        "costMicros": state.cost_micros if state.answered else 0,
    }


def _counters(state: RecordState) -> list[str]:
    """The counters a record in this state counts towards."""
    names = [f"status#{state.status}"]
    if state.status == Status.STORED:
        names.append(f"class#{state.retention_class or 'standard'}")
    if state.model:
        names.append(f"model#{state.model}")
    names.append(f"style#{state.style_type or NO_STYLE}")
    if state.month:
        names.append(f"month#{state.month}")
    names.extend(f"tag#{tag}" for tag in sorted(state.tags))
    return names


class CounterDeltas:
    """Changes to the counters not written yet; thread-safe (images are stored concurrently)."""

    def __init__(self) -> None:
        self._deltas: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def change(self, before: RecordState | None, after: RecordState | None) -> None:
        """A record moved from `before` to `after` (None: it did not exist / no longer does)."""
        with self._lock:
            for state, sign in ((before, -1), (after, 1)):
                if state is None:
                    continue
                fields = _fields(state)
                for name in _counters(state):
                    delta = self._deltas.setdefault(name, Counter())
                    for field, value in fields.items():
                        delta[field] += sign * value

    def take(self) -> dict[str, Fields]:
        """Every counter with a net change, as {field: delta} without zeros, and forgets them."""
        with self._lock:
            taken = {
                name: {field: value for field, value in delta.items() if value}
                for name, delta in self._deltas.items()
            }
            self._deltas.clear()
        return {name: fields for name, fields in taken.items() if fields}


def shard_key(name: str) -> str:
    return f"{name}#{random.randrange(SHARDS)}"  # noqa: S311 - spreading load, not security


def totals(items: Iterable[Mapping[str, int | str]]) -> dict[str, dict[str, Fields]]:
    """Counter items summed over their shards: {dimension: {value: {field: total}}}; a value
    whose every field adds up to nothing (all its records moved on) is left out."""
    summed: dict[str, dict[str, Fields]] = {}
    for item in items:
        dimension, value, _shard = _split(str(item["SK"]))
        entry = summed.setdefault(dimension, {}).setdefault(value, dict.fromkeys(FIELDS, 0))
        for field in FIELDS:
            entry[field] += int(item.get(field, 0))
    return {
        dimension: {value: entry for value, entry in values.items() if any(entry.values())}
        for dimension, values in summed.items()
    }


def _split(sort_key: str) -> tuple[str, str, str]:
    # A tag may hold ':' and '.', never '#'; a dimension and a shard never do either.
    dimension, rest = sort_key.split("#", 1)
    value, shard = rest.rsplit("#", 1)
    return dimension, value, shard


def recount(states: Iterable[RecordState]) -> dict[str, dict[str, Fields]]:
    """What the counters should say, counted record by record (the check on the ADDs)."""
    deltas = CounterDeltas()
    for state in states:
        deltas.change(None, state)
    counted: dict[str, dict[str, Fields]] = {}
    for name, fields in deltas.take().items():
        dimension, value = name.split("#", 1)
        counted.setdefault(dimension, {})[value] = {field: fields.get(field, 0) for field in FIELDS}
    return counted


def images_and_bytes(values: Mapping[str, Fields]) -> dict[str, dict[str, int]]:
    """A dimension as the retention report shows it: records and stored bytes per value."""
    return {
        value: {"images": fields["records"], "bytes": fields["bytes"]} for value, fields in values.items()
    }
