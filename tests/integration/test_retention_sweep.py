"""The retention sweep over real HTTP: records and objects made by the product's own paths in the
AWS emulator (moto server, HTTPS) from the Ideogram emulator's images, removed by the real
Sweeper when an injected clock says their retention has ended. Every outcome is read back from
the bucket and the table, and from the report's counters.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.status import Status
from ideogram_assets.retention.sweep import STOP_MARGIN_SECONDS
from local_stack.aws_emulator import AwsEmulator
from local_stack.fault_proxy import FaultProxy, FaultRule
from tests.integration.retention_world import (
    TASK_SECONDS,
    Ticks,
    World,
    nonzero,
    recount,
    s3_client,
)

# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy(aws: AwsEmulator) -> Iterator[FaultProxy]:
    """Between the sweep's S3 client and moto: fails the requests a test names, on the wire."""
    running = FaultProxy(aws.endpoint_url, aws.ca_bundle).start()
    yield running
    running.stop()


# -- helpers -------------------------------------------------------------------------------------


def sweep(world: World, *, dry_run: bool = False) -> dict[str, Any]:
    summary: dict[str, Any] = (
        world.sweeper().run(dry_run=dry_run, deadline=time.monotonic() + TASK_SECONDS).to_json()
    )
    return summary


def ids(records: list[GenerationRecord]) -> list[str]:
    return sorted(record.id for record in records)


def total_bytes(records: list[GenerationRecord]) -> int:
    return sum(int(record.size_bytes or 0) for record in records)


def delete_markers(world: World) -> dict[str, int]:
    """How many times each key was deleted (a versioned bucket keeps one marker per delete)."""
    counted: dict[str, int] = {}
    for key, _version, is_marker in world.versions():
        if is_marker:
            counted[key] = counted.get(key, 0) + 1
    return counted


# -- expiry per class ----------------------------------------------------------------------------


def test_short_images_expire_after_their_days_while_standard_ones_stay(world: World) -> None:
    created = world.clock()
    short = world.generate("short", count=3)
    standard = world.generate("standard", count=2)
    assert {record.status for record in short + standard} == {Status.STORED}
    policy = world.settings.retention
    assert {record.expires_on for record in short} == {
        (created + timedelta(days=policy.short_days)).date().isoformat()
    }
    assert {record.expires_on for record in standard} == {
        (created + timedelta(days=policy.standard_days)).date().isoformat()
    }
    assert world.counters() == recount(world.record_items().values())
    assert world.counters()["byRetentionClass"] == {
        "short": {"images": 3, "bytes": total_bytes(short)},
        "standard": {"images": 2, "bytes": total_bytes(standard)},
    }

    # The day before the short images' last day: nothing has expired yet.
    world.clock.current = created + timedelta(days=policy.short_days - 1)
    assert sweep(world)["counts"] == {}
    assert world.object_keys() == {record.key for record in short + standard}

    # Their last day: exactly the short images go, their objects and their records.
    world.clock.current = created + timedelta(days=policy.short_days)
    summary = sweep(world)
    assert summary["complete"] is True
    assert summary["counts"] == {"deleted": 3}
    assert sorted(summary["ids"]["deleted"]) == ids(short)
    assert summary["bytes"] == {"deleted": total_bytes(short)}
    assert world.object_keys() == {record.key for record in standard}
    assert sorted(world.record_items()) == ids(standard)
    assert delete_markers(world) == {record.key: 1 for record in short}

    # The report's counters follow, and agree with a recount of the table.
    report = world.report()
    counters = {name: nonzero(report[name]) for name in ("byStatus", "byRetentionClass")}
    assert counters == recount(world.record_items().values())
    assert counters == {
        "byStatus": {"STORED": {"images": 2, "bytes": total_bytes(standard)}},
        "byRetentionClass": {"standard": {"images": 2, "bytes": total_bytes(standard)}},
    }


# -- failures ------------------------------------------------------------------------------------


def test_an_object_s3_would_not_delete_keeps_its_record_and_a_later_run_deletes_it(
    world: World, aws: AwsEmulator, proxy: FaultProxy
) -> None:
    created = world.clock()
    [refused] = world.generate("short")
    world.clock.advance(days=1)
    [other] = world.generate("short")
    # S3 refuses every DeleteObjects call that names the first image's key (AccessDenied is not
    # retried, so no backoff). The other image expires a day later but goes in the same call (a
    # call takes up to 1,000 keys, whatever their day), so S3 refuses it too.
    rule = proxy.inject(
        FaultRule(
            method="POST",
            path=r"[?&]delete",
            body=re.escape(refused.key),
            status=403,
            error_code="AccessDenied",
        )
    )
    sweeper = world.sweeper(s3=s3_client(aws, endpoint_url=proxy.url))
    try:
        # The sweep did not run on the first image's last day: today's run covers both days.
        world.clock.current = created + timedelta(days=world.settings.retention.short_days + 1)
        summary = sweeper.run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS).to_json()
    finally:
        proxy.clear()
    assert rule.failed == 1  # one call for both days
    assert summary["counts"] == {"object_delete_failed": 2}
    assert sorted(summary["ids"]["object_delete_failed"]) == sorted([refused.id, other.id])
    assert world.object_keys() == {refused.key, other.key}
    assert sorted(world.record_items()) == sorted([refused.id, other.id])
    assert {item["status"]["S"] for item in world.record_items().values()} == {"STORED"}
    assert world.counters() == recount(world.record_items().values())

    # The next day's scheduled run, with S3 answering again, goes back to the first image's day
    # (the checkpoint stopped there) and deletes both (objects, then records).
    world.clock.advance(days=1)
    summary = sweeper.run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS).to_json()
    assert summary["counts"] == {"deleted": 2}
    assert sorted(summary["ids"]["deleted"]) == sorted([refused.id, other.id])
    assert world.object_keys() == set()
    assert world.record_items() == {}
    assert world.counters() == {"byStatus": {}, "byRetentionClass": {}}


