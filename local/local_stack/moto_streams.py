"""The local stack's patches to moto's DynamoDB Streams, installed in its moto server
(moto_server.py).

Shard iterators expire, as DynamoDB's do 15 minutes after they are issued. moto keeps every shard
iterator it ever issued, and issues one for each GetShardIterator and each GetRecords. The local
stack reads each stream several times a second for as long as it runs, so moto's memory would
grow without end; here the iterators older than 15 minutes are dropped (at most once a minute,
oldest first). Using an expired iterator is an error in DynamoDB too.

GetRecords is answered without moto's generic serializer (moto_rendering.py): every write to a
table is a stream record carrying its items' images, read several times a second, and under load
that serializer took a quarter of moto's CPU. The bytes are the ones moto would send; a result the
renderers do not mirror is rendered by moto's serializer as before.

Importing this module changes nothing; install() patches moto's DynamoDB Streams backend and
handler in the importing process, once.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from local_stack.moto_rendering import Render, Unrenderable, compile_operations, render_directly
from local_stack.moto_transactions import WRITES

MARKER = "local stack: DynamoDB Streams shard iterators expire after 15 minutes"
RENDERING_MARKER = "local stack: DynamoDB Streams GetRecords rendered directly"
ITERATOR_LIFETIME_SECONDS = 15 * 60
_PRUNE_EVERY_SECONDS = 60

__all__ = ["Unrenderable", "compile_get_records", "drop_expired", "install"]


def drop_expired(iterators: dict[str, Any], now: float, lifetime: float = ITERATOR_LIFETIME_SECONDS) -> int:
    """Drops the iterators issued more than `lifetime` seconds before `now` (the dict holds them in
    the order they were issued); returns how many."""
    dropped = 0
    for arn in list(iterators):
        issued = getattr(iterators[arn], "local_issued_at", now)
        if now - issued <= lifetime:
            break
        del iterators[arn]
        dropped += 1
    return dropped


def compile_get_records() -> tuple[type[Any], Render]:
    """moto's serializer class for DynamoDB Streams and a function rendering a GetRecords result as
    that serializer does (the structure its JSON body holds); RuntimeError when moto's model or
    serializer is not the one mirrored here."""
    serializer_class, renderers = compile_operations("dynamodbstreams", ["GetRecords"])
    return serializer_class, renderers["GetRecords"]


def _install_rendering() -> None:
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    render_directly(DynamoDBStreamsHandler, "dynamodbstreams", ["GetRecords"])


def install() -> bool:
    """Patches moto's DynamoDB Streams backend and handler in this process; False when it was
    patched already."""
    import moto.dynamodbstreams.models as models

    iterator_type: Any = models.ShardIterator
    backend: Any = models.DynamoDBStreamsBackend
    if getattr(iterator_type.__init__, "local_stack_patch", False):
        return False
    if not hasattr(backend, "get_shard_iterator") or not hasattr(backend, "get_records"):
        raise RuntimeError("moto's DynamoDB Streams backend changed: the iterator patch does not apply")
    _install_rendering()
    original_init = iterator_type.__init__
    original_get_shard_iterator = backend.get_shard_iterator
    original_get_records = backend.get_records

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.local_issued_at = time.monotonic()

    def prune(self: Any) -> None:
        now = time.monotonic()
        if now - getattr(self, "local_pruned_at", 0.0) >= _PRUNE_EVERY_SECONDS:
            self.local_pruned_at = now
            drop_expired(self.shard_iterators, now)

    def get_shard_iterator(self: Any, *args: Any, **kwargs: Any) -> Any:
        prune(self)
        return original_get_shard_iterator(self, *args, **kwargs)

    def get_records(self: Any, *args: Any, **kwargs: Any) -> Any:
        prune(self)
        # Not while a write runs: a transaction's stream records are undone if it is cancelled,
        # and their sequence numbers reused, so a read in between would deliver records that
        # never were and skip real ones.
        with WRITES:
            return original_get_records(self, *args, **kwargs)

    init.local_stack_patch = True  # type: ignore[attr-defined]
    iterator_type.__init__ = init
    backend.get_shard_iterator = get_shard_iterator
    backend.get_records = get_records
    print(MARKER, file=sys.stderr, flush=True)
    print(RENDERING_MARKER, file=sys.stderr, flush=True)
    return True
