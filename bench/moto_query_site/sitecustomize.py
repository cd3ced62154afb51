"""Loaded by the search benchmark's moto server (through its PYTHONPATH): Query and Scan read
sorted copies of the keys instead of sorting the whole table on every request.

moto 5.2.5 answers every Query, on the table or on an index, by sorting every item of the table
(`Table.all_items` returns them sorted) and keeping those of the partition asked for, then sorts
the partition again and walks it from its start to the page's first item; every Scan page sorts
the whole table and walks it from the start to the page's first item. A Query therefore costs in
proportion to the table (and a Scan in proportion to the table squared), where DynamoDB's costs
in proportion to what it returns.

Here each table keeps, until its next write, its partitions and each index's partitions sorted
exactly as moto sorts them. A Query finds its partition, its first item (after the start key)
and the items its sort key condition keeps by binary search, then runs moto's own steps on just
those items: the limit and the 1 MB page, the copy and the projection, the filter expression,
the last evaluated key. A Scan of the table (not of an index) starts at its page's first item
by binary search and then runs moto's own loop. What moto stores and answers is unchanged:
anything this module does not cover (a request moto will refuse, legacy filters on a Query,
segments, multi-attribute keys, a page near the 1 MB limit, a write in flight) goes to moto's
own code, and every DynamoDB request that is not a read drops the sorted copies of every
table. A table tagged `bench:moto-query = as-shipped` is answered by moto's own code, so one
server can time both. The server's log says that the patch is in place.

moto also keeps every DynamoDB item object it ever creates in a class-level list (for its
/moto-api/data.json dashboard), copies included: each item a Query returns and each item a Scan
page reads is copied, so the server's memory grows with every read for good (a full Scan of
100k records keeps about 1.6 GB). Here that list keeps nothing for DynamoDB items; only that
dashboard's list of items changes.

Only the moto server loads this file as `sitecustomize`; imported under another name (the
tests do), it installs nothing until `installed()` is entered.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MARKER = "bench: moto answers Query and Scan from sorted copies of the keys"
SWITCH_TAG = "bench:moto-query"
AS_SHIPPED = "as-shipped"
# DynamoDB's limit on one item (moto refuses larger puts): the most one more item can add.
MAX_ITEM_BYTES = 400 * 1024
# Requests that change nothing: every other request drops the sorted copies.
READ_ACTIONS = frozenset(
    {
        "BatchGetItem",
        "DescribeContinuousBackups",
        "DescribeEndpoints",
        "DescribeLimits",
        "DescribeTable",
        "DescribeTimeToLive",
        "GetItem",
        "ListTables",
        "ListTagsOfResource",
        "Query",
        "Scan",
        "TransactGetItems",
    }
)


class _Untracked(list[Any]):
    """A list that keeps nothing: moto's record of DynamoDB item instances."""

    def append(self, instance: Any) -> None:
        pass


class NotCovered(Exception):
    """The request goes to moto's own code."""


class _Writes:
    """A version that every write moves, and how many writes are running (moto's server answers
    each request on its own thread). A sorted copy is kept only if no write ran while it was built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version = 0
        self.running = 0

    def begin(self) -> None:
        with self._lock:
            self.version += 1
            self.running += 1

    def end(self) -> None:
        with self._lock:
            self.version += 1
            self.running -= 1

    def quiet_version(self) -> int:
        with self._lock:
            if self.running:
                raise NotCovered("a write is running")
            return self.version


@dataclass
class _Sorted:
    """Items in moto's order, and the value the sort key condition compares for each."""

    items: list[Any]
    values: list[Any]


@dataclass
class _TableCopy:
    table: Any  # held, so that its id cannot name another table while this copy lives
    items: Any  # the table's item container when the copy was made
    version: int
    partitions: dict[Any, _Sorted] = field(default_factory=dict)
    index_groups: dict[str, dict[Any, list[Any]]] = field(default_factory=dict)
    index_partitions: dict[tuple[str, Any], _Sorted] = field(default_factory=dict)
    everything: list[Any] | None = None