# -- dry run -------------------------------------------------------------------------------------


def test_a_dry_run_lists_what_would_be_deleted_and_changes_nothing(world: World) -> None:
    created = world.clock()
    short = world.generate("short", count=2)
    world.generate("standard")
    world.clock.current = created + timedelta(days=world.settings.retention.short_days)
    table_before, versions_before, counters_before = world.items(), world.versions(), world.counters()

    summary = sweep(world, dry_run=True)

    assert summary["dryRun"] is True
    assert summary["complete"] is True
    assert summary["counts"] == {"would_delete": 2}
    assert sorted(summary["ids"]["would_delete"]) == ids(short)
    assert summary["bytes"] == {"would_delete": total_bytes(short)}
    # Records, counters and the checkpoint (all in the table), and every object version: unchanged.
    assert sorted(world.items(), key=repr) == sorted(table_before, key=repr)
    assert world.checkpoint("sweep") == {}
    assert world.versions() == versions_before
    assert world.counters() == counters_before

    # The real run then does what the dry run said.
    assert sorted(sweep(world)["ids"]["deleted"]) == ids(short)


# -- checkpoint ----------------------------------------------------------------------------------


def test_a_sweep_out_of_time_stops_at_a_checkpoint_and_the_next_run_finishes_the_work(world: World) -> None:
    created = world.clock()
    batches: list[list[GenerationRecord]] = []
    for _ in range(3):  # images generated on three days expire on three days
        batches.append(world.generate("short", count=2))
        world.clock.advance(days=1)
    everything = [record for batch in batches for record in batch]
    last_day = created + timedelta(days=world.settings.retention.short_days + 2)
    world.clock.current = last_day

    # The first run (no checkpoint) starts FIRST_RUN_LOOKBACK_DAYS back; each day's step costs a
    # second of an injected clock, and the deadline leaves room for only six of the eight days.
    ticks = Ticks()
    first = world.sweeper(ticks=ticks).run(dry_run=False, deadline=STOP_MARGIN_SECONDS + 6.5)
    assert first.complete is False
    swept_through = date.fromisoformat(first.details["sweptThrough"])
    assert swept_through < last_day.date()
    deleted_first = sorted(first.ids.get("deleted", []))
    expired_by_then = [
        record for record in everything if date.fromisoformat(str(record.expires_on)) <= swept_through
    ]
    assert deleted_first == ids(expired_by_then)
    assert 0 < len(deleted_first) < len(everything)
    assert world.checkpoint("sweep")["next_day"]["S"] == (swept_through + timedelta(days=1)).isoformat()

    # The next run goes on from the checkpoint and deletes the rest, nothing twice.
    second = world.sweeper().run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS)
    assert second.complete is True
    deleted_second = sorted(second.ids.get("deleted", []))
    assert set(deleted_first).isdisjoint(deleted_second)
    assert sorted(deleted_first + deleted_second) == ids(everything)
    assert set(second.counts) == {"deleted"}
    assert world.record_items() == {}
    assert world.object_keys() == set()
    assert delete_markers(world) == {record.key: 1 for record in everything}
    assert world.counters() == {"byStatus": {}, "byRetentionClass": {}}


# -- concurrency ---------------------------------------------------------------------------------


def test_two_sweeps_at_once_delete_and_count_each_record_once(world: World, aws: AwsEmulator) -> None:
    created = world.clock()
    expired = world.generate("short", count=6) + world.generate("short", count=6)
    kept = world.generate("standard", count=2)
    world.clock.current = created + timedelta(days=world.settings.retention.short_days)
    # Two execution environments: a record store and an S3 client each, started together.
    sweepers = [world.sweeper(records=world.record_store(), s3=s3_client(aws)) for _ in range(2)]
    start = threading.Barrier(len(sweepers))
    summaries: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout=10)
            summaries.append(
                sweepers[index].run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS).to_json()
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(sweepers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(summaries) == 2
    assert all(summary["complete"] for summary in summaries)
    assert sum(summary["counts"].get("deleted", 0) for summary in summaries) == len(expired)
    deleted = [generation_id for summary in summaries for generation_id in summary["ids"].get("deleted", [])]
    assert sorted(deleted) == ids(expired)
    assert sum(summary["bytes"].get("deleted", 0) for summary in summaries) == total_bytes(expired)
    assert sorted(world.record_items()) == ids(kept)
    assert world.object_keys() == {record.key for record in kept}
    # Decremented once per record: only the standard images are counted, nothing below zero.
    assert world.counters() == recount(world.record_items().values())
    assert world.counters()["byRetentionClass"] == {"standard": {"images": 2, "bytes": total_bytes(kept)}}
