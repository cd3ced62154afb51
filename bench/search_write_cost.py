"""What storing one image writes, in items and capacity units, under each choice of GSI projections.

The writes themselves are the product's (bench.search_writes_child runs them through the record
store on moto and reports each request and the record as the table holds it after each step);
this module prices them with DynamoDB's rules:

- An item's size is the sum of its attribute names and values (UTF-8 strings; a number takes
  about one byte per two significant digits plus one; a boolean or null one byte; a set the sum
  of its members; a list or map 3 bytes plus one byte per element).
- A write costs one write unit per started KB of the item; an update costs for the larger of the
  item before and after it; in TransactWriteItems every item costs twice (prepare and commit).
- A GSI entry holds the table's key, the index key and the projected attributes. Writing the
  table writes a GSI when the item enters it (a put), leaves it (a delete), changes its index key
  (a delete and a put) or changes a projected attribute (an update); nothing otherwise. Each GSI
  write costs one unit per started KB of the entry, and is not doubled by a transaction (indexes
  are updated after the table, outside the transaction's two phases).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from local_stack.template import load_template

KB = 1024
TABLE_KEYS = ("PK", "SK")
Item = Mapping[str, Mapping[str, Any]]


def _number_bytes(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def value_bytes(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value (without its name)."""
    [(kind, content)] = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return _number_bytes(str(content))
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(member).encode()) for member in content)
    if kind == "NS":
        return sum(_number_bytes(str(member)) for member in content)
    if kind == "BS":
        return sum(len(member) for member in content)
    if kind == "L":
        return 3 + sum(1 + value_bytes(member) for member in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_bytes(member) for name, member in content.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_bytes(item: Item) -> int:
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def write_units(size: int, *, transactional: bool = False) -> int:
    units = max(1, math.ceil(size / KB))
    return 2 * units if transactional else units


@dataclass(frozen=True)
class Gsi:
    name: str
    hash_key: str
    range_key: str | None
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    def key_names(self) -> tuple[str, ...]:
        return (self.hash_key, self.range_key) if self.range_key else (self.hash_key,)

    def entry(self, item: Item | None) -> dict[str, Any] | None:
        """The item as this index holds it, or None when the item is not in the index."""
        if item is None or any(key not in item for key in self.key_names()):
            return None
        if self.projection == "ALL":
            return dict(item)
        names = {*TABLE_KEYS, *self.key_names(), *(self.included if self.projection == "INCLUDE" else ())}
        return {name: value for name, value in item.items() if name in names}

    def projected_as(self, projection: str) -> Gsi:
        return Gsi(
            self.name,
            self.hash_key,
            self.range_key,
            projection,
            () if projection != "INCLUDE" else self.included,
        )


def template_gsis(template: Mapping[str, Any] | None = None) -> list[Gsi]:
    """The table's GSIs as template.yaml declares them."""
    document = template if template is not None else load_template()
    table = document["Resources"]["AssetsTable"]["Properties"]
    gsis = []
    for index in table.get("GlobalSecondaryIndexes", []):
        keys = {key["KeyType"]: key["AttributeName"] for key in index["KeySchema"]}
        projection = index.get("Projection", {})
        gsis.append(
            Gsi(
                name=index["IndexName"],
                hash_key=keys["HASH"],
                range_key=keys.get("RANGE"),
                projection=projection.get("ProjectionType", "KEYS_ONLY"),
                included=tuple(projection.get("NonKeyAttributes", ())),
            )
        )
    return gsis


@dataclass(frozen=True)
class GsiWrite:
    index: str
    kind: str  # put, delete, update
    units: int


def gsi_writes(gsi: Gsi, before: Item | None, after: Item | None) -> list[GsiWrite]:
    """What one table write of an item (from `before` to `after`; None: absent) costs this index."""
    old, new = gsi.entry(before), gsi.entry(after)
    if old is None and new is None:
        return []
    if old is None:
        assert new is not None
        return [GsiWrite(gsi.name, "put", write_units(item_bytes(new)))]
    if new is None:
        return [GsiWrite(gsi.name, "delete", write_units(item_bytes(old)))]
    if any(old.get(name) != new.get(name) for name in gsi.key_names()):
        return [
            GsiWrite(gsi.name, "delete", write_units(item_bytes(old))),
            GsiWrite(gsi.name, "put", write_units(item_bytes(new))),
        ]
    if old == new:
        return []
    return [GsiWrite(gsi.name, "update", write_units(max(item_bytes(old), item_bytes(new))))]


@dataclass(frozen=True)
class ItemWrite:
    """One item a request wrote: the table's item before and after (None: absent)."""

    before: Item | None
    after: Item | None


@dataclass(frozen=True)
class Step:
    """One write request of the store: what it was and every item it wrote."""

    name: str
    operation: str  # TransactWriteItems, UpdateItem, PutItem...
    writes: Sequence[ItemWrite]

    @property
    def transactional(self) -> bool:
        return self.operation == "TransactWriteItems"


@dataclass
class StepCost:
    step: str
    operation: str
    items: int
    table_units: int
    gsi: list[GsiWrite] = field(default_factory=list)

    @property
    def gsi_units(self) -> int:
        return sum(write.units for write in self.gsi)

    @property
    def total_units(self) -> int:
        return self.table_units + self.gsi_units


def step_cost(step: Step, gsis: Iterable[Gsi]) -> StepCost:
    indexes = list(gsis)
    cost = StepCost(step.name, step.operation, items=len(step.writes), table_units=0)
    for write in step.writes:
        size = max(item_bytes(write.before or {}), item_bytes(write.after or {}))
        cost.table_units += write_units(size, transactional=step.transactional)
        for gsi in indexes:
            cost.gsi += gsi_writes(gsi, write.before, write.after)
    return cost


@dataclass(frozen=True)
class Option:
    """A choice of projections: the template's, with some indexes projected otherwise."""

    name: str
    changes: Mapping[str, str]  # index name -> projection

    def apply(self, gsis: Sequence[Gsi]) -> list[Gsi]:
        return [gsi.projected_as(self.changes[gsi.name]) if gsi.name in self.changes else gsi for gsi in gsis]


SEARCH_ONLY = ("BySeed", "ByModel", "ByStyle")  # read only by search, which reads records by BatchGetItem
WHOLE_RECORD_READERS = ("ByTimeBucket", "ByPromptHash", "ByOpenStatus")  # also read as records elsewhere


def options(gsis: Sequence[Gsi]) -> list[Option]:
    all_projected = [gsi.name for gsi in gsis if gsi.projection == "ALL"]
    return [
        Option("as in template.yaml", {}),
        Option(
            "KEYS_ONLY on BySeed, ByModel, ByStyle",
            {name: "KEYS_ONLY" for name in SEARCH_ONLY if name in all_projected},
        ),
        Option("KEYS_ONLY on every index now ALL", dict.fromkeys(all_projected, "KEYS_ONLY")),
    ]


def costs(steps: Sequence[Step], gsis: Sequence[Gsi]) -> list[StepCost]:
    """Each step's cost; requests of one step (the counter updates) are added up into one."""
    merged: dict[str, StepCost] = {}
    for step in steps:
        cost = step_cost(step, gsis)
        if step.name not in merged:
            merged[step.name] = cost
            continue
        held = merged[step.name]
        requests = held.operation.rsplit(" x ", 1)
        count = int(requests[1]) if len(requests) == 2 else 1
        held.operation = f"{requests[0]} x {count + 1}"
        held.items += cost.items
        held.table_units += cost.table_units
        held.gsi += cost.gsi
    return list(merged.values())


def storage_bytes(item: Item, gsis: Sequence[Gsi]) -> int:
    """What the stored record takes in the table and its indexes (100 bytes of overhead per
    index entry, as DynamoDB counts index storage)."""
    total = item_bytes(item)
    for gsi in gsis:
        entry = gsi.entry(item)
        if entry is not None:
            total += item_bytes(entry) + 100
    return total


def report(steps: Sequence[Step], gsis: Sequence[Gsi], stored: Item) -> str:
    """Markdown: each step's items and units under the template's projections, then every option's
    totals side by side."""
    lines = [
        "| step | request | items written | table WCU | GSI writes | GSI WCU | total WCU |",
        "|---|---|---|---|---|---|---|",
    ]
    for cost in costs(steps, gsis):
        described = ", ".join(f"{write.index} {write.kind} {write.units}" for write in cost.gsi) or "none"
        lines.append(
            f"| {cost.step} | {cost.operation} | {cost.items} | {cost.table_units} | {described} | "
            f"{cost.gsi_units} | {cost.total_units} |"
        )
    lines += [
        "",
        "| projections | table WCU | GSI writes | GSI WCU | total WCU per image | stored bytes per image |",
        "|---|---|---|---|---|---|",
    ]
    for option in options(gsis):
        chosen = option.apply(gsis)
        priced = costs(steps, chosen)
        lines.append(
            f"| {option.name} | {sum(cost.table_units for cost in priced)} | "
            f"{sum(len(cost.gsi) for cost in priced)} | {sum(cost.gsi_units for cost in priced)} | "
            f"{sum(cost.total_units for cost in priced)} | {storage_bytes(stored, chosen):,} |"
        )
    return "\n".join(lines)


def recommendation(steps: Sequence[Step], gsis: Sequence[Gsi], stored: Item) -> str:
    """The choice the figures support, with what it saves per image."""
    current, search_only, every = options(gsis)

    def totals(option: Option) -> tuple[int, int, int]:
        chosen = option.apply(gsis)
        priced = costs(steps, chosen)
        return (
            sum(cost.total_units for cost in priced),
            sum(cost.gsi_units for cost in priced),
            storage_bytes(stored, chosen),
        )

    base_units, base_gsi, base_bytes = totals(current)
    units, gsi, stored_bytes = totals(search_only)
    all_units, all_gsi, all_bytes = totals(every)
    return (
        f"Recommendation: project BySeed, ByModel and ByStyle as KEYS_ONLY. Search reads only their "
        f"keys, so it costs search nothing, and storing an image then writes {units} units instead of "
        f"{base_units} ({base_units - units} fewer, {100 * (base_units - units) / base_units:.0f}%; GSI "
        f"units {base_gsi} -> {gsi}) and keeps {stored_bytes:,} bytes instead of {base_bytes:,}. "
        f"KEYS_ONLY on ByTimeBucket, ByPromptHash and ByOpenStatus as well would bring it to "
        f"{all_units} units ({all_gsi} in GSIs) and {all_bytes:,} bytes, but their readers (the "
        f"reconciler's audit, the duplicate check, the reconciler) take whole records from them and "
        f"would first have to fetch each by key: worth it only if those reads move to BatchGetItem. "
        f"The index items (one per word and tag) are most of what a store writes either way."
    )
