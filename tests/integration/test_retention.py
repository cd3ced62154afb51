"""Retention over real HTTP: pinning and legal hold, the reconciler and the report, with records
and objects made by the product's own paths in the AWS emulator (moto server, HTTPS) from the
Ideogram emulator's images (HTTP), and an injected clock so that time passes without sleeping.
Every outcome is read back from the bucket and the table. (The sweep's own behaviour, failures,
checkpoints and concurrency are in test_retention_sweep.py.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import RecordStore
from ideogram_assets.records.status import Status
from ideogram_assets.retention.reconcile import PENDING_SETTLE, ReconcileOptions, Reconciler
from tests.integration.retention_world import (
    REGION,
    TASK_SECONDS,
    World,
    nonzero,
    recount,
    reset_faults,
    set_faults,
    sha256,
)

# -- helpers -------------------------------------------------------------------------------------


def sweep(world: World) -> dict[str, Any]:
    summary: dict[str, Any] = (
        world.sweeper().run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS).to_json()
    )
    return summary


def reconcile(
    world: World, *, dry_run: bool = False, orphan_grace: timedelta | None = None
) -> dict[str, Any]:
    reconciler = world.reconciler(orphan_grace=orphan_grace)
    summary: dict[str, Any] = reconciler.run(
        dry_run=dry_run, deadline=time.monotonic() + TASK_SECONDS
    ).to_json()
    return summary


def every_download_of_the_first_image_fails(world: World, times: int | None = None) -> None:
    """The emulator answers the image's download with another content type (not retried)."""
    fault: dict[str, Any] = {"index": 0, "fault": "wrong_content_type"}
    if times is not None:
        fault["times"] = times
    set_faults(world.emulator, image_faults=[fault])


def put_orphan(world: World) -> tuple[str, datetime]:
    """An object under images/ with no record (a stray upload): its key and LastModified."""
    key = f"images/{datetime.now(UTC):%Y/%m/%d}/{uuid.uuid4().hex}.png"
    world.s3.put_object(
        Bucket=world.bucket, Key=key, Body=b"\x89PNG\r\n\x1a\n" + bytes(64), ContentType="image/png"
    )
    modified: datetime = world.s3.head_object(Bucket=world.bucket, Key=key)["LastModified"]
    return key, modified


# -- pinning and legal hold ----------------------------------------------------------------------


def test_pinned_and_held_images_are_never_swept_and_no_lifecycle_rule_matches_their_tags(
    world: World,
) -> None:
    created = world.clock()
    pinned, held, plain = world.generate("short", count=3)
    changes = world.retention_changes()
    changes.change(pinned.id, retention_class="permanent", legal_hold=None)
    changes.change(held.id, retention_class=None, legal_hold=True)

    assert world.object_tag(pinned.key) == "permanent"
    assert world.object_tag(held.key) == "legal-hold"
    assert world.object_tag(plain.key) == "short"
    items = world.record_items()
    assert items[pinned.id]["retentionClass"] == {"S": "permanent"}
    assert items[held.id]["legalHold"] == {"BOOL": True}
    assert items[held.id]["retentionClass"] == {"S": "short"}  # kept for when the hold is released
    for record in (pinned, held):
        assert "expiresOn" not in items[record.id]
        assert "ttl" not in items[record.id]  # DynamoDB's backstop never deletes them either

    # The bucket's lifecycle rules (made from template.yaml) expire current objects only by the
    # short and standard tags: nothing expires an object tagged permanent or legal-hold.
    rules = world.s3.get_bucket_lifecycle_configuration(Bucket=world.bucket)["Rules"]
    expiring = [
        rule
        for rule in rules
        if {"Days", "Date"} & set(rule.get("Expiration", {}))
        and "images/".startswith(rule["Filter"].get("Prefix", ""))  # not the exports' own rule
    ]
    assert sorted((rule["Filter"]["Tag"]["Key"], rule["Filter"]["Tag"]["Value"]) for rule in expiring) == [
        ("retention-class", "short"),
        ("retention-class", "standard"),
    ]
    assert all(set(rule["Filter"]) == {"Tag"} for rule in expiring)

    # Past the short class's expiry: the sweep removes only the image that was neither.
    world.clock.current = created + timedelta(days=world.settings.retention.short_days + 1)
    assert sweep(world)["ids"] == {"deleted": [plain.id]}
    assert world.object_keys() == {pinned.key, held.key}
    assert sorted(world.record_items()) == sorted([pinned.id, held.id])
    assert world.counters() == recount(world.record_items().values())
    assert world.counters()["byRetentionClass"] == {
        "permanent": {"images": 1, "bytes": int(pinned.size_bytes or 0)},
        "short": {"images": 1, "bytes": int(held.size_bytes or 0)},
    }


