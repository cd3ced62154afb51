"""The record store's single-item writes: a request of one image creates its PENDING record with a
conditional PutItem and records a transition that moves no index item with a conditional
UpdateItem (a transaction of one item costs twice the write units); the conditions hold as the
transactions' did."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import PutError, UpdateError

from ideogram_assets.generation.origin import Origin
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.records import lifecycle
from ideogram_assets.records.counters import totals
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import is_conditional_failure
from tests.integration.retention_world import World


def pending(world: World) -> GenerationRecord:
    return lifecycle.pending(
        GenerationSpec.model_validate({"prompt": "a lone pine on a ridge"}),
        request_id="r1",
        index=0,
        created=world.clock(),
        prompt_hash="h1",
        bucket=world.bucket,
        retention_class="standard",
        origin=Origin(),
    )


def test_one_pending_record_is_created_once_and_counted(world: World) -> None:
    record = pending(world)
    world.records.create([record])
    world.records.flush_counters()

    assert world.item(record.id)["status"] == {"S": "PENDING"}
    with pytest.raises(PutError) as refused:
        world.records.create([GenerationRecord.from_raw_data(world.item(record.id))])
    assert is_conditional_failure(refused.value)
    world.records.flush_counters()
    assert totals(world.records.counter_items()) == world.records.recount()


def test_one_transition_without_index_items_is_conditional_on_the_status_before(world: World) -> None:
    record = pending(world)
    world.records.create([record])
    stale = GenerationRecord.from_raw_data(world.item(record.id))
    world.records.commit([(record, lifecycle.failed(record, "timeout", "no answer", world.clock()))])

    assert world.item(record.id)["status"] == {"S": "FAILED"}
    assert record.status == "FAILED"
    with pytest.raises(UpdateError) as refused:  # the table no longer has it PENDING
        world.records.commit([(stale, lifecycle.failed(stale, "timeout", "again", world.clock()))])
    assert is_conditional_failure(refused.value)
    assert stale.status == "PENDING"  # a refused write leaves the object as it was
    world.records.flush_counters()
    assert totals(world.records.counter_items()) == world.records.recount()