class SortedKeys:
    """The sorted copies of every table, valid until the next write."""

    def __init__(self) -> None:
        self.writes = _Writes()
        self._lock = threading.Lock()
        self._copies: dict[int, _TableCopy] = {}

    def copy_of(self, table: Any) -> _TableCopy:
        version = self.writes.quiet_version()
        with self._lock:
            held = self._copies.get(id(table))
            if held and held.table is table and held.items is table.items and held.version == version:
                return held
            # Copies of an older version are stale: let them go.
            self._copies = {key: value for key, value in self._copies.items() if value.version == version}
            fresh = _TableCopy(table=table, items=table.items, version=version)
            self._copies[id(table)] = fresh
            return fresh

    def check_unchanged(self, held: _TableCopy) -> None:
        """After building part of a copy: raises if a write started meanwhile (the part may be torn)."""
        if self.writes.quiet_version() != held.version:
            raise NotCovered("a write ran while the copy was built")


KEYS = SortedKeys()


def _first(count: int, holds: Callable[[int], bool]) -> int:
    """The first position in 0..count at which `holds` is true (it is false, then true)."""
    low, high = 0, count
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            high = middle
        else:
            low = middle + 1
    return low


def _segment(values: list[Any], comparison: str | None, bounds: list[Any]) -> tuple[int, int]:
    """Positions [low, high) of the ascending `values` a sort key condition keeps (moto compares
    cast values, which is also the order it sorts by)."""
    count = len(values)
    if comparison is None:
        return 0, count
    casts = [bound.cast_value for bound in bounds]
    low, high = 0, count
    if comparison in ("=", "EQ"):
        low = _first(count, lambda i: values[i] >= casts[0])
        high = _first(count, lambda i: values[i] > casts[0])
    elif comparison in ("<", "LT"):
        high = _first(count, lambda i: values[i] >= casts[0])
    elif comparison in ("<=", "LE"):
        high = _first(count, lambda i: values[i] > casts[0])
    elif comparison in (">", "GT"):
        low = _first(count, lambda i: values[i] > casts[0])
    elif comparison in (">=", "GE"):
        low = _first(count, lambda i: values[i] >= casts[0])
    elif comparison == "BETWEEN":
        low = _first(count, lambda i: values[i] >= casts[0])
        high = _first(count, lambda i: values[i] > casts[1])
    elif comparison == "BEGINS_WITH" and isinstance(casts[0], str):
        prefix = casts[0]
        low = _first(count, lambda i: values[i] >= prefix)
        high = _first(count, lambda i: values[i] > prefix and not values[i].startswith(prefix))
    else:
        raise NotCovered(f"sort key comparison {comparison}")
    return low, max(low, high)


def _partition(table: Any, held: _TableCopy, hash_key: Any) -> _Sorted:
    """The table's items under one hash key, sorted as moto sorts a table Query."""
    if hash_key not in held.partitions:
        stored = table.items.get(hash_key)
        items = sorted(stored.values(), key=lambda item: item.range_key) if stored else []
        KEYS.check_unchanged(held)
        held.partitions[hash_key] = _Sorted(items, [item.range_key.cast_value for item in items])
    return held.partitions[hash_key]


def _index_partition(
    table: Any,
    held: _TableCopy,
    index_name: str,
    key_names: tuple[str, str],
    sort_names: tuple[list[str], list[str | None]],
    hash_value: Any,
) -> _Sorted:
    """An index's items under one hash value (items with both index keys), sorted as moto sorts
    an index Query: index hash, index range, table hash, table range."""
    hash_name, range_name = key_names
    if index_name not in held.index_groups:
        groups: dict[Any, list[Any]] = {}
        for stored in table.items.values():
            for item in stored.values():
                value = item.attrs.get(hash_name)
                if value is not None and item.attrs.get(range_name) is not None:
                    groups.setdefault(value, []).append(item)
        KEYS.check_unchanged(held)
        held.index_groups[index_name] = groups
    if (index_name, hash_value) not in held.index_partitions:
        group = list(held.index_groups[index_name].get(hash_value, []))
        items = table.sorted_items(sort_names[0], sort_names[1], group)
        KEYS.check_unchanged(held)
        held.index_partitions[(index_name, hash_value)] = _Sorted(
            items, [item.attrs[range_name].cast_value for item in items]
        )
    return held.index_partitions[(index_name, hash_value)]


