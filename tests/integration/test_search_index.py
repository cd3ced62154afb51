"""Index items and counters follow every record through its life: generated (stored, unsafe,
failed), rescued, labelled, pinned and swept. After a mixed run the counters equal a full
recount, and the index items are exactly those the records call for, no more, no fewer.

In process, against the AWS emulator and the Ideogram emulator over HTTP, with time injected.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from pynamodb.exceptions import PynamoDBException

from ideogram_assets.curation import LabelChanges
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.records import lifecycle
from ideogram_assets.records.counters import totals
from ideogram_assets.records.index_items import index_items
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import is_conditional_failure
from ideogram_assets.records.status import Status
from local_stack.ideogram import RunningEmulator
from tests.integration.retention_world import (
    TASK_SECONDS,
    Budget,
    World,
    reset_faults,
    set_faults,
)


def generate(world: World, retention_class: str = "standard", **body: Any) -> list[GenerationRecord]:
    spec = GenerationSpec.model_validate(body)
    return list(world.generation_service(retention_class).generate(spec, budget=Budget()).records)


def index_items_in_table(world: World) -> set[tuple[str, str]]:
    return {
        (item["PK"]["S"], item["SK"]["S"])
        for item in world.items()
        if item["PK"]["S"].startswith(("TOKEN#", "TAG#", "STARRED"))
    }


def index_items_called_for(world: World) -> set[tuple[str, str]]:
    keys = set()
    for item in world.record_items().values():
        record = GenerationRecord.from_raw_data(item)
        keys |= {(entry["PK"]["S"], entry["SK"]["S"]) for entry in index_items(record)}
    return keys


def assert_consistent(world: World) -> None:
    assert totals(world.records.counter_items()) == world.records.recount()
    assert index_items_in_table(world) == index_items_called_for(world)


def test_counters_and_index_items_equal_a_full_recount_after_a_mixed_run(
    world: World, emulator: RunningEmulator
) -> None:
    try:
        stored = generate(
            world, "short", prompt="a red fox in the snow", tags=["fox", "winter"], num_images=2
        )
        unsafe = generate(world, prompt="an unsafe harbour at night", tags=["harbour"])
        set_faults(emulator, image_faults=[{"index": 0, "fault": "wrong_content_type", "times": 1}])
        failed = generate(world, prompt="a paper boat", tags=["boat"], style_type="DESIGN")
    finally:
        reset_faults(emulator)
    assert [record.status for record in stored + unsafe + failed] == ["STORED", "STORED", "UNSAFE", "FAILED"]
    assert_consistent(world)

    labels = LabelChanges(records=world.records, now=world.clock)
    labels.change(stored[0].id, add_tags=frozenset({"hero"}), remove_tags=frozenset({"winter"}), starred=True)
    labels.change(failed[0].id, add_tags=frozenset({"retry"}), note="the download failed")
    labels.change(unsafe[0].id, starred=True)
    world.retention_changes().change(stored[1].id, retention_class="permanent", legal_hold=None)
    assert_consistent(world)

    # The failed image is rescued: it is indexed with the tags it has now.
    world.clock.advance(minutes=1)  # the reconciler reads what was created before now
    world.reconciler().run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS)
    assert world.item(failed[0].id)["status"] == {"S": Status.STORED}
    assert ("TAG#retry", f"{failed[0].created_at}#{failed[0].id}") in index_items_in_table(world)
    assert_consistent(world)

    # Past the short class's expiry the sweep removes the one short image, its index items too.
    world.clock.current += timedelta(days=world.settings.retention.short_days + 1)
    summary = world.sweeper().run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS).to_json()
    assert summary["ids"] == {"deleted": [stored[0].id]}
    assert not any(stored[0].id in sort_key for _, sort_key in index_items_in_table(world))
    assert_consistent(world)

    counted = totals(world.records.counter_items())
    assert counted["tag"]["harbour"]["unsafe"] == 1
    assert counted["tag"]["harbour"]["generated"] == 1
    assert "hero" not in counted["tag"]  # its only image was swept
    assert counted["status"]["STORED"]["images"] == 2
    assert counted["style"]["DESIGN"]["images"] == 1


def test_a_label_change_made_from_a_stale_read_is_refused_and_retried(world: World) -> None:
    [record] = generate(world, prompt="a blue kite", tags=["kite"])
    stale = world.records.get(record.id)
    assert stale is not None
    LabelChanges(records=world.record_store(), now=world.clock).change(record.id, add_tags=frozenset({"a"}))

    # A change computed from what was read before "a" was added would drop it: the table refuses it.
    transition = lifecycle.labels_changed(stale, world.clock(), add_tags=frozenset({"b"}))
    with pytest.raises(PynamoDBException) as refused:
        world.record_store().update(stale, transition)
    assert is_conditional_failure(refused.value)

    # The service reads again and adds "b" to what is there now.
    LabelChanges(records=world.record_store(), now=world.clock).change(record.id, add_tags=frozenset({"b"}))
    assert set(world.item(record.id)["tags"]["SS"]) == {"kite", "a", "b"}
    assert_consistent(world)