def test_an_image_unpinned_or_released_from_hold_is_swept_once_past_its_expiry(world: World) -> None:
    created = world.clock()
    expiry_day = created + timedelta(days=world.settings.retention.short_days)
    early, late, held = world.generate("short", count=3)
    changes = world.retention_changes()
    for record in (early, late):
        changes.change(record.id, retention_class="permanent", legal_hold=None)
    changes.change(held.id, retention_class=None, legal_hold=True)

    # Unpinned before its retention ends: it expires on its own day again, tagged for the rule.
    world.clock.advance(days=1)
    changes.change(early.id, retention_class="short", legal_hold=None)
    assert world.object_tag(early.key) == "short"
    assert world.item(early.id)["expiresOn"] == {"S": expiry_day.date().isoformat()}
    world.clock.current = expiry_day
    assert sweep(world)["ids"] == {"deleted": [early.id]}

    # Pinned and held past that day, the others stay; unpinned and released a day later, the
    # next run removes them (their retention ended while they were kept).
    world.clock.advance(days=1)
    assert sweep(world)["counts"] == {}
    changes.change(late.id, retention_class="short", legal_hold=None)
    changes.change(held.id, retention_class=None, legal_hold=False)
    assert world.object_tag(late.key) == "short"
    assert world.object_tag(held.key) == "short"
    summary = sweep(world)
    assert sorted(summary["ids"].get("deleted", [])) == sorted([late.id, held.id])
    assert world.object_keys() == set()
    assert world.record_items() == {}
    assert world.counters() == {"byStatus": {}, "byRetentionClass": {}}


# -- reconcile -----------------------------------------------------------------------------------


def test_a_failed_image_whose_url_is_still_valid_is_rescued_with_the_emulators_bytes(world: World) -> None:
    every_download_of_the_first_image_fails(world, times=1)
    [record] = world.generate()
    assert record.status == Status.FAILED
    item = world.item(record.id)
    assert item["openStatus"] == {"S": "FAILED"}
    url = item["originalUrl"]["S"]
    expected = world.download(url)  # the emulator's image, as Ideogram serves it

    world.clock.advance(minutes=1)
    summary = reconcile(world)

    assert summary["counts"] == {"rescued": 1}
    assert summary["ids"]["rescued"] == [record.id]
    assert summary["bytes"] == {"rescued": len(expected)}
    item = world.item(record.id)
    assert item["status"] == {"S": "STORED"}
    assert item["sha256"] == {"S": sha256(expected)}
    assert item["sizeBytes"] == {"N": str(len(expected))}
    assert sha256(world.object_bytes(record.key)) == sha256(expected)
    assert world.object_tag(record.key) == "standard"
    for gone in ("openStatus", "originalUrl", "failureKind"):
        assert gone not in item
    assert "expiresOn" in item
    assert world.counters() == recount(world.record_items().values())
    assert world.counters()["byStatus"] == {"STORED": {"images": 1, "bytes": len(expected)}}


@pytest.mark.parametrize("world", [{"SHORT_RETENTION_DAYS": "1"}], indirect=True)
def test_an_image_rescued_after_its_retention_ended_expires_on_the_day_it_is_stored(world: World) -> None:
    set_faults(world.emulator, url_ttl_seconds=3 * 24 * 3600)  # Ideogram's URL lives three days
    every_download_of_the_first_image_fails(world, times=1)
    created = world.clock()
    [record] = world.generate("short")
    assert record.status == Status.FAILED

    # The daily sweep runs on; the reconciler gets to the image only two days later.
    for days in (1, 2):
        world.clock.current = created + timedelta(days=days)
        assert sweep(world)["counts"] == {}
    assert reconcile(world)["counts"] == {"rescued": 1}

    # Its one day has passed: it expires today (a day the sweep still reads), and goes today.
    assert world.item(record.id)["expiresOn"] == {"S": world.clock().date().isoformat()}
    assert sweep(world)["ids"] == {"deleted": [record.id]}
    assert world.object_keys() == set()
    assert world.counters() == {"byStatus": {}, "byRetentionClass": {}}


def test_a_pending_image_with_its_object_stored_is_verified_once_settled(world: World) -> None:
    # The generation uploaded the object, then its record update failed: still PENDING.
    record, png = world.uploaded_but_not_recorded()
    assert world.item(record.id)["status"] == {"S": "PENDING"}

    # Younger than the settle time, it may belong to a generation still running: left alone.
    world.clock.advance(seconds=PENDING_SETTLE.total_seconds() - 60)
    assert reconcile(world)["counts"] == {}
    assert world.item(record.id)["status"] == {"S": "PENDING"}

    world.clock.advance(minutes=2)
    summary = reconcile(world)
    assert summary["counts"] == {"verified": 1}
    item = world.item(record.id)
    assert item["status"] == {"S": "STORED"}
    assert item["sha256"] == {"S": sha256(png)}  # computed from the stored bytes, read back
    assert item["sizeBytes"] == {"N": str(len(png))}
    assert "openStatus" not in item
    assert world.counters() == recount(world.record_items().values())