def _everything(table: Any, held: _TableCopy) -> list[Any]:
    if held.everything is None:
        everything = table.all_items()
        KEYS.check_unchanged(held)
        held.everything = everything
    return held.everything


def _as_shipped(table: Any) -> bool:
    return any(tag.get("Key") == SWITCH_TAG and tag.get("Value") == AS_SHIPPED for tag in table.tags or [])


def fast_query(
    table: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, Any]] | None = None,
    range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Any], int, dict[str, Any] | None]:
    """moto's `Table.query`, answered from the sorted copies; raises NotCovered when it cannot."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex

    if filter_kwargs or (limit is not None and (not isinstance(limit, int) or limit < 1)):
        raise NotCovered("legacy query filters, or an unusual limit")
    if not table.range_key_attr or len(range_key_conditions or []) > 1:
        raise NotCovered("a table without a sort key, or a multi-attribute sort key")
    held = KEYS.copy_of(table)
    condition_name = range_key_conditions[-1][0] if range_key_conditions else None
    if index_name:
        index = {each.name: each for each in table.all_indexes()}.get(index_name)
        if index is None or not isinstance(index, GlobalSecondaryIndex) or consistent_read:
            raise NotCovered("not a global index moto can query")
        hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
        ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
        conditions = hash_key_conditions or []
        if len(hashes) != 1 or len(ranges) != 1 or len(conditions) != 1 or conditions[0][0] != hashes[0]:
            raise NotCovered("an index without exactly one hash and one range key")
        if condition_name not in (None, ranges[0]):
            raise NotCovered("a sort key condition on another attribute")
        hash_attrs = [hashes[0], table.hash_key_attr]
        range_attrs: list[str | None] = [ranges[0], table.range_key_attr]
        ordered = _index_partition(
            table, held, index_name, (hashes[0], ranges[0]), (hash_attrs, range_attrs), conditions[0][1]
        )
    else:
        if hash_key is None or condition_name not in (None, table.range_key_attr):
            raise NotCovered("no hash key, or a sort key condition on another attribute")
        hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
        ordered = _partition(table, held, hash_key)

    count = len(ordered.items)

    def at(step: int) -> Any:  # the item at a step of the walk (newest first when not forward)
        return ordered.items[step if scan_index_forward else count - 1 - step]

    start = 0
    if exclusive_start_key is not None:
        start = _first(
            count,
            lambda step: (
                not table._item_comes_before_dct(
                    at(step), exclusive_start_key, hash_attrs, range_attrs, scan_index_forward
                )
            ),
        )
    low, high = _segment(ordered.values, range_comparison, range_objs)
    first, stop = (low, high) if scan_index_forward else (count - high, count - low)

    results: list[Any] = []
    result_size = 0
    last_evaluated_key = None
    step = max(start, first)
    while step < stop:
        item = at(step)
        if len(results) == limit or result_size + item.size() > RESULT_SIZE_LIMIT:
            last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
            break
        if range_comparison and not item.attrs[condition_name or range_attrs[0]].compare(
            range_comparison, range_objs
        ):
            raise NotCovered("an item of the segment fails the condition")  # never: the order is moto's
        results.append(item)
        result_size += item.size()
        step += 1
    else:
        # Past the segment moto keeps walking: the next item ends the page if the limit is
        # reached, and any later one could end it on size, which only a full page can reach.
        if step < count and results:
            if len(results) == limit:
                last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
            elif result_size + MAX_ITEM_BYTES > RESULT_SIZE_LIMIT:
                raise NotCovered("near the 1 MB page")
    scanned_count = len(results)

    # moto's own last steps.
    results = copy.deepcopy(results)
    if index_name:
        index = table.get_index(index_name)
        results = [index.project(result) for result in results]
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [result.project(projection_expressions) for result in results]
    return results, scanned_count, last_evaluated_key


def fast_scan(
    table: Any,
    filters: dict[str, Any],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    filter_expression: Any = None,
    index_name: str | None = None,
    consistent_read: bool = False,
    projection_expression: list[list[str]] | None = None,
    segments: tuple[None, None] | tuple[int, int] = (None, None),
) -> tuple[list[Any], int, dict[str, Any] | None]:
    """moto's `Table.scan` of the table (not an index), from the page's first item on."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    if index_name or segments != (None, None) or not table.range_key_attr:
        raise NotCovered("an index, a segment, or a table without a sort key")
    held = KEYS.copy_of(table)
    items = _everything(table, held)
    hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
    start = 0
    if exclusive_start_key is not None:
        start = _first(
            len(items),
            lambda position: (
                not table._item_comes_before_dct(
                    items[position], exclusive_start_key, hash_attrs, range_attrs, True
                )
            ),
        )
    results: list[Any] = []
    result_size = 0
    scanned_count = 0
    last_evaluated_key = None
    # From here on, moto's own loop.
    for position in range(start, len(items)):
        item = items[position]
        if len(results) == limit or result_size + item.size() > RESULT_SIZE_LIMIT:
            last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
            break
        passes_all_conditions = True
        for attribute_name in filters:
            attribute = item.attrs.get(attribute_name)
            (comparison_operator, comparison_objs) = filters[attribute_name]
            if attribute:
                if not attribute.compare(comparison_operator, comparison_objs):
                    passes_all_conditions = False
                    break
            elif comparison_operator == "NULL":
                continue
            else:
                passes_all_conditions = False
                break
        if passes_all_conditions:
            results.append(copy.deepcopy(item))
            result_size += item.size()
        scanned_count += 1
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expression:
        results = [result.project(projection_expression) for result in results]
    return results, scanned_count, last_evaluated_key


