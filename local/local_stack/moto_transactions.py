"""moto's TransactWriteItems, backing up only what a transaction writes: installed in the local
stack's moto server (moto_server.py) and in the benchmarks' (bench/moto_site).

moto's TransactWriteItems backs up each table a transaction writes to, so that a cancelled
transaction can be undone by putting the backup in the table's place. It takes that backup as a
deep copy of the whole table, once per item of the transaction (every copy alike; the last one
is kept). One copy of a table of 10,000 records takes over a second, so a transaction of 100
deletes takes minutes and its client gives up (PynamoDB's read timeout is 10 s); the time grows
with the table, which DynamoDB's does not; with a dozen index items in every store, the local
stack's own transactions would slow down as its table grows.

Here the backup is built once per table and transaction, sharing what the transaction cannot
change: the backup is a new table object with new item containers, in which the items the
transaction names are deep copies (an Update changes its item in place) and every other item is
the same object. A table's stream gets a shard of its own holding the same records (a stream
record never changes once written), so undoing drops the records the transaction wrote. Undoing
still puts the backup in the table's place, so what moto stores, streams, answers and undoes is
unchanged. Anything this module does not recognise gets moto's own deep copy. The server's log
says that the patch is in place.

Importing this module changes nothing; install() patches moto's DynamoDB backend in the
importing process, once.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

MARKER = "local stack: moto backs up only what a transaction writes"


def _keys_written(backend: Any, transact_items: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The key of every item each table's part of the transaction names."""
    keys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in transact_items:
        for operation, request in entry.items():
            table_name = request.get("TableName")
            if not table_name or table_name not in backend.tables:
                continue
            if operation == "Put":
                table = backend.tables[table_name]
                names = [table.hash_key_attr, table.range_key_attr]
                keys[table_name].append({name: request["Item"][name] for name in names if name})
            elif "Key" in request:
                keys[table_name].append(request["Key"])
    return keys


class _Backups:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __init__(self, table_type: type, dynamo_type: type, local: threading.local) -> None:
        self._table_type = table_type
        self._dynamo_type = dynamo_type
        self._local = local

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        written: dict[str, list[dict[str, Any]]] | None = getattr(self._local, "written", None)
        if written is None or not isinstance(value, self._table_type):
            return copy.deepcopy(value, memo)
        taken: dict[int, tuple[Any, Any]] = self._local.taken
        table: Any = value
        if id(value) not in taken:  # the original is kept too, so its id cannot be reused
            try:
                backup = self._backup(table, written.get(table.name, []))
            except (KeyError, TypeError, AttributeError, ValueError):  # a key moto will refuse
                backup = copy.deepcopy(value, memo)
            taken[id(value)] = (value, backup)
        return taken[id(value)][1]

    def _backup(self, table: Any, keys: list[dict[str, Any]]) -> Any:
        if not isinstance(table.items, defaultdict):
            return copy.deepcopy(table)
        backup = copy.copy(table)
        backup.items = defaultdict(dict)
        for hash_value, stored in table.items.items():
            backup.items[hash_value] = dict(stored) if isinstance(stored, dict) else stored
        for key in keys:
            hash_value = self._dynamo_type(key[table.hash_key_attr])
            if table.range_key_attr:
                range_value = self._dynamo_type(key[table.range_key_attr])
                item = table.items[hash_value].get(range_value) if hash_value in table.items else None
                if item is not None:
                    backup.items[hash_value][range_value] = copy.deepcopy(item)
            elif hash_value in table.items:
                backup.items[hash_value] = copy.deepcopy(table.items[hash_value])
        shard = getattr(table, "stream_shard", None)
        if shard is not None:
            backup.stream_shard = copy.copy(shard)
            backup.stream_shard.items = list(shard.items)
            backup.stream_shard.table = backup
        return backup


def install() -> bool:
    """Patches moto's DynamoDB backend in this process; False when it was patched already."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    backend: Any = models.DynamoDBBackend
    if isinstance(getattr(models, "copy", None), _Backups):
        return False
    if getattr(models, "copy", None) is not copy or not hasattr(backend, "transact_write_items"):
        raise RuntimeError("moto's DynamoDB backend changed: the transaction backup patch does not apply")
    local = threading.local()  # moto's server answers each request on its own thread
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            local.written = _keys_written(self, transact_items)
        except (KeyError, TypeError, AttributeError):  # a request moto will refuse: its own copies
            local.written = None
        local.taken = {}
        try:
            original(self, transact_items)
        finally:
            local.written = local.taken = None

    models.copy = _Backups(Table, DynamoType, local)  # type: ignore[attr-defined,assignment]
    backend.transact_write_items = transact_write_items
    _serialize_writes(backend)
    print(MARKER, file=sys.stderr, flush=True)
    return True


def _serialize_writes(backend: Any) -> None:
    """One write at a time, as DynamoDB isolates them: moto's server answers requests on threads
    and checks a condition, writes, and (for a cancelled transaction) puts a backup of the table
    back, with nothing in between held. Two transactions at once could then both pass a condition
    only one should, and a cancelled one could undo another request's write. Reads are not held."""
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
        original = getattr(backend, name)

        def serialized(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        setattr(backend, name, serialized)
