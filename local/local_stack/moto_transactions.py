"""moto's TransactWriteItems, undone item by item: installed in the local stack's moto server
(moto_server.py) and in the benchmarks' (bench/moto_site).

moto's TransactWriteItems backs up each table a transaction writes to, so that a cancelled
transaction can be undone by putting the backup in the table's place. It takes that backup as a
deep copy of the whole table, once per item of the transaction. One copy of a table of 10,000
records takes over a second, so a transaction of 100 deletes takes minutes and its client gives
up (PynamoDB's read timeout is 10 s); the time grows with the table, which DynamoDB's does not.

Here moto's backup step is given the table itself, and before the transaction runs this module
remembers, for each item the transaction names, the item as it was (a deep copy when an Update
could change it in place, else the stored object; or that it was absent) and the length of the
table's stream. When moto undoes the transaction, those items are put back and the absent ones
deleted (an item put back may sit elsewhere in moto's dicts: moto sorts what every Scan and Query
returns), and the stream is cut back to its old length. What moto stores, streams, answers and
undoes is unchanged, at a cost in proportion to what the transaction names, and the stream keeps
its object (an iterator issued before the undo goes on reading it). A table whose keys this
module cannot read from the request (moto will refuse it) gets moto's own deep copy. The
server's log says that the patch is in place.

Importing this module changes nothing; install() patches moto's DynamoDB backend in the
importing process, once.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Held by every DynamoDB write, and by reads of the table's stream.
WRITES = threading.RLock()
MARKER = "local stack: moto backs up only what a transaction writes"  # bench/retention_sweep.py reads it

type _Key = tuple[Any, Any]  # (hash key, range key or None), as moto's DynamoType values


@dataclass
class _Before:
    """An item as it was before the transaction: None when it was absent."""

    item: Any
    partition_existed: bool


@dataclass
class _TableUndo:
    """What a cancelled transaction needs to put one table back as it was."""

    table: Any
    items: dict[_Key, _Before] = field(default_factory=dict)
    changed_in_place: set[_Key] = field(default_factory=set)
    stream_records: list[Any] | None = None
    stream_length: int = 0

    def remember(self, key: _Key, operation: str) -> None:
        table = self.table
        hash_value, range_value = key
        if key not in self.items:
            partition_existed = hash_value in table.items
            if range_value is None:
                stored = table.items.get(hash_value)
            else:
                stored = table.items[hash_value].get(range_value) if partition_existed else None
            self.items[key] = _Before(stored, partition_existed)
        if operation == "Update" and key not in self.changed_in_place:
            # An Update changes the stored item in place; Put and Delete replace or drop it.
            self.changed_in_place.add(key)
            self.items[key].item = copy.deepcopy(self.items[key].item)

    def remember_stream(self) -> None:
        shard = self.table.stream_shard
        if shard is not None:
            self.stream_records = shard.items
            self.stream_length = len(shard.items)

    def undo(self) -> None:
        table = self.table
        for (hash_value, range_value), before in self.items.items():
            if range_value is None:
                if before.item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before.item
                continue
            if before.item is not None:
                table.items[hash_value][range_value] = before.item
            elif hash_value in table.items:
                table.items[hash_value].pop(range_value, None)
            if not before.partition_existed and hash_value in table.items and not table.items[hash_value]:
                del table.items[hash_value]
        shard = table.stream_shard
        if shard is not None and self.stream_records is not None:
            del self.stream_records[self.stream_length :]
            shard.items = self.stream_records


def _plan_undo(
    backend: Any, transact_items: Iterable[dict[str, Any]], dynamo_type: type
) -> dict[str, _TableUndo]:
    """What undoing the transaction needs, for each table moto backs up (one that an item's operation
    names by its name); a table with a key that cannot be read is left out (moto copies it)."""
    entries = [next(iter(entry.items())) for entry in transact_items if entry]
    backed_up = {request.get("TableName") for _, request in entries} & set(backend.tables)
    plans: dict[str, _TableUndo] = {}
    unreadable: set[str] = set()
    for operation, request in entries:
        table = _table_named(backend, request.get("TableName"))
        if table is None or table.name not in backed_up or table.name in unreadable:
            continue
        if not isinstance(table.items, defaultdict):
            unreadable.add(table.name)
            continue
        plan = plans.get(table.name)
        if plan is None:
            plan = plans[table.name] = _TableUndo(table)
            plan.remember_stream()
        try:
            key = request["Item"] if operation == "Put" else request["Key"]
            hash_value = dynamo_type(key[table.hash_key_attr])
            range_value = dynamo_type(key[table.range_key_attr]) if table.range_key_attr else None
            plan.remember((hash_value, range_value), operation)
        except (KeyError, TypeError, AttributeError, ValueError):  # a key moto will refuse
            unreadable.add(table.name)
    return {name: plan for name, plan in plans.items() if name not in unreadable}


def _table_named(backend: Any, name: Any) -> Any:
    """The table a request names, by name or by ARN, as moto's get_table finds it; None if none."""
    table = backend.tables.get(name)
    if table is None:
        table = next((table for table in backend.tables.values() if table.table_arn == name), None)
    return table


