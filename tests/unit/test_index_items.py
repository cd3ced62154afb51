"""Index items: which partitions a record is in (by its status, words, tags and star), the raw
items a bulk load writes, and what a change of the record puts and deletes so the indexes always
say what the record says."""

from __future__ import annotations

from typing import Any

import pytest

from ideogram_assets.records.index_items import (
    INDEXED_STATUSES,
    MAX_INDEXED_WORDS,
    MAX_TAGS,
    STARRED_PARTITION,
    IndexKeys,
    index_items,
    keys_of,
    position,
    words_of,
)
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import MAX_TRANSACTION_ITEMS, _index_changes
from ideogram_assets.records.status import Status
from tests.unit.search_records import CREATED_AT, record

ID = "a" * 32
SORT_KEY = f"{CREATED_AT}#{ID}"
TTL = 1_800_000_000


def indexed(**fields: Any) -> GenerationRecord:
    return record(ID, **{"index_words": {"red", "fox"}, "tags": {"winter"}, "ttl": TTL, **fields})


def put_and_deleted(
    before: GenerationRecord | None, after: GenerationRecord | None
) -> tuple[set[str], set[str]]:
    """The partitions whose item a change puts, and those whose item it deletes."""
    changes = _index_changes(before, after)
    return {item.pk for item in changes.put}, {item.pk for item in changes.delete}


# -- keys_of / IndexKeys ----------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(INDEXED_STATUSES))
def test_a_stored_unsafe_or_missing_record_is_in_its_word_tag_and_star_partitions(status: str) -> None:
    keys = keys_of(indexed(status=status, starred=True))
    assert keys == IndexKeys(frozenset({"red", "fox"}), frozenset({"winter"}), starred=True)


@pytest.mark.parametrize("status", sorted(set(Status) - INDEXED_STATUSES))
def test_a_record_in_any_other_status_is_in_no_partition(status: str) -> None:
    assert keys_of(indexed(status=status, starred=True)) == IndexKeys()


def test_a_record_without_words_tags_or_star_is_in_no_partition() -> None:
    assert keys_of(record(ID, index_words=None, tags=None)).partitions() == []


def test_partitions_are_words_then_tags_then_the_star_each_sorted() -> None:
    keys = IndexKeys(frozenset({"red", "fox"}), frozenset({"winter", "a:b"}), starred=True)
    assert keys.partitions() == ["TOKEN#fox", "TOKEN#red", "TAG#a:b", "TAG#winter", STARRED_PARTITION]


def test_a_word_and_a_tag_of_the_same_name_are_different_partitions() -> None:
    assert IndexKeys(frozenset({"fox"}), frozenset({"fox"})).partitions() == ["TOKEN#fox", "TAG#fox"]


def test_minus_names_the_partitions_only_the_first_holds() -> None:
    before = IndexKeys(frozenset({"red", "fox"}), frozenset({"winter"}), starred=True)
    after = IndexKeys(frozenset({"red", "fox"}), frozenset({"snow"}), starred=False)
    assert before.minus(after) == sorted(["TAG#winter", STARRED_PARTITION])
    assert after.minus(before) == ["TAG#snow"]
    assert before.minus(before) == []


# -- words_of ---------------------------------------------------------------------------------


def test_a_record_is_indexed_under_the_words_of_its_prompt_and_expanded_prompt() -> None:
    assert words_of("A red fox", "A red fox in the snowy forest") == ["red", "fox", "snowy", "forest"]


def test_a_record_is_indexed_under_at_most_max_indexed_words_words() -> None:
    prompt = " ".join(f"w{number}" for number in range(MAX_INDEXED_WORDS + 30))
    assert words_of(prompt, None) == [f"w{number}" for number in range(MAX_INDEXED_WORDS)]


def test_a_record_with_every_index_item_fits_in_one_transaction() -> None:
    assert 1 + MAX_INDEXED_WORDS + MAX_TAGS + 1 <= MAX_TRANSACTION_ITEMS


# -- index_items ------------------------------------------------------------------------------


def test_index_items_are_raw_dynamodb_items_with_the_ttl() -> None:
    items = index_items(indexed(index_words={"fox"}, tags={"winter"}, starred=True))
    expected = [
        {"PK": {"S": pk}, "SK": {"S": SORT_KEY}, "id": {"S": ID}, "ttl": {"N": str(TTL)}}
        for pk in ("TOKEN#fox", "TAG#winter", STARRED_PARTITION)
    ]
    assert items == expected


