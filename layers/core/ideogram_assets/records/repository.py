"""RecordStore: every write the services make to generation records, each one conditional.

Transitions (records.lifecycle) are written with a condition on the status they start from and
applied to the record in memory only once the table holds them, so what a caller reads from a
record object is what the table says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.connection import Connection
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ideogram_assets.records import lifecycle
from ideogram_assets.records.lifecycle import Transition
from ideogram_assets.records.model import RECORD_SORT_KEY, GenerationRecord, bind_table, record_key


def _actions(transition: Transition) -> list[Action]:
    actions: list[Action] = []
    for name, value in transition.changes.items():
        attribute: Any = getattr(GenerationRecord, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


class RecordStore:
    """The generation records of one table. Create one per execution environment."""

    def __init__(self, table_name: str, region: str | None = None) -> None:
        bind_table(table_name, region)
        meta = GenerationRecord.Meta
        # Transactions go through a low-level connection with the model's own time limits.
        self._connection = Connection(
            region=region,
            connect_timeout_seconds=meta.connect_timeout_seconds,
            read_timeout_seconds=meta.read_timeout_seconds,
            max_retry_attempts=meta.max_retry_attempts,
        )

    def get(self, generation_id: str) -> GenerationRecord | None:
        try:
            return GenerationRecord.get(record_key(generation_id), RECORD_SORT_KEY)
        except GenerationRecord.DoesNotExist:
            return None

    def create(self, records: Sequence[GenerationRecord]) -> None:
        """All records of a request, written together or not at all; none may exist yet."""
        with TransactWrite(connection=self._connection) as transaction:
            for record in records:
                transaction.save(record, condition=GenerationRecord.pk.does_not_exist())

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
            lifecycle.apply(record, transition)

    def update(self, record: GenerationRecord, transition: Transition) -> None:
        """One record's transition, if the table still has it in the state the transition starts from."""
        record.update(_actions(transition), condition=GenerationRecord.status == transition.before.value)
        lifecycle.apply(record, transition)

    def create_in_state(self, record: GenerationRecord, transition: Transition) -> None:
        """Writes a record that is not in the table yet, already moved by `transition`."""
        written = GenerationRecord.from_raw_data(record.serialize())
        lifecycle.apply(written, transition)
        written.save(condition=GenerationRecord.pk.does_not_exist())
        lifecycle.apply(record, transition)

    def delete(self, records: Sequence[GenerationRecord]) -> None:
        with TransactWrite(connection=self._connection) as transaction:
            for record in records:
                transaction.delete(record)