def test_an_image_another_reconcile_run_stored_first_is_changed_meanwhile_not_an_error(
    world: World,
) -> None:
    """Two runs at once: the other one verifies the image (its STORED write moves index items, a
    transaction) between this run's read and its write."""
    record, _ = world.uploaded_but_not_recorded()
    world.clock.advance(seconds=PENDING_SETTLE.total_seconds() + 60)

    class RacedStore(RecordStore):
        def open_records(self, status: Status, created_before: str) -> Iterator[GenerationRecord]:
            for found in super().open_records(status, created_before):
                assert reconcile(world)["counts"] == {"verified": 1}  # the other run gets there first
                yield found

    raced = RacedStore(world.table, REGION, world.aws.client("dynamodb"))
    reconciler = Reconciler(
        settings=world.settings,
        records=raced,
        images=world.image_store(),
        s3=world.s3,
        now=world.clock,
        options=ReconcileOptions(),
    )
    summary = reconciler.run(dry_run=False, deadline=time.monotonic() + TASK_SECONDS).to_json()

    assert summary["counts"] == {"changed_meanwhile": 1}
    assert world.item(record.id)["status"] == {"S": "STORED"}
    assert world.counters() == recount(world.record_items().values())


def test_a_failed_image_whose_url_has_expired_is_lost_and_keeps_its_cost(world: World) -> None:
    every_download_of_the_first_image_fails(world)
    [record] = world.generate()
    item = world.item(record.id)
    assert item["status"] == {"S": "FAILED"}
    cost = item["costUsd"]
    expires = datetime.fromisoformat(item["originalUrlExpiresAt"]["S"])

    world.clock.current = expires + timedelta(minutes=1)
    summary = reconcile(world)

    assert summary["counts"] == {"lost": 1}
    item = world.item(record.id)
    assert item["status"] == {"S": "LOST"}
    assert item["failureKind"] == {"S": "url_expired"}
    assert item["costUsd"] == cost
    assert "openStatus" not in item
    assert "originalUrl" not in item
    assert world.object_keys() == set()
    assert world.counters()["byStatus"] == {"LOST": {"images": 1, "bytes": 0}}
    assert reconcile(world)["counts"] == {}  # terminal: never read again


def test_a_pending_image_without_a_url_is_closed_as_failed_unanswered(world: World) -> None:
    # The generation stopped after writing its PENDING record, before Ideogram's answer was recorded.
    record = world.pending()
    world.clock.advance(minutes=10)
    summary = reconcile(world)

    assert summary["counts"] == {"closed_unanswered": 1}
    item = world.item(record.id)
    assert item["status"] == {"S": "FAILED"}
    assert item["failureKind"] == {"S": "ideogram_unanswered"}
    assert "openStatus" not in item  # out of the open index: visible, never read again
    assert world.counters()["byStatus"] == {"FAILED": {"images": 1, "bytes": 0}}
    assert reconcile(world)["counts"] == {}


def test_an_orphan_object_is_kept_through_its_grace_period_and_deleted_after_it(world: World) -> None:
    [stored] = world.generate()
    orphan, modified = put_orphan(world)
    grace = ReconcileOptions().orphan_grace

    world.clock.current = modified + grace - timedelta(minutes=1)
    summary = reconcile(world)
    assert "orphan_deleted" not in summary["counts"]
    assert world.object_keys() == {stored.key, orphan}

    world.clock.current = modified + grace + timedelta(minutes=1)
    summary = reconcile(world)
    assert summary["counts"]["orphan_deleted"] == 1
    assert summary["ids"]["orphan_deleted"] == [orphan]
    # The stored image is as old, but has its record: it stays.
    assert world.object_keys() == {stored.key}
    assert world.item(stored.id)["status"] == {"S": "STORED"}


def test_a_stored_image_whose_object_is_gone_is_missing_after_the_audit_of_its_day(world: World) -> None:
    created = world.clock()
    [record] = world.generate()
    world.s3.delete_object(Bucket=world.bucket, Key=record.key)  # removed behind the product's back

    # Each run audits one day, today first, then a day further back each run.
    world.clock.advance(days=2)
    audited: list[str] = []
    for _ in range(2):
        summary = reconcile(world)
        audited.append(summary["auditedDay"])
        assert summary["counts"] == {}
        assert world.item(record.id)["status"] == {"S": "STORED"}
    summary = reconcile(world)
    audited.append(summary["auditedDay"])

    assert audited == [(created + timedelta(days=offset)).date().isoformat() for offset in (2, 1, 0)]
    assert summary["counts"] == {"missing": 1}
    item = world.item(record.id)
    assert item["status"] == {"S": "MISSING"}
    assert item["failureKind"] == {"S": "object_missing"}
    assert "expiresOn" not in item  # nothing left for the sweep
    assert world.counters() == recount(world.record_items().values())
    assert world.counters() == {
        "byStatus": {"MISSING": {"images": 1, "bytes": int(record.size_bytes or 0)}},
        "byRetentionClass": {},
    }


