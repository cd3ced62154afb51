"""Counters: what each record adds to which counter, what a change of state moves between them,
how shards add up, and that a recount of the records says what the ADDs say."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from ideogram_assets.records.counters import (
    FIELDS,
    NO_STYLE,
    SHARDS,
    CounterDeltas,
    RecordState,
    images_and_bytes,
    recount,
    shard_key,
    totals,
)
from ideogram_assets.records.repository import counted_state
from ideogram_assets.records.status import Status
from tests.unit.search_records import record

STORED = RecordState(
    status=Status.STORED,
    size_bytes=2048,
    retention_class="standard",
    model="V_3",
    style_type="REALISTIC",
    month="2026-11",
    tags=frozenset({"fox", "client:acme.v2"}),
    answered=True,
    cost_micros=80_000,
)
# A counter item as DynamoDB returns it, its numbers as ints (or as strings).
CounterItem = dict[str, int | str]
STORED_FIELDS = {"records": 1, "images": 1, "bytes": 2048, "generated": 1, "costMicros": 80_000}


def one_change(before: RecordState | None, after: RecordState | None) -> dict[str, dict[str, int]]:
    deltas = CounterDeltas()
    deltas.change(before, after)
    return deltas.take()


def state(**fields: Any) -> RecordState:
    return replace(STORED, **fields)


# -- what a record counts towards -------------------------------------------------------------


def test_a_stored_record_counts_in_every_dimension_it_has() -> None:
    assert one_change(None, STORED) == {
        name: STORED_FIELDS
        for name in (
            "status#STORED",
            "class#standard",
            "model#V_3",
            "style#REALISTIC",
            "month#2026-11",
            "tag#client:acme.v2",
            "tag#fox",
        )
    }


def test_a_record_without_a_style_counts_under_none() -> None:
    assert f"style#{NO_STYLE}" in one_change(None, state(style_type=None))


def test_only_stored_records_count_towards_a_retention_class() -> None:
    assert not any(name.startswith("class#") for name in one_change(None, state(status=Status.MISSING)))
    assert "class#standard" in one_change(None, state(retention_class=None))


def test_an_unsafe_record_counts_as_generated_unsafe_and_billed_but_not_stored() -> None:
    unsafe = state(status=Status.UNSAFE, size_bytes=0, retention_class=None, tags=frozenset())
    assert one_change(None, unsafe)["status#UNSAFE"] == {
        "records": 1,
        "generated": 1,
        "unsafe": 1,
        "costMicros": 80_000,
    }


def test_a_record_ideogram_never_answered_counts_no_image_and_no_cost() -> None:
    failed = state(status=Status.FAILED, size_bytes=0, answered=False, cost_micros=80_000)
    assert one_change(None, failed)["status#FAILED"] == {"records": 1}


def test_a_missing_record_keeps_its_bytes_as_what_was_lost_but_no_image() -> None:
    assert one_change(None, state(status=Status.MISSING))["status#MISSING"] == {
        "records": 1,
        "bytes": 2048,
        "generated": 1,
        "costMicros": 80_000,
    }


# -- changes ----------------------------------------------------------------------------------


def test_a_deleted_record_subtracts_what_it_added() -> None:
    removed = one_change(STORED, None)
    assert removed["model#V_3"] == {field: -value for field, value in STORED_FIELDS.items()}


def test_a_change_moves_the_record_between_counters_and_leaves_the_rest_alone() -> None:
    moved = one_change(STORED, state(status=Status.MISSING))
    assert moved == {
        "status#STORED": {field: -value for field, value in STORED_FIELDS.items()},
        "status#MISSING": {field: value for field, value in STORED_FIELDS.items() if field != "images"},
        "class#standard": {field: -value for field, value in STORED_FIELDS.items()},
        **{
            name: {"images": -1}
            for name in ("model#V_3", "style#REALISTIC", "month#2026-11", "tag#client:acme.v2", "tag#fox")
        },
    }


def test_a_tag_edit_moves_only_the_tag_counters() -> None:
    assert one_change(STORED, state(tags=frozenset({"fox", "snow"}))) == {
        "tag#client:acme.v2": {field: -value for field, value in STORED_FIELDS.items()},
        "tag#snow": STORED_FIELDS,
    }


def test_a_change_that_changes_nothing_counted_leaves_no_delta() -> None:
    assert one_change(STORED, STORED) == {}


def test_take_forgets_what_it_returned() -> None:
    deltas = CounterDeltas()
    deltas.change(None, STORED)
    assert deltas.take()
    assert deltas.take() == {}


def test_deltas_add_up_over_many_changes() -> None:
    deltas = CounterDeltas()
    for _ in range(3):
        deltas.change(None, STORED)
    deltas.change(STORED, None)
    assert deltas.take()["model#V_3"] == {field: 2 * value for field, value in STORED_FIELDS.items()}


def test_changes_from_many_threads_are_all_counted() -> None:
    deltas = CounterDeltas()

    def store() -> None:
        for _ in range(200):
            deltas.change(None, STORED)

    workers = [threading.Thread(target=store) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert deltas.take()["status#STORED"]["records"] == 800


# -- shards and totals ------------------------------------------------------------------------


def test_a_shard_key_is_the_counter_name_and_one_of_the_shards() -> None:
    shards = {shard_key("tag#a:b.c") for _ in range(200)}
    assert shards <= {f"tag#a:b.c#{shard}" for shard in range(SHARDS)}
    assert len(shards) > 1


def test_totals_sum_the_shards_of_each_value() -> None:
    items: list[CounterItem] = [
        {"SK": "model#V_3#0", "records": 2, "bytes": 100},
        {"SK": "model#V_3#3", "records": 1, "bytes": 50, "unsafe": 1},
        {"SK": "model#V_2#1", "records": 4},
    ]
    assert totals(items) == {
        "model": {
            "V_3": {**dict.fromkeys(FIELDS, 0), "records": 3, "bytes": 150, "unsafe": 1},
            "V_2": {**dict.fromkeys(FIELDS, 0), "records": 4},
        }
    }


@pytest.mark.parametrize("tag", ["client:acme", "v1.2", "a:b.c-d_e", "2026.11"])
def test_totals_keep_tags_holding_colons_and_dots_whole(tag: str) -> None:
    items: list[CounterItem] = [{"SK": f"tag#{tag}#0", "records": 1}, {"SK": f"tag#{tag}#2", "records": 1}]
    assert totals(items)["tag"][tag]["records"] == 2


def test_totals_leave_out_values_whose_fields_add_up_to_nothing() -> None:
    items: list[CounterItem] = [
        {"SK": "tag#gone#0", "records": 1, "bytes": 10},
        {"SK": "tag#gone#1", "records": -1, "bytes": -10},
        {"SK": "tag#kept#1", "records": 1},
    ]
    assert set(totals(items)["tag"]) == {"kept"}


def test_totals_read_numbers_as_dynamodb_returns_them() -> None:
    assert totals([{"SK": "month#2026-11#0", "records": "3"}])["month"]["2026-11"]["records"] == 3


# -- recount ----------------------------------------------------------------------------------


def test_recount_equals_the_totals_of_the_deltas_written_as_shards() -> None:
    states = [
        STORED,
        state(tags=frozenset({"fox"}), month="2026-10"),
        state(status=Status.UNSAFE, size_bytes=0, retention_class=None),
        state(status=Status.FAILED, answered=False, model="V_2", style_type=None),
    ]
    deltas = CounterDeltas()
    for entry in states:
        deltas.change(None, entry)
    deltas.change(states[1], state(tags=frozenset({"snow"}), month="2026-10"))
    deltas.change(states[3], None)
    items: list[CounterItem] = [
        {"SK": f"{name}#{number % SHARDS}", **fields}
        for number, (name, fields) in enumerate(deltas.take().items())
    ]
    after = [states[0], state(tags=frozenset({"snow"}), month="2026-10"), states[2]]
    assert totals(items) == recount(after)


def test_recount_gives_every_field_of_every_counted_value() -> None:
    counted = recount([STORED])
    assert counted["tag"]["client:acme.v2"] == {**dict.fromkeys(FIELDS, 0), **STORED_FIELDS}
    assert set(counted) == {"status", "class", "model", "style", "month", "tag"}


def test_recount_of_nothing_is_empty() -> None:
    assert recount([]) == {}


def test_images_and_bytes_show_records_and_bytes_per_value() -> None:
    counted = recount([STORED, state(retention_class="short", size_bytes=10)])
    assert images_and_bytes(counted["class"]) == {
        "standard": {"images": 1, "bytes": 2048},
        "short": {"images": 1, "bytes": 10},
    }


# -- counted_state ----------------------------------------------------------------------------


def test_the_counted_state_of_a_record_is_what_the_counters_follow() -> None:
    counted = counted_state(
        record(
            status="STORED",
            size_bytes=2048,
            retention_class="short",
            model="V_3",
            style_type="DESIGN",
            created_at="2026-11-27T09:30:00.000Z",
            tags={"fox"},
            is_safe=True,
            cost_usd=0.08,
        )
    )
    assert counted == RecordState(
        status="STORED",
        size_bytes=2048,
        retention_class="short",
        model="V_3",
        style_type="DESIGN",
        month="2026-11",
        tags=frozenset({"fox"}),
        answered=True,
        cost_micros=80_000,
    )


def test_a_record_ideogram_has_not_answered_is_counted_as_not_generated() -> None:
    counted = counted_state(record(status="PENDING", is_safe=None, cost_usd=None, size_bytes=None))
    assert (counted.answered, counted.cost_micros, counted.size_bytes) == (False, 0, 0)


def test_an_unsafe_answer_is_counted_as_generated() -> None:
    assert counted_state(record(status="UNSAFE", is_safe=False)).answered is True


def test_a_cost_is_counted_in_whole_micro_dollars_without_float_drift() -> None:
    assert counted_state(record(cost_usd=0.1 + 0.2)).cost_micros == 300_000
