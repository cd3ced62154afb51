"""RecordStore: every read and write the services make to generation records.

Transitions (records.lifecycle) are written with a condition on the status they start from and
applied to the record in memory only once the table holds them, so what a caller reads from a
record object is what the table says. Each successful write also notes its change to the
counters (records.counters), added to the table by `flush_counters`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ideogram_assets.observability import logger, metrics
from ideogram_assets.records import lifecycle
from ideogram_assets.records.counters import (
    COUNTER_PARTITION,
    FIELDS,
    CounterDeltas,
    Fields,
    RecordState,
    recount,
    shard_key,
)
from ideogram_assets.records.index_items import IndexItem, IndexKeys, items_for, keys_of
from ideogram_assets.records.lifecycle import Transition
from ideogram_assets.records.model import RECORD_SORT_KEY, GenerationRecord, bind_table, record_key
from ideogram_assets.records.status import Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHECKPOINT_PARTITION = "CHECKPOINT"
# DynamoDB's limit on the items of one transaction.
MAX_TRANSACTION_ITEMS = 100
# Counter items written at once (each an UpdateItem; the client's pool holds 10 connections).
COUNTER_WRITERS = 8


def _actions(transition: Transition) -> list[Action]:
    actions: list[Action] = []
    for name, value in transition.changes.items():
        attribute: Any = getattr(GenerationRecord, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def _condition(transition: Transition) -> Any:
    condition = GenerationRecord.status == transition.before.value
    expected = transition.expected_revision
    if expected is not None:
        unchanged = GenerationRecord.revision == expected
        condition &= (GenerationRecord.revision.does_not_exist() | unchanged) if expected == 0 else unchanged
    return condition


def counted_state(record: GenerationRecord) -> RecordState:
    """What of a record the counters count."""
    created = str(record.created_at or "")
    return RecordState(
        status=str(record.status),
        size_bytes=int(record.size_bytes or 0),
        retention_class=record.retention_class,
        model=record.model,
        style_type=record.style_type,
        month=created[:7] or None,
        tags=frozenset(record.tags or ()),
        answered=record.is_safe is not None,
        cost_micros=round((record.cost_usd or 0) * 1_000_000),
    )


def _after(record: GenerationRecord, transition: Transition) -> GenerationRecord:
    """A copy of the record as the transition leaves it (the record itself changes only once the
    table holds the change)."""
    copy = GenerationRecord.from_raw_data(record.serialize())
    lifecycle.apply(copy, transition)
    return copy


@dataclass
class _IndexChanges:
    """Index items a write puts (new, or with a new ttl) and deletes."""

    put: list[IndexItem]
    delete: list[IndexItem]

    def __len__(self) -> int:
        return len(self.put) + len(self.delete)


def _index_changes(before: GenerationRecord | None, after: GenerationRecord | None) -> _IndexChanges:
    old = keys_of(before) if before is not None else IndexKeys()
    new = keys_of(after) if after is not None else IndexKeys()
    put: list[IndexItem] = []
    if after is not None:
        ttl_changed = before is not None and before.ttl != after.ttl
        partitions = new.partitions() if ttl_changed else new.minus(old)
        put = items_for(partitions, after, after.ttl)
    removed = old.minus(new)
    delete = items_for(removed, before, None) if before is not None and removed else []
    return _IndexChanges(put, delete)


def is_conditional_failure(error: Exception) -> bool:
    """A write refused because the item was not in the state its condition names (alone, or as
    the reason a transaction was cancelled)."""
    if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    reasons = getattr(error, "cancellation_reasons", None) or ()
    return any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons)


class RecordStore:
    """The generation records of one table. Create one per execution environment."""

    def __init__(self, table_name: str, region: str | None, client: DynamoDBClient) -> None:
        bind_table(table_name, region)
        self._table_name = table_name
        self._client = client
        self.counters = CounterDeltas()
        self._holders = 0
        self._holding = threading.Lock()
        meta = GenerationRecord.Meta
        # Transactions go through a low-level connection with the model's own time limits.
        self._connection = Connection(
            region=region,
            connect_timeout_seconds=meta.connect_timeout_seconds,
            read_timeout_seconds=meta.read_timeout_seconds,
            max_retry_attempts=meta.max_retry_attempts,
        )

    # -- reads ----------------------------------------------------------------------------------

    def get(self, generation_id: str) -> GenerationRecord | None:
        try:
            return GenerationRecord.get(record_key(generation_id), RECORD_SORT_KEY)
        except GenerationRecord.DoesNotExist:
            return None

    def open_records(self, status: Status, created_before: str) -> Iterator[GenerationRecord]:
        """PENDING or FAILED records created before a time, oldest first (a sparse index: reads
        grow with the open records, not with the table)."""
        yield from GenerationRecord.by_open_status.query(
            status.value, GenerationRecord.created_at < created_before
        )

    def expiring_on(self, day: str) -> Iterator[GenerationRecord]:
        """Records whose retention ends on `day` (YYYY-MM-DD), with what deleting them needs."""
        yield from GenerationRecord.by_expiry_day.query(day)

    def created_on(self, day: str) -> Iterator[GenerationRecord]:
        """Every record created on `day` (YYYY-MM-DD)."""
        yield from GenerationRecord.by_time_bucket.query(day)

    def stored_with_prompt_hash(self, prompt_hash: str, limit: int) -> list[GenerationRecord]:
        """The newest STORED records of this prompt and parameters (at most `limit`)."""
        found: list[GenerationRecord] = []
        for record in GenerationRecord.by_prompt_hash.query(
            prompt_hash,
            scan_index_forward=False,
            filter_condition=GenerationRecord.status == Status.STORED.value,
        ):
            found.append(record)
            if len(found) >= limit:
                break
        return found

    def existing_ids(self, generation_ids: Sequence[str]) -> set[str]:
        keys = [(record_key(generation_id), RECORD_SORT_KEY) for generation_id in set(generation_ids)]
        return {record.id for record in GenerationRecord.batch_get(keys, attributes_to_get=["id"])}

    # -- writes ---------------------------------------------------------------------------------

    def create(self, records: Sequence[GenerationRecord]) -> None:
        """All records of a request, written together or not at all; none may exist yet."""
        if len(records) == 1 and not _index_changes(None, records[0]):
            # One item: a conditional put, at half a transaction's write cost.
            records[0].save(condition=GenerationRecord.pk.does_not_exist())
            self.counters.change(None, counted_state(records[0]))
            return
        with TransactWrite(connection=self._connection) as transaction:
            for record in records:
                transaction.save(record, condition=GenerationRecord.pk.does_not_exist())
                self._write_index(transaction, _index_changes(None, record))
        for record in records:
            self.counters.change(None, counted_state(record))

    def commit(
        self,
        changes: Sequence[tuple[GenerationRecord, Transition]],
        *,
        added: Sequence[GenerationRecord] = (),
        removed: Sequence[GenerationRecord] = (),
    ) -> None:
        """One transaction: the transitions, new records and deletions all happen, or none does.
        Should their index items not fit in one transaction with them, the transitions that
        index a record are written after it, each in its own transaction with its items."""
        if len(changes) == 1 and not added and not removed:
            self.update(*changes[0])  # a conditional update when it moves no index item
            return
        afters = [_after(record, transition) for record, transition in changes]
        indexes = [_index_changes(record, after) for (record, _), after in zip(changes, afters, strict=True)]
        added_indexes = [_index_changes(None, record) for record in added]
        removed_indexes = [_index_changes(record, None) for record in removed]
        size = len(changes) + len(added) + len(removed)
        size += sum(map(len, indexes + added_indexes + removed_indexes))
        together = [bool(index) is False or size <= MAX_TRANSACTION_ITEMS for index in indexes]
        with TransactWrite(connection=self._connection) as transaction:
            for (record, transition), index, now in zip(changes, indexes, together, strict=True):
                if now:
                    transaction.update(record, _actions(transition), condition=_condition(transition))
                    self._write_index(transaction, index)
            for record, index in zip(added, added_indexes, strict=True):
                transaction.save(record, condition=GenerationRecord.pk.does_not_exist())
                self._write_index(transaction, index)
            for record, index in zip(removed, removed_indexes, strict=True):
                transaction.delete(record)
                self._write_index(transaction, index)
        for (record, transition), after, now in zip(changes, afters, together, strict=True):
            if now:
                self.counters.change(counted_state(record), counted_state(after))
                lifecycle.apply(record, transition)
        for record in added:
            self.counters.change(None, counted_state(record))
        for record in removed:
            self.counters.change(counted_state(record), None)
        for (record, transition), now in zip(changes, together, strict=True):
            if not now:
                self.update(record, transition)

    def update(self, record: GenerationRecord, transition: Transition) -> None:
        """One record's transition (with the index items it adds, moves or removes), if the table
        still has the record as the transition expects."""
        before, after = counted_state(record), _after(record, transition)
        index = _index_changes(record, after)
        if index:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(record, _actions(transition), condition=_condition(transition))
                self._write_index(transaction, index)
        else:
            # PynamoDB's update() also refreshes the object from the item it wrote.
            record.update(_actions(transition), condition=_condition(transition))
        self.counters.change(before, counted_state(after))
        lifecycle.apply(record, transition)

    def create_in_state(self, record: GenerationRecord, transition: Transition) -> None:
        """Writes a record that is not in the table yet, already moved by `transition`."""
        written = _after(record, transition)
        with TransactWrite(connection=self._connection) as transaction:
            transaction.save(written, condition=GenerationRecord.pk.does_not_exist())
            self._write_index(transaction, _index_changes(None, written))
        self.counters.change(None, counted_state(written))
        lifecycle.apply(record, transition)

    def delete(self, records: Sequence[GenerationRecord]) -> None:
        with TransactWrite(connection=self._connection) as transaction:
            for record in records:
                transaction.delete(record)
                self._write_index(transaction, _index_changes(record, None))
        for record in records:
            self.counters.change(counted_state(record), None)

    def delete_expired(
        self, records: Sequence[GenerationRecord], day: str
    ) -> tuple[list[GenerationRecord], list[GenerationRecord]]:
        """Deletes records whose retention ended on `day`, if they still say so (stored, that day,
        no legal hold), then their index items; returns (deleted by this call, not deleted because
        the table failed). A record another run deleted, or that was pinned meanwhile, is in
        neither: not counted twice."""
        deleted: list[GenerationRecord] = []
        failed: list[GenerationRecord] = []
        for start in range(0, len(records), MAX_TRANSACTION_ITEMS):
            batch = records[start : start + MAX_TRANSACTION_ITEMS]
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    for record in batch:
                        transaction.delete(record, condition=self._still_expired(day))
                deleted.extend(batch)
            except TransactWriteError:
                # A record changed meanwhile (or the call failed): each of this batch on its own.
                for record in batch:
                    outcome = self._delete_one_expired(record, day)
                    if outcome == "deleted":
                        deleted.append(record)
                    elif outcome == "failed":
                        failed.append(record)
        for record in deleted:
            self.counters.change(counted_state(record), None)
        self._delete_index_items(deleted)
        return deleted, failed

    def _delete_index_items(self, records: Sequence[GenerationRecord]) -> None:
        """Index items of deleted records, in batches (too many for the records' transactions).
        Should a batch fail, its items are left to the TTL they share with their record, and a
        search skips an item whose record is gone."""
        items = [item for record in records for item in _index_changes(record, None).delete]
        if not items:
            return
        try:
            with IndexItem.batch_write() as batch:
                for item in items:
                    batch.delete(item)
        except PynamoDBException as error:
            logger.error("index items not deleted", items=len(items), error=type(error).__name__)
            metrics.add_metric(name="IndexItemsNotDeleted", unit=MetricUnit.Count, value=len(items))

    @staticmethod
    def _write_index(transaction: TransactWrite, index: _IndexChanges) -> None:
        for item in index.put:
            transaction.save(item)
        for item in index.delete:
            transaction.delete(item)

    @staticmethod
    def _still_expired(day: str) -> Any:
        return (
            (GenerationRecord.expires_on == day)
            & (GenerationRecord.status == Status.STORED.value)
            & (GenerationRecord.legal_hold.does_not_exist() | (GenerationRecord.legal_hold == False))  # noqa: E712
        )

    def _delete_one_expired(
        self, record: GenerationRecord, day: str
    ) -> Literal["deleted", "changed", "failed"]:
        try:
            record.delete(condition=self._still_expired(day))
        except DeleteError as error:
            if is_conditional_failure(error):
                return "changed"
            logger.error("expired record not deleted", generation_id=record.id, error=type(error).__name__)
            return "failed"
        return "deleted"

    # -- counters and checkpoints ---------------------------------------------------------------

    @contextmanager
    def counters_held(self) -> Iterator[None]:
        """Counter changes are written once, when the last block holding them ends, not at each
        flush_counters() inside: a batch of requests counted under the same status, model and
        month adds to each of those counters once rather than once per request."""
        with self._holding:
            self._holders += 1
        try:
            yield
        finally:
            with self._holding:
                self._holders -= 1
                last = self._holders == 0
            if last:
                self.flush_counters()

    def flush_counters(self) -> None:
        """Adds the counter changes noted so far to the counter items (atomic ADD), all at once:
        a generation touches a counter per status, model, style, month and tag, and waiting for
        each in turn would add their round trips to the reply. Held (counters_held): later."""
        if self._holders:
            return
        changes = list(self.counters.take().items())
        if len(changes) <= 1:
            for name, fields in changes:
                self._add_to_counter(name, fields)
            return
        with ThreadPoolExecutor(
            max_workers=min(COUNTER_WRITERS, len(changes)), thread_name_prefix="counters"
        ) as pool:
            for name, fields in changes:
                pool.submit(self._add_to_counter, name, fields)

    def _add_to_counter(self, name: str, fields: Fields) -> None:
        names = {f"#f{number}": field for number, field in enumerate(fields)}
        values: dict[str, Any] = {
            f":v{number}": {"N": str(value)} for number, value in enumerate(fields.values())
        }
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"PK": {"S": COUNTER_PARTITION}, "SK": {"S": shard_key(name)}},
                UpdateExpression="ADD "
                + ", ".join(f"#f{number} :v{number}" for number in range(len(fields))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as error:  # a counter must never fail the work it counts
            logger.error("counter not updated", counter=name, changes=fields, error=str(error))
            metrics.add_metric(name="CounterWriteFailed", unit=MetricUnit.Count, value=1)

    def counter_items(self, dimension: str | None = None) -> list[dict[str, int | str]]:
        """The counter items (of one dimension: `model`, `tag`...), every field as a number."""
        items: list[dict[str, int | str]] = []
        paginator = self._client.get_paginator("query")
        condition = "PK = :pk" + (" AND begins_with(SK, :dimension)" if dimension else "")
        values = {":pk": {"S": COUNTER_PARTITION}}
        if dimension:
            values[":dimension"] = {"S": f"{dimension}#"}
        pages = paginator.paginate(
            TableName=self._table_name, KeyConditionExpression=condition, ExpressionAttributeValues=values
        )
        for page in pages:
            for item in page.get("Items", []):
                counted: dict[str, int | str] = {"SK": item["SK"]["S"]}
                counted.update({field: int(item[field]["N"]) for field in FIELDS if field in item})
                items.append(counted)
        return items

    def recount(self) -> dict[str, dict[str, Fields]]:
        """What the counters should say, from a full read of the records (an explicit Scan, for
        checks and repairs only: it costs the whole table)."""
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table_name,
            FilterExpression="SK = :record",
            ExpressionAttributeValues={":record": {"S": RECORD_SORT_KEY}},
        )
        states = (
            counted_state(GenerationRecord.from_raw_data(item))
            for page in pages
            for item in page.get("Items", [])
        )
        return recount(states)

    def checkpoint(self, task: str) -> dict[str, str]:
        item = self._client.get_item(
            TableName=self._table_name,
            Key={"PK": {"S": CHECKPOINT_PARTITION}, "SK": {"S": task}},
            ConsistentRead=True,
        ).get("Item", {})
        return {name: value["S"] for name, value in item.items() if name not in ("PK", "SK") and "S" in value}

    def save_checkpoint(self, task: str, values: dict[str, str]) -> None:
        item = {name: {"S": value} for name, value in values.items()}
        self._client.put_item(
            TableName=self._table_name,
            Item={"PK": {"S": CHECKPOINT_PARTITION}, "SK": {"S": task}, **item},
        )