def test_a_reconcile_dry_run_lists_its_plan_and_changes_nothing(world: World) -> None:
    every_download_of_the_first_image_fails(world, times=1)
    [failed] = world.generate()
    reset_faults(world.emulator)
    unanswered = world.pending()
    orphan, _modified = put_orphan(world)
    # Past the settle time; a short orphan grace keeps the failed image's URL valid meanwhile.
    world.clock.advance(seconds=PENDING_SETTLE.total_seconds() + 1)
    [missing] = world.generate()  # generated today, so that today's audit reads it
    world.s3.delete_object(Bucket=world.bucket, Key=missing.key)
    table_before, versions_before, counters_before = world.items(), world.versions(), world.counters()

    summary = reconcile(world, dry_run=True, orphan_grace=timedelta(seconds=1))

    assert summary["dryRun"] is True
    assert summary["ids"] == {
        "rescued": [failed.id],
        "closed_unanswered": [unanswered.id],
        "orphan_deleted": [orphan],
        "missing": [missing.id],
    }
    assert sorted(world.items(), key=repr) == sorted(table_before, key=repr)
    assert world.versions() == versions_before
    assert world.counters() == counters_before
    assert world.checkpoint("reconcile-audit") == {}
    assert world.item(failed.id)["status"] == {"S": "FAILED"}  # nothing downloaded either


# -- report --------------------------------------------------------------------------------------


def assert_report_matches_a_recount(world: World) -> dict[str, Any]:
    """The report's counts and bytes equal those counted from a full read of the table."""
    summary = world.report()
    items = world.record_items().values()
    assert {name: nonzero(summary[name]) for name in ("byStatus", "byRetentionClass")} == recount(items)
    today = world.clock().date()
    for horizon in (7, 30):
        soon = [
            item
            for item in items
            if "expiresOn" in item
            and today < date.fromisoformat(item["expiresOn"]["S"]) <= today + timedelta(days=horizon)
        ]
        assert summary["expiring"][f"next{horizon}Days"] == {
            "images": len(soon),
            "bytes": sum(int(item["sizeBytes"]["N"]) for item in soon),
        }
    return summary


def test_the_report_counts_images_and_bytes_as_a_full_recount_of_the_table_does(world: World) -> None:
    created = world.clock()
    policy = world.settings.retention
    short = world.generate("short", count=3)
    standard = world.generate("standard", count=2)
    [unsafe] = world.generate(prompt="an unsafe picture")  # the emulator's unsafe rule
    every_download_of_the_first_image_fails(world)
    [lost] = world.generate()
    reset_faults(world.emulator)
    unanswered = world.pending()
    changes = world.retention_changes()
    changes.change(standard[0].id, retention_class="permanent", legal_hold=None)
    changes.change(short[0].id, retention_class=None, legal_hold=True)
    assert_report_matches_a_recount(world)

    # Two hours on: the failed image's URL has expired (LOST), the unanswered one is closed
    # (FAILED), and today's audit finds the object deleted from under a new image (MISSING).
    world.clock.advance(hours=2)
    [gone] = world.generate()
    world.s3.delete_object(Bucket=world.bucket, Key=gone.key)
    reconcile(world)
    statuses = {generation_id: item["status"]["S"] for generation_id, item in world.record_items().items()}
    assert statuses[unsafe.id] == "UNSAFE"
    assert statuses[lost.id] == "LOST"
    assert statuses[unanswered.id] == "FAILED"
    assert statuses[gone.id] == "MISSING"

    # Days later the short images are about to expire (the report's next 7 days), then are swept.
    world.clock.current = created + timedelta(days=policy.short_days - 3)
    summary = assert_report_matches_a_recount(world)
    assert summary["expiring"]["next7Days"]["images"] == 2  # the held one never expires
    world.clock.current = created + timedelta(days=policy.short_days)
    assert sorted(sweep(world)["ids"]["deleted"]) == sorted(record.id for record in short[1:])

    summary = assert_report_matches_a_recount(world)
    assert {status: entry["images"] for status, entry in nonzero(summary["byStatus"]).items()} == {
        "STORED": 3,  # pinned, held, the standard image not yet expired
        "MISSING": 1,
        "UNSAFE": 1,
        "LOST": 1,
        "FAILED": 1,
    }
    assert {name: entry["images"] for name, entry in nonzero(summary["byRetentionClass"]).items()} == {
        "permanent": 1,
        "short": 1,
        "standard": 1,
    }
