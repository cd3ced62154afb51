"""Loaded by the moto server of the sweep benchmark's largest table (through its PYTHONPATH).

moto's TransactWriteItems backs up a table before applying a transaction, so that a cancelled
transaction can be undone; it takes that backup once per item of the transaction, each a deep
copy of the same, still unchanged table, and keeps the last one. At 100,000 records one copy
takes seconds, so one transaction of 100 deletes would take many minutes. Here the copy is
taken once per table and transaction: what moto stores, answers and undoes is unchanged, only
the 99 identical copies are skipped. The server's log says that the patch is in place.
"""

from __future__ import annotations

import copy
import sys
import threading
from typing import Any

MARKER = "bench: moto backs up each table once per transaction"


class _OnePerTransaction:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __init__(self, table_type: type, local: threading.local) -> None:
        self._table_type = table_type
        self._local = local

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        taken: dict[int, tuple[Any, Any]] | None = getattr(self._local, "tables", None)
        if taken is None or not isinstance(value, self._table_type):
            return copy.deepcopy(value, memo)
        if id(value) not in taken:  # the original is kept too, so its id cannot be reused
            taken[id(value)] = (value, copy.deepcopy(value, memo))
        return taken[id(value)][1]


def _install() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    backend: Any = models.DynamoDBBackend
    if getattr(models, "copy", None) is not copy or not hasattr(backend, "transact_write_items"):
        raise RuntimeError("moto's DynamoDB backend changed: the benchmark's backup patch does not apply")
    local = threading.local()
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        local.tables = {}
        try:
            original(self, transact_items)
        finally:
            local.tables = None

    models.copy = _OnePerTransaction(Table, local)  # type: ignore[attr-defined,assignment]
    backend.transact_write_items = transact_write_items
    print(MARKER, file=sys.stderr, flush=True)


_install()
