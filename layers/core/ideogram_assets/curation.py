"""Labels people put on an image: tags, a star, a note; the index items follow in the same write.

A change is computed from the record as read and written only if nobody changed the record
since (records.lifecycle.labels_changed): two edits at once never lose each other's tags. The
loser reads the record again and retries, a few times, then gives up with a conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from pynamodb.exceptions import TransactWriteError, UpdateError

from ideogram_assets.records import lifecycle
from ideogram_assets.records.errors import GenerationNotFound, InvalidTransition
from ideogram_assets.records.repository import is_conditional_failure

if TYPE_CHECKING:
    from ideogram_assets.records.model import GenerationRecord
    from ideogram_assets.records.repository import RecordStore

ATTEMPTS = 3


class LabelChanges:
    def __init__(self, *, records: RecordStore, now: Callable[[], datetime]) -> None:
        self._records = records
        self._now = now

    def change(
        self,
        generation_id: str,
        *,
        add_tags: frozenset[str] = frozenset(),
        remove_tags: frozenset[str] = frozenset(),
        starred: bool | None = None,
        note: str | None = None,
        clear_note: bool = False,
    ) -> GenerationRecord:
        for _attempt in range(ATTEMPTS):
            record = self._records.get(generation_id)
            if record is None:
                raise GenerationNotFound(f"generation {generation_id} was not found")
            transition = lifecycle.labels_changed(
                record,
                self._now(),
                add_tags=add_tags,
                remove_tags=remove_tags,
                starred=starred,
                note=note,
                clear_note=clear_note,
            )
            try:
                self._records.update(record, transition)
            except (UpdateError, TransactWriteError) as error:
                if is_conditional_failure(error):
                    continue  # changed meanwhile: read it again
                raise
            self._records.flush_counters()
            return record
        raise InvalidTransition(f"generation {generation_id} kept changing meanwhile; try again")