def test_index_items_of_a_record_kept_for_ever_have_no_ttl() -> None:
    items = index_items(indexed(index_words={"fox"}, tags=None, ttl=None))
    assert items == [{"PK": {"S": "TOKEN#fox"}, "SK": {"S": SORT_KEY}, "id": {"S": ID}}]


def test_an_index_items_ttl_is_whole_seconds() -> None:
    (item,) = index_items(indexed(index_words={"fox"}, tags=None, ttl=TTL + 0.75))
    assert item["ttl"] == {"N": str(TTL)}


def test_a_pending_record_has_no_index_items() -> None:
    assert index_items(indexed(status=Status.PENDING.value)) == []


def test_an_index_items_sort_key_is_creation_time_then_id() -> None:
    assert position(CREATED_AT, ID) == SORT_KEY
    assert position("2026-11-27T09:30:00.000Z", "b" * 32) > position("2026-11-27T09:29:59.999Z", "f" * 32)


# -- _index_changes ---------------------------------------------------------------------------


def test_a_new_indexed_record_puts_every_item_and_deletes_none() -> None:
    assert put_and_deleted(None, indexed()) == ({"TOKEN#fox", "TOKEN#red", "TAG#winter"}, set())


def test_a_new_pending_record_writes_no_index_item() -> None:
    assert put_and_deleted(None, indexed(status=Status.PENDING.value)) == (set(), set())


def test_a_record_becoming_stored_puts_every_item() -> None:
    before = indexed(status=Status.PENDING.value, ttl=None)
    assert put_and_deleted(before, indexed()) == ({"TOKEN#fox", "TOKEN#red", "TAG#winter"}, set())


def test_a_change_in_a_status_that_is_not_indexed_writes_no_index_item() -> None:
    before = indexed(status=Status.PENDING.value, tags={"a"})
    after = indexed(status=Status.FAILED.value, tags={"b"}, ttl=TTL + 1)
    assert put_and_deleted(before, after) == (set(), set())


def test_a_tag_added_puts_only_its_item() -> None:
    assert put_and_deleted(indexed(), indexed(tags={"winter", "snow"})) == ({"TAG#snow"}, set())


def test_a_tag_removed_deletes_only_its_item() -> None:
    assert put_and_deleted(indexed(tags={"winter", "snow"}), indexed()) == (set(), {"TAG#snow"})


def test_a_star_set_or_cleared_puts_or_deletes_the_starred_item() -> None:
    assert put_and_deleted(indexed(), indexed(starred=True)) == ({STARRED_PARTITION}, set())
    assert put_and_deleted(indexed(starred=True), indexed(starred=None)) == (set(), {STARRED_PARTITION})


def test_a_change_that_leaves_the_partitions_and_ttl_writes_no_index_item() -> None:
    assert put_and_deleted(indexed(), indexed(note="lovely")) == (set(), set())


def test_a_new_ttl_rewrites_every_item_with_it() -> None:
    changes = _index_changes(indexed(), indexed(ttl=TTL + 86_400, tags={"snow"}))
    assert {item.pk for item in changes.put} == {"TOKEN#fox", "TOKEN#red", "TAG#snow"}
    assert {item.ttl for item in changes.put} == {TTL + 86_400}
    assert [item.pk for item in changes.delete] == ["TAG#winter"]


def test_a_record_kept_for_ever_rewrites_every_item_without_a_ttl() -> None:
    changes = _index_changes(indexed(), indexed(ttl=None))
    assert {item.pk for item in changes.put} == {"TOKEN#fox", "TOKEN#red", "TAG#winter"}
    assert {item.ttl for item in changes.put} == {None}


def test_a_deleted_record_deletes_every_item() -> None:
    assert put_and_deleted(indexed(starred=True), None) == (
        set(),
        {"TOKEN#fox", "TOKEN#red", "TAG#winter", STARRED_PARTITION},
    )


def test_deleting_a_record_that_is_not_indexed_deletes_nothing() -> None:
    assert put_and_deleted(indexed(status=Status.FAILED.value), None) == (set(), set())


def test_put_and_deleted_items_carry_the_records_sort_key_and_id() -> None:
    changes = _index_changes(indexed(tags={"snow"}), indexed(starred=True))
    assert {(item.sk, item.id) for item in [*changes.put, *changes.delete]} == {(SORT_KEY, ID)}
    assert len(changes) == 3  # STARRED and TAG#winter put, TAG#snow deleted
