"""The only code that changes a record's state: each change is a function returning a Transition.

A Transition names the status the record must have in the table (`before`), the status it moves
to (`after`) and every attribute it sets. The repository writes it with a condition on `before`
and only then applies it to the record in memory, so a record object never says more than the
table does. An invalid change (STORED → FAILED, say) raises before anything is written.

    PENDING ──answered──▶ PENDING (with the image's URL) ──stored──▶ STORED ◀──stored── MISSING
        │                     └──────────failed──────────▶ FAILED ──stored──▶ STORED ──missing─▶ MISSING
        ├──answered (no image)──▶ UNSAFE          PENDING/FAILED ──lost (URL expired)──▶ LOST

A stored record carries its expiry (`expiresOn`, the day the retention sweep removes it, and
`ttl`, DynamoDB's own backstop), set from its retention class; pinning or a legal hold moves it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ideogram_assets.records.errors import InvalidTransition
from ideogram_assets.records.index_items import INDEXED_STATUSES, MAX_TAGS, words_of
from ideogram_assets.records.model import GenerationRecord, iso, record_key
from ideogram_assets.records.status import OPEN_STATUSES, Status

if TYPE_CHECKING:
    from ideogram_assets.generation.origin import Origin
    from ideogram_assets.generation.spec import GenerationSpec
    from ideogram_assets.ideogram import GeneratedImage
    from ideogram_assets.retention.policy import RetentionPolicy
    from ideogram_assets.storage import StoredObject

MAX_FAILURE_MESSAGE = 500
MAX_NOTE_CHARS = 500

_ALLOWED: Mapping[Status, frozenset[Status]] = MappingProxyType(
    {
        Status.PENDING: frozenset({Status.PENDING, Status.STORED, Status.UNSAFE, Status.FAILED, Status.LOST}),
        # A FAILED image whose URL is still valid can be stored later (reconciliation).
        Status.FAILED: frozenset({Status.FAILED, Status.STORED, Status.LOST}),
        # STORED → STORED: its retention changes (pinning, a legal hold).
        Status.STORED: frozenset({Status.STORED, Status.MISSING}),
        # Its object came back (restored from an older version, say).
        Status.MISSING: frozenset({Status.MISSING, Status.STORED}),
        Status.UNSAFE: frozenset(),
        Status.LOST: frozenset(),
    }
)


@dataclass(frozen=True)
class Transition:
    before: Status
    after: Status
    changes: Mapping[str, Any]  # attribute name → new value; None removes the attribute
    # A change computed from the record as read (its tags, say) holds only if nothing changed
    # it since: the write is conditional on the record's revision being this (0: none yet).
    expected_revision: int | None = None

    def then(self, later: Transition) -> Transition:
        """This change followed by `later`, as one write (for a change that could not be saved)."""
        if later.before != self.after:
            raise InvalidTransition(f"{later.before} does not follow {self.after}")
        return Transition(
            self.before,
            later.after,
            MappingProxyType({**self.changes, **later.changes}),
            self.expected_revision,
        )


def object_key(generation_id: str, created: datetime) -> str:
    """Where an image lives; fixed when its record is created, so the reconciler can find it."""
    return f"images/{created:%Y/%m/%d}/{generation_id}.png"


def pending(
    spec: GenerationSpec,
    *,
    request_id: str,
    index: int,
    created: datetime,
    prompt_hash: str,
    bucket: str,
    retention_class: str,
    origin: Origin,
) -> GenerationRecord:
    """A new record, PENDING, for image `index` of a request; written before Ideogram is called."""
    generation_id = uuid.uuid4().hex
    return GenerationRecord(
        record_key(generation_id),
        id=generation_id,
        request_id=request_id,
        index_in_request=index,
        status=Status.PENDING,
        open_status=Status.PENDING,
        source=origin.source,
        correlation_id=origin.correlation_id,
        batch_id=origin.batch_id,
        parent_id=origin.parent_id,
        parent_sha256=origin.parent_sha256,
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        model=spec.model.value,
        rendering_speed=spec.rendering_speed.value,
        style_type=spec.style_type.value if spec.style_type else None,
        aspect_ratio=spec.aspect_ratio,
        resolution=spec.resolution,
        magic_prompt=spec.magic_prompt.value if spec.magic_prompt else None,
        requested_seed=spec.seed,
        color_palette=spec.palette_json(),
        tags=set(spec.tags) or None,
        prompt_hash=prompt_hash,
        bucket=bucket,
        key=object_key(generation_id, created),
        retention_class=retention_class,
        created_at=iso(created),
        updated_at=iso(created),
        time_bucket=f"{created:%Y-%m-%d}",
    )


def _revision(record: GenerationRecord) -> int:
    return int(record.revision or 0)


def _transition(record: GenerationRecord, after: Status, now: datetime, **changes: Any) -> Transition:
    before = Status(record.status)
    if after not in _ALLOWED[before]:
        raise InvalidTransition(f"record {record.id} cannot go from {before} to {after}")
    state: dict[str, Any] = {
        "status": after.value,
        "open_status": after.value if after in OPEN_STATUSES else None,
        "updated_at": iso(now),
        "revision": _revision(record) + 1,
    }
    if after in INDEXED_STATUSES and before not in INDEXED_STATUSES:
        # Search finds it from now on: the words of its prompts, as Ideogram answered them.
        expanded = changes.get("expanded_prompt", record.expanded_prompt)
        state["index_words"] = set(words_of(record.prompt, expanded)) or None
    return Transition(before, after, MappingProxyType({**changes, **state}))


def answered(
    record: GenerationRecord,
    image: GeneratedImage,
    *,
    url_expires_at: datetime,
    cost_usd: float | None,
    now: datetime,
) -> Transition:
    """What Ideogram said about the record's image. It stays PENDING, now with the image's URL,
    until its object exists; an image Ideogram withheld (unsafe) is billed but has nothing to keep."""
    said: dict[str, Any] = {
        "seed": image.seed,
        "resolution": image.resolution,
        "style_type": image.style_type or record.style_type,
        "expanded_prompt": image.prompt if image.prompt != record.prompt else None,
        "is_safe": image.is_image_safe,
        "cost_usd": cost_usd,
    }
    if not image.is_image_safe or not image.url:
        return _transition(record, Status.UNSAFE, now, bucket=None, key=None, **said)
    return _transition(
        record,
        Status.PENDING,
        now,
        original_url=image.url,
        original_url_expires_at=iso(url_expires_at),
        **said,
    )


def _expiry_changes(
    record: GenerationRecord,
    policy: RetentionPolicy,
    retention_class: str | None,
    legal_hold: bool,
    now: datetime,
) -> dict[str, Any]:
    created = datetime.fromisoformat(record.created_at)
    # Not before today: the sweep reads no day before its checkpoint, which may have passed a
    # retention that ended while the image was pinned or held.
    expiry = policy.expiry(
        retention_class or "standard", created, legal_hold=legal_hold, not_before=now.astimezone(UTC).date()
    )
    if expiry is None:
        return {"expires_on": None, "ttl": None}
    return {"expires_on": expiry.expires_on.isoformat(), "ttl": expiry.ttl}


def stored(
    record: GenerationRecord, stored_object: StoredObject, now: datetime, policy: RetentionPolicy
) -> Transition:
    """The image is in its object: the record says so, with the day its retention ends."""
    expiry = _expiry_changes(record, policy, record.retention_class, bool(record.legal_hold), now)
    transition = _transition(
        record,
        Status.STORED,
        now,
        original_url=None,  # its signature has served its purpose; keep no credential around
        size_bytes=stored_object.size_bytes,
        sha256=stored_object.sha256,
        content_type=stored_object.content_type,
        width=stored_object.width,
        height=stored_object.height,
        failure_kind=None,
        failure_message=None,
        **expiry,
    )
    if (stored_object.bucket, stored_object.key) != (record.bucket, record.key):
        raise InvalidTransition(f"record {record.id} names another object than the one stored")
    return transition


def failed(
    record: GenerationRecord, kind: str, message: str, now: datetime, *, url: str | None = None
) -> Transition:
    """The image could not be stored. With its original URL (the record's, or `url` when the
    answer that holds it is not written yet) it stays open for the reconciler; without one there
    is nothing to rescue, so it is closed: visible as FAILED, never read by the reconciler again."""
    transition = _transition(
        record, Status.FAILED, now, failure_kind=kind, failure_message=message[:MAX_FAILURE_MESSAGE]
    )
    if record.original_url or url:
        return transition
    return Transition(
        transition.before, transition.after, MappingProxyType({**transition.changes, "open_status": None})
    )


def lost(record: GenerationRecord, now: datetime) -> Transition:
    """Its URL expired before the image was stored: billed (the cost stays), gone for good."""
    return _transition(
        record,
        Status.LOST,
        now,
        original_url=None,
        failure_kind="url_expired",
        failure_message="Ideogram's URL expired before the image could be stored",
    )


def missing(record: GenerationRecord, now: datetime) -> Transition:
    """A stored image whose object is gone: kept as a record, never silently dropped."""
    return _transition(
        record,
        Status.MISSING,
        now,
        failure_kind="object_missing",
        failure_message=f"the object {record.key} is no longer in the bucket",
        expires_on=None,
        ttl=None,
    )


def retention_changed(
    record: GenerationRecord,
    now: datetime,
    policy: RetentionPolicy,
    *,
    retention_class: str | None = None,
    legal_hold: bool | None = None,
) -> Transition:
    """A new retention class and/or legal hold; a stored record's expiry follows them."""
    if record.status not in (Status.STORED, Status.PENDING, Status.FAILED, Status.MISSING):
        raise InvalidTransition(f"record {record.id} is {record.status}: it has no image to keep")
    new_class = retention_class or record.retention_class
    hold = bool(record.legal_hold) if legal_hold is None else legal_hold
    changes: dict[str, Any] = {"retention_class": new_class, "legal_hold": hold or None}
    if record.status == Status.STORED:
        changes.update(_expiry_changes(record, policy, new_class, hold, now))
    transition = _transition(record, Status(record.status), now, **changes)
    # Its index items are rewritten (their ttl) from the tags as read: only if they still hold.
    return Transition(transition.before, transition.after, transition.changes, _revision(record))


