"""How people label an image (tags, star, note) and the words search finds it by: the changes
records.lifecycle computes, in memory (nothing here writes to a table)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ideogram_assets.ideogram import GeneratedImage
from ideogram_assets.records import lifecycle
from ideogram_assets.records.errors import InvalidTransition
from ideogram_assets.records.index_items import MAX_TAGS
from ideogram_assets.records.lifecycle import MAX_NOTE_CHARS, labels_changed
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.status import Status
from ideogram_assets.retention.policy import RetentionPolicy
from ideogram_assets.storage import StoredObject
from tests.unit.search_records import record

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
NOW_ISO = "2026-11-28T10:00:00.000Z"
POLICY = RetentionPolicy(short_days=30, standard_days=365, grace_days=7)


def labelled(**fields: Any) -> GenerationRecord:
    return record(**{"tags": {"fox", "winter"}, "revision": 3, **fields})


def changed(target: GenerationRecord, **labels: Any) -> GenerationRecord:
    lifecycle.apply(target, labels_changed(target, NOW, **labels))
    return target


# -- tags -------------------------------------------------------------------------------------


def test_tags_are_added_to_those_the_record_has() -> None:
    assert changed(labelled(), add_tags=frozenset({"snow", "fox"})).tags == {"fox", "winter", "snow"}


def test_tags_are_removed_and_removing_an_absent_tag_is_harmless() -> None:
    assert changed(labelled(), remove_tags=frozenset({"winter", "absent"})).tags == {"fox"}


def test_removing_every_tag_leaves_no_tags_attribute() -> None:
    transition = labels_changed(labelled(), NOW, remove_tags=frozenset({"fox", "winter"}))
    assert transition.changes["tags"] is None


def test_a_record_may_carry_up_to_max_tags_tags() -> None:
    more = frozenset(f"t{number}" for number in range(MAX_TAGS - 2))
    assert len(changed(labelled(), add_tags=more).tags or ()) == MAX_TAGS


def test_more_tags_than_max_tags_are_refused_before_anything_is_written() -> None:
    more = frozenset(f"t{number}" for number in range(MAX_TAGS - 1))
    with pytest.raises(InvalidTransition, match=f"at most {MAX_TAGS}"):
        labels_changed(labelled(), NOW, add_tags=more)


def test_the_tag_limit_counts_what_remains_after_removals() -> None:
    more = frozenset(f"t{number}" for number in range(MAX_TAGS - 1))
    assert len(changed(labelled(), add_tags=more, remove_tags=frozenset({"fox"})).tags or ()) == MAX_TAGS


# -- star and note ----------------------------------------------------------------------------


def test_a_star_is_set_and_cleared_by_removing_it() -> None:
    assert labels_changed(labelled(), NOW, starred=True).changes["starred"] is True
    assert labels_changed(labelled(starred=True), NOW, starred=False).changes["starred"] is None


def test_leaving_out_star_and_note_leaves_them_as_they_are() -> None:
    changes = labels_changed(labelled(starred=True, note="keep"), NOW, add_tags=frozenset({"snow"})).changes
    assert "starred" not in changes
    assert "note" not in changes


def test_a_note_is_set_and_cleared() -> None:
    assert changed(labelled(), note="for the client deck").note == "for the client deck"
    assert changed(labelled(note="old"), clear_note=True).note is None


def test_a_note_longer_than_the_limit_is_cut_to_it() -> None:
    assert changed(labelled(), note="x" * (MAX_NOTE_CHARS + 10)).note == "x" * MAX_NOTE_CHARS


# -- revision and status ----------------------------------------------------------------------


def test_a_label_change_counts_one_revision_and_is_conditional_on_the_one_read() -> None:
    transition = labels_changed(labelled(revision=3), NOW, starred=True)
    assert transition.changes["revision"] == 4
    assert transition.expected_revision == 3
    assert transition.changes["updated_at"] == NOW_ISO


def test_the_first_change_of_a_record_without_a_revision_expects_none() -> None:
    transition = labels_changed(labelled(revision=None), NOW, starred=True)
    assert transition.changes["revision"] == 1
    assert transition.expected_revision == 0


@pytest.mark.parametrize("status", list(Status))
def test_a_record_in_any_status_can_be_labelled_and_keeps_its_status(status: Status) -> None:
    transition = labels_changed(labelled(status=status.value), NOW, add_tags=frozenset({"x"}))
    assert (transition.before, transition.after) == (status, status)
    assert "status" not in transition.changes


# -- the words a record is indexed under ------------------------------------------------------


def pending(**fields: Any) -> GenerationRecord:
    return record(
        **{
            "status": Status.PENDING.value,
            "prompt": "A red fox",
            "bucket": "assets",
            "key": "images/2026/11/27/x.png",
            "retention_class": "standard",
            **fields,
        }
    )


def image(**fields: Any) -> GeneratedImage:
    return GeneratedImage.model_validate(
        {
            "url": "https://ideogram.example/x.png",
            "prompt": "A red fox",
            "resolution": "1024x1024",
            "is_image_safe": True,
            "seed": 7,
            **fields,
        }
    )


def stored_object() -> StoredObject:
    return StoredObject("assets", "images/2026/11/27/x.png", 10, "cd" * 32, "image/png", 1, 1, '"e"', None)


def test_a_stored_record_is_indexed_under_the_words_of_its_prompt_and_expanded_prompt() -> None:
    target = pending(expanded_prompt="A red fox asleep in the snowy forest")
    transition = lifecycle.stored(target, stored_object(), NOW, POLICY)
    assert transition.changes["index_words"] == {"red", "fox", "asleep", "snowy", "forest"}


def test_an_unsafe_answer_is_indexed_under_the_expanded_prompt_ideogram_answered() -> None:
    transition = lifecycle.answered(
        pending(),
        image(url=None, is_image_safe=False, prompt="A red fox asleep, neon"),
        url_expires_at=NOW,
        cost_usd=0.08,
        now=NOW,
    )
    assert transition.after == Status.UNSAFE
    assert transition.changes["index_words"] == {"red", "fox", "asleep", "neon"}


def test_an_answer_that_leaves_the_record_pending_indexes_nothing_yet() -> None:
    transition = lifecycle.answered(pending(), image(), url_expires_at=NOW, cost_usd=0.08, now=NOW)
    assert transition.after == Status.PENDING
    assert "index_words" not in transition.changes


def test_a_prompt_of_only_stop_words_leaves_no_index_words() -> None:
    transition = lifecycle.stored(pending(prompt="the and of"), stored_object(), NOW, POLICY)
    assert transition.changes["index_words"] is None


def test_a_missing_record_stored_again_keeps_the_words_it_is_indexed_under() -> None:
    target = pending(status=Status.MISSING.value, index_words={"old", "words"})
    transition = lifecycle.stored(target, stored_object(), NOW, POLICY)
    assert "index_words" not in transition.changes