def install() -> Callable[[], None]:
    """Patches moto's Table.query, Table.scan and DynamoHandler.call_action in this process;
    returns the function that puts moto's own back."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    original_query, original_scan = Table.query, Table.scan
    original_call = DynamoHandler.call_action
    tracked = Item.instances_tracked  # type: ignore[attr-defined]

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _as_shipped(self):
            try:
                return fast_query(self, *args, **kwargs)
            except Exception:  # anything not covered gets moto's own answer (or its error)
                pass
        return original_query(self, *args, **kwargs)

    def scan(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _as_shipped(self):
            try:
                return fast_scan(self, *args, **kwargs)
            except Exception:  # as above
                pass
        return original_scan(self, *args, **kwargs)

    def call_action(self: Any) -> Any:
        if self._get_action() in READ_ACTIONS:
            return original_call(self)
        KEYS.writes.begin()
        try:
            return original_call(self)
        finally:
            KEYS.writes.end()

    def restore() -> None:
        Table.query, Table.scan = original_query, original_scan  # type: ignore[method-assign]
        DynamoHandler.call_action = original_call  # type: ignore[method-assign]
        Item.instances_tracked = tracked  # type: ignore[attr-defined]

    Table.query, Table.scan = query, scan  # type: ignore[method-assign]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    Item.instances_tracked = _Untracked()  # type: ignore[attr-defined]
    return restore


@contextmanager
def installed() -> Iterator[None]:
    """The patch, installed while inside (the tests compare both)."""
    restore = install()
    try:
        yield
    finally:
        restore()


if __name__ == "sitecustomize":
    install()
    print(MARKER, file=sys.stderr, flush=True)