def labels_changed(
    record: GenerationRecord,
    now: datetime,
    *,
    add_tags: frozenset[str] = frozenset(),
    remove_tags: frozenset[str] = frozenset(),
    starred: bool | None = None,
    note: str | None = None,
    clear_note: bool = False,
) -> Transition:
    """New tags, star or note: how people label an image. Conditional on the record being as read,
    so two edits at once cannot lose one another's tags."""
    tags = (set(record.tags or ()) | add_tags) - remove_tags
    if len(tags) > MAX_TAGS:
        raise InvalidTransition(f"record {record.id} would have {len(tags)} tags; at most {MAX_TAGS}")
    changes: dict[str, Any] = {"tags": tags or None}
    if starred is not None:
        changes["starred"] = starred or None
    if clear_note:
        changes["note"] = None
    elif note is not None:
        changes["note"] = note[:MAX_NOTE_CHARS]
    # Any record can be labelled, whatever its status (an unsafe or lost one too): it stays as is.
    status = Status(record.status)
    changes.update(updated_at=iso(now), revision=_revision(record) + 1)
    return Transition(status, status, MappingProxyType(changes), _revision(record))


def apply(record: GenerationRecord, transition: Transition) -> None:
    """The transition in memory; the repository calls it once the table holds it."""
    for name, value in transition.changes.items():
        setattr(record, name, value)
