"""RecordStore: every read and write the services make to generation records.

Transitions (records.lifecycle) are written with a condition on the status they start from and
applied to the record in memory only once the table holds them, so what a caller reads from a
record object is what the table says. Each successful write also notes its change to the
counters (records.counters), added to the table by `flush_counters`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ideogram_assets.observability import logger, metrics
from ideogram_assets.records import lifecycle
from ideogram_assets.records.counters import COUNTER_PARTITION, CounterDeltas, RecordState, shard_key
from ideogram_assets.records.lifecycle import Transition
from ideogram_assets.records.model import RECORD_SORT_KEY, GenerationRecord, bind_table, record_key
from ideogram_assets.records.status import Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHECKPOINT_PARTITION = "CHECKPOINT"
# DynamoDB's limit on the items of one transaction.
MAX_TRANSACTION_ITEMS = 100


def _actions(transition: Transition) -> list[Action]:
    actions: list[Action] = []
    for name, value in transition.changes.items():
        attribute: Any = getattr(GenerationRecord, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def _state(record: GenerationRecord) -> RecordState:
    return RecordState(str(record.status), int(record.size_bytes or 0), record.retention_class)


def _state_after(record: GenerationRecord, transition: Transition) -> RecordState:
    changes = transition.changes
    size = changes.get("size_bytes", record.size_bytes)
    retention_class = changes.get("retention_class", record.retention_class)
    return RecordState(transition.after.value, int(size or 0), retention_class)


def is_conditional_failure(error: Exception) -> bool:
    """A write refused because the item was not in the state its condition names."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


class RecordStore:
    """The generation records of one table. Create one per execution environment."""

    def __init__(self, table_name: str, region: str | None, client: DynamoDBClient) -> None:
        bind_table(table_name, region)
        self._table_name = table_name
        self._client = client
        self.counters = CounterDeltas()
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

    def existing_ids(self, generation_ids: Sequence[str]) -> set[str]:
        keys = [(record_key(generation_id), RECORD_SORT_KEY) for generation_id in set(generation_ids)]
        return {record.id for record in GenerationRecord.batch_get(keys, attributes_to_get=["id"])}

    # -- writes ---------------------------------------------------------------------------------

    def create(self, records: Sequence[GenerationRecord]) -> None:
        """All records of a request, written together or not at all; none may exist yet."""
        with TransactWrite(connection=self._connection) as transaction:
            for record in records:
                transaction.save(record, condition=GenerationRecord.pk.does_not_exist())
        for record in records:
            self.counters.change(None, _state(record))

    def commit(
        self,
        changes: Sequence[tuple[GenerationRecord, Transition]],
        *,
        added: Sequence[GenerationRecord] = (),
        removed: Sequence[GenerationRecord] = (),
    ) -> None:
        """One transaction: the transitions, new records and deletions all happen, or none does."""
        with TransactWrite(connection=self._connection) as transaction:
            for record, transition in changes:
                transaction.update(
                    record, _actions(transition), condition=GenerationRecord.status == transition.before.value
                )
            for record in added:
                transaction.save(record, condition=GenerationRecord.pk.does_not_exist())
            for record in removed:
                transaction.delete(record)
        for record, transition in changes:
            self.counters.change(_state(record), _state_after(record, transition))
            lifecycle.apply(record, transition)
        for record in added:
            self.counters.change(None, _state(record))
        for record in removed:
            self.counters.change(_state(record), None)

    def update(self, record: GenerationRecord, transition: Transition) -> None:
        """One record's transition, if the table still has it in the state the transition starts from."""
        before, after = _state(record), _state_after(record, transition)
        # PynamoDB's update() also refreshes the object from the item it wrote.
        record.update(_actions(transition), condition=GenerationRecord.status == transition.before.value)
        self.counters.change(before, after)
        lifecycle.apply(record, transition)

    def create_in_state(self, record: GenerationRecord, transition: Transition) -> None:
        """Writes a record that is not in the table yet, already moved by `transition`."""
        written = GenerationRecord.from_raw_data(record.serialize())
        lifecycle.apply(written, transition)
        written.save(condition=GenerationRecord.pk.does_not_exist())
        self.counters.change(None, _state(written))
        lifecycle.apply(record, transition)

    def delete(self, records: Sequence[GenerationRecord]) -> None:
        with TransactWrite(connection=self._connection) as transaction:
            for record in records:
                transaction.delete(record)
        for record in records:
            self.counters.change(_state(record), None)

    def delete_expired(
        self, records: Sequence[GenerationRecord], day: str
    ) -> tuple[list[GenerationRecord], list[GenerationRecord]]:
        """Deletes records whose retention ended on `day`, if they still say so (stored, that day,
        no legal hold); returns (deleted by this call, not deleted because the table failed). A
        record another run deleted, or that was pinned meanwhile, is in neither: not counted twice."""
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
            self.counters.change(_state(record), None)
        return deleted, failed

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

    def flush_counters(self) -> None:
        """Adds the counter changes noted so far to the counter items (atomic ADD)."""
        for name, (images, size) in self.counters.take().items():
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"PK": {"S": COUNTER_PARTITION}, "SK": {"S": shard_key(name)}},
                    UpdateExpression="ADD images :images, #bytes :bytes",
                    ExpressionAttributeNames={"#bytes": "bytes"},
                    ExpressionAttributeValues={":images": {"N": str(images)}, ":bytes": {"N": str(size)}},
                )
            except Exception as error:  # a counter must never fail the work it counts
                logger.error("counter not updated", counter=name, images=images, bytes=size, error=str(error))
                metrics.add_metric(name="CounterWriteFailed", unit=MetricUnit.Count, value=1)

    def counter_items(self) -> list[dict[str, int | str]]:
        items: list[dict[str, int | str]] = []
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": COUNTER_PARTITION}},
        )
        for page in pages:
            for item in page.get("Items", []):
                items.append(
                    {
                        "SK": item["SK"]["S"],
                        "images": int(item.get("images", {}).get("N", "0")),
                        "bytes": int(item.get("bytes", {}).get("N", "0")),
                    }
                )
        return items

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