class _Backups:
    """Stands in for the `copy` module inside moto's DynamoDB backend: during a transaction, a table
    with an undo plan is its own backup (moto puts it back in its own place)."""

    def __init__(self, table_type: type[Any], local: threading.local) -> None:
        self._table_type = table_type
        self._local = local

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        plans: dict[str, _TableUndo] | None = getattr(self._local, "plans", None)
        if plans is not None and isinstance(value, self._table_type):
            plan = plans.get(value.name)
            if plan is not None and plan.table is value:
                return value
        return copy.deepcopy(value, memo)


def install() -> bool:
    """Patches moto's DynamoDB backend in this process; False when it was patched already."""
    import moto.dynamodb.models as models
    from moto.dynamodb.exceptions import (
        MockValidationException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    backend: Any = models.DynamoDBBackend
    if isinstance(getattr(models, "copy", None), _Backups):
        return False
    if getattr(models, "copy", None) is not copy or not hasattr(backend, "transact_write_items"):
        raise RuntimeError("moto's DynamoDB backend changed: the transaction backup patch does not apply")
    local = threading.local()  # moto's server answers each request on its own thread
    original = backend.transact_write_items

    def moto_undoes(error: Exception) -> bool:
        """Whether moto puts its backups back on this error: the errors its loop over the items
        catches, and the cancellation; not the ones it raises before writing or outside that loop."""
        if isinstance(error, TooManyTransactionsException | TransactWriteSingleOpException):
            return False
        return isinstance(error, TransactionCanceledException | MockValidationException)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            local.plans = _plan_undo(self, transact_items, DynamoType)
        except (KeyError, TypeError, AttributeError, ValueError, StopIteration):  # moto refuses it
            local.plans = None
        try:
            original(self, transact_items)
        except Exception as error:
            if local.plans and moto_undoes(error):
                for plan in local.plans.values():
                    plan.undo()
            raise
        finally:
            local.plans = None

    models.copy = _Backups(Table, local)  # type: ignore[attr-defined,assignment]
    backend.transact_write_items = transact_write_items
    _serialize_writes(backend)
    print(MARKER, file=sys.stderr, flush=True)
    return True


def _serialize_writes(backend: Any) -> None:
    """One write at a time, as DynamoDB isolates them: moto's server answers requests on threads
    and checks a condition, writes, and (for a cancelled transaction) puts the items back, with
    nothing in between held. Two transactions at once could then both pass a condition only one
    should, and a cancelled one could undo another request's write. Reads are not held, except
    the stream's (moto_streams.py): a cancelled transaction's stream records must never be read."""
    lock = WRITES
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
        original = getattr(backend, name)

        def serialized(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        setattr(backend, name, serialized)
