"""The retention benchmarks' pure logic: counting calls, reading moto's log, the targets' bounds,
the fixture's shape and the verdicts built from counts.

Nothing here talks to a server: calls are fed to the counter as botocore would hand them over,
and the counts in the verdict tests are made up.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import botocore.session
import pytest

from bench.retention_fixture import RecordFactory, day_spread, item_of, tiny_png
from bench.retention_reconcile import OPEN_READS, SizeResult, open_reads_bound, rescue_seconds
from bench.retention_reconcile import verdicts as reconcile_verdicts
from bench.retention_run import ArmResult
from bench.retention_sweep import SWEEP_NOW, Scale, SweepFixture, plan, side_by_side
from bench.retention_sweep import ScaleResult as SweepScaleResult
from bench.retention_sweep import verdicts as sweep_verdicts
from bench.wire_counts import (
    WireCounter,
    WireCounts,
    items_read,
    items_written,
    log_tally,
    mismatch,
    objects_deleted,
    per_day_delete_floor,
    read_key,
    record_call,
    sweep_bounds,
)
from ideogram_assets.retention.policy import RetentionPolicy

POLICY = RetentionPolicy(short_days=30, standard_days=365, grace_days=7)

# ---------------------------------------------------------------- what one call reads and writes


def test_a_scan_or_query_reads_its_scanned_count_whatever_its_filter_kept() -> None:
    assert items_read("Scan", {"ScannedCount": 1000, "Count": 3}) == 1000
    assert items_read("Query", {"ScannedCount": 12, "Count": 12}) == 12


def test_a_get_reads_the_items_it_returned() -> None:
    assert items_read("GetItem", {"Item": {"PK": {"S": "a"}}}) == 1
    assert items_read("GetItem", {}) == 0
    answer = {"Responses": {"t": [{"id": 1}, {"id": 2}], "u": [{"id": 3}]}}
    assert items_read("BatchGetItem", answer) == 3
    assert items_read("PutItem", {}) == 0


def test_writes_count_the_items_they_name() -> None:
    transaction: dict[str, Any] = {"TransactItems": [{"Delete": {}}] * 100}
    assert items_written("TransactWriteItems", transaction) == 100
    batch: dict[str, Any] = {"RequestItems": {"t": [{"PutRequest": {}}] * 25, "u": [{"DeleteRequest": {}}]}}
    assert items_written("BatchWriteItem", batch) == 26
    assert items_written("DeleteItem", {"Key": {}}) == 1
    assert items_written("Query", {}) == 0


def test_s3_deletes_count_their_keys() -> None:
    assert objects_deleted("DeleteObjects", {"Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}}) == 2
    assert objects_deleted("DeleteObject", {"Key": "a"}) == 1
    assert objects_deleted("PutObject", {"Key": "a"}) == 0


def test_reads_are_filed_under_their_index() -> None:
    assert read_key("Query", {"IndexName": "ByExpiryDay"}) == "Query ByExpiryDay"
    assert read_key("Scan", {"TableName": "t"}) == "Scan"


def test_record_call_counts_reads_even_when_the_call_failed_and_writes_only_when_it_succeeded() -> None:
    counts = WireCounts()
    record_call(counts, "dynamodb", "Query", {"read_key": "Query ByOpenStatus"}, {"ScannedCount": 7}, 0.5)
    record_call(counts, "dynamodb", "TransactWriteItems", {"written": 100}, {}, 1.0)
    failed = {"Error": {"Code": "TransactionCanceledException"}}
    record_call(counts, "dynamodb", "TransactWriteItems", {"written": 100}, failed, 0.25)
    record_call(counts, "s3", "DeleteObjects", {"deleted": 1000}, {"Errors": [{"Key": "k"}]}, 0.1)

    assert counts.items_read == Counter({"Query ByOpenStatus": 7})
    assert counts.items_returned == Counter({"Query ByOpenStatus": 7})  # no Count: as read
    assert counts.items_written == Counter({"dynamodb.TransactWriteItems": 100})
    assert counts.objects_deleted == Counter({"s3.DeleteObjects": 999})
    assert counts.calls["dynamodb.TransactWriteItems"] == 2
    assert counts.seconds["dynamodb.TransactWriteItems"] == pytest.approx(1.25)


def test_wire_counts_survive_json_and_sum_by_service() -> None:
    counts = WireCounts()
    counts.requests.update({"dynamodb.Query": 8, "dynamodb.TransactWriteItems": 50, "s3.DeleteObjects": 5})
    counts.requests.update({"dynamodb.PutItem": 1, "dynamodb.UpdateItem": 3})
    counts.items_read.update({"Query ByExpiryDay": 5000})
    counts.seconds["dynamodb.Query"] += 1.5

    back = WireCounts.from_json(counts.to_json())

    assert back == counts
    assert back.service_requests("dynamodb") == 62
    assert back.dynamodb_write_requests == 54
    assert back.s3_delete_requests == 5
    assert back.dynamodb_items_read == 5000


def test_the_counter_attaches_to_a_client_without_sending_anything() -> None:
    client = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="https://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    counter = WireCounter()
    counter.attach(client)
    counter.attach(client)  # the same client twice is attached once
    model = client.meta.service_model.operation_model("Query")
    context: dict[str, Any] = {}

    client.meta.events.emit(
        "before-parameter-build.dynamodb.Query",
        params={"TableName": "t", "IndexName": "ByExpiryDay"},
        model=model,
        context=context,
    )
    client.meta.events.emit("before-send.dynamodb.Query", request=None)
    client.meta.events.emit(
        "after-call.dynamodb.Query",
        http_response=None,
        parsed={"ScannedCount": 3, "Count": 3},
        model=model,
        context=context,
    )

    assert counter.counts.requests == Counter({"dynamodb.Query": 1})
    assert counter.counts.items_read == Counter({"Query ByExpiryDay": 3})
    assert "dynamodb.Query" in counter.first_call


# ---------------------------------------------------------------- moto's log


MOTO_LOG = (
    " * Running on https://127.0.0.1:56077\n"
    '127.0.0.1 - - [27/Nov/2026 02:58:55] "GET /moto-api/ HTTP/1.1" 200 -\n'
    '127.0.0.1 - - [27/Nov/2026 02:58:56] "POST /bkt?delete HTTP/1.1" 200 -\n'
    '127.0.0.1 - - [27/Nov/2026 02:58:56] "\x1b[35m\x1b[1mDELETE /bkt/zz HTTP/1.1\x1b[0m" 204 -\n'
    '127.0.0.1 - - [27/Nov/2026 02:58:56] "POST / HTTP/1.1" 200 -\n'
    '127.0.0.1 - - [27/Nov/2026 02:58:56] "\x1b[33mPOST / HTTP/1.1\x1b[0m" 400 -\n'
)


def test_the_log_tally_files_dynamodb_and_s3_requests_and_skips_moto_own_api() -> None:
    assert log_tally(MOTO_LOG) == Counter({"dynamodb": 2, "s3": 2})


def test_a_mismatch_names_the_service_that_disagrees() -> None:
    counts = WireCounts()
    counts.requests.update({"dynamodb.Query": 2, "s3.DeleteObject": 2})
    assert mismatch(counts, log_tally(MOTO_LOG)) is None
    counts.requests["s3.DeleteObject"] += 1
    assert mismatch(counts, log_tally(MOTO_LOG)) == "s3: counted 3, the emulator logged 2"


# ---------------------------------------------------------------- bounds


def test_sweep_bounds_follow_the_targets() -> None:
    bounds = sweep_bounds(expired=5000, deleted=5000)
    assert bounds.items_read == 6000 + 100
    assert bounds.s3_delete_requests == 6
    assert bounds.dynamodb_write_requests == 200 + 10
    assert sweep_bounds(expired=500, deleted=499).dynamodb_write_requests == 20 + 10


def test_a_sweep_that_never_mixes_days_needs_a_delete_request_per_started_thousand_of_each_day() -> None:
    assert per_day_delete_floor({"d1": 1400, "d2": 1100, "d3": 1300, "d4": 1200}) == 8
    assert per_day_delete_floor({"d1": 1000, "d2": 0, "d3": 1}) == 2


def test_the_open_records_bound() -> None:
    assert open_reads_bound(1000) == 1300


# ---------------------------------------------------------------- the fixture


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (5000, (0.28, 0.22, 0.26, 0.24), [1400, 1100, 1300, 1200]),
        (10, (1, 1, 1), [4, 3, 3]),
        (0, (1, 2), [0, 0]),
    ],
)
def test_day_spread_keeps_the_total(total: int, weights: tuple[float, ...], expected: list[int]) -> None:
    spread = day_spread(total, weights)
    assert spread == expected
    assert sum(spread) == total


def test_day_spread_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="weights"):
        day_spread(10, ())
    with pytest.raises(ValueError, match="weights"):
        day_spread(10, (0, 0))


def test_fixture_records_are_the_product_records_with_their_index_keys() -> None:
    factory = RecordFactory("assets-bucket", POLICY, tiny_png())
    record = factory.stored(SWEEP_NOW - timedelta(days=365), "standard", random.Random(1))
    item = item_of(record)
    assert item["status"] == {"S": "STORED"}
    assert item["expiresOn"] == {"S": SWEEP_NOW.date().isoformat()}
    assert item["key"]["S"].endswith(f"/{record.id}.png")
    assert "openStatus" not in item
    assert "originalUrl" not in item  # dropped once stored, as the service does


def test_the_sweep_plan_expires_exactly_the_planned_records_on_the_planned_days() -> None:
    factory = RecordFactory("assets-bucket", POLICY, tiny_png())
    fixture = plan(Scale(records=400, expired=40), factory, POLICY)

    assert len(fixture.expired_items) == 40
    assert len(fixture.background_items) == 360
    assert sum(fixture.expired_per_day.values()) == 40
    assert {item["expiresOn"]["S"] for item in fixture.expired_items} == set(fixture.expired_per_day)
    today = SWEEP_NOW.date().isoformat()
    later = [item["expiresOn"]["S"] for item in fixture.background_items if "expiresOn" in item]
    assert all(day > today for day in later)
    assert len(later) == sum(fixture.later_days.values())
    assert any(item.get("legalHold") == {"BOOL": True} for item in fixture.background_items)
    assert any(item["retentionClass"] == {"S": "permanent"} for item in fixture.background_items)


# ---------------------------------------------------------------- verdicts


def _arm(seconds: float, deleted: int, **requests: int) -> ArmResult:
    counts = WireCounts()
    counts.requests.update({name.replace("__", "."): count for name, count in requests.items()})
    return ArmResult(seconds=seconds, outcome={"counts": {"deleted": deleted}}, counts=counts, first_call={})


def test_sweep_verdicts_compare_the_counts_with_their_bounds() -> None:
    scale = Scale(records=100_000, expired=5000)
    sweep = _arm(100.0, 5000, dynamodb__Query=8, dynamodb__TransactWriteItems=50, s3__DeleteObjects=8)
    sweep.counts.items_read["Query ByExpiryDay"] = 5000

    read, deletes, writes = sweep_verdicts(scale, [sweep])

    assert (read.candidate, read.baseline, read.passed) == ((5.0,), (6.1,), True)
    assert (deletes.candidate, deletes.baseline, deletes.passed) == ((8.0,), (6.0,), False)
    assert (writes.candidate, writes.baseline, writes.passed) == ((50.0,), (210.0,), True)


def test_the_side_by_side_table_shows_both_sides_and_the_day_floor() -> None:
    scale = Scale(records=10_000, expired=500)
    fixture = SweepFixture(expired_per_day={"2031-03-11": 140, "2031-03-12": 360})
    sweep = _arm(10.0, 500, dynamodb__TransactWriteItems=6, s3__DeleteObjects=2)
    reference = _arm(20.0, 500, dynamodb__DeleteItem=500, s3__DeleteObject=500, dynamodb__Scan=3)

    table = side_by_side([SweepScaleResult(scale, fixture, sweep, reference, load_seconds=12.0)])

    assert "| S3 delete requests | 2 | 500 | 0.004 |" in table
    assert "| DynamoDB write requests | 6 | 500 | 0.012 |" in table
    assert "| wall time (s) | 10.0 | 20.0 | 0.500 |" in table
    assert "at least 2 of them" in table


def test_reconcile_verdicts_bound_the_open_reads_and_compare_table_sizes() -> None:
    def run(open_reads: int) -> ArmResult:
        arm = _arm(30.0, 0)
        arm.counts.items_read[OPEN_READS] = open_reads
        return arm

    small = SizeResult(10_000, [run(1000)], load_seconds=10.0, image_bytes=1)
    large = SizeResult(100_000, [run(1000)], load_seconds=100.0, image_bytes=1)

    first, second, growth = reconcile_verdicts([small, large])

    assert (first.candidate, first.baseline, first.passed) == ((1.0,), (1.3,), True)
    assert second.passed
    assert (growth.ratio, growth.passed) == (1.0, True)


def test_the_rescue_phase_ends_where_the_orphan_listing_starts() -> None:
    arm = ArmResult(seconds=40.0, outcome={}, counts=WireCounts(), first_call={"s3.ListObjectsV2": 31.5})
    assert rescue_seconds(arm) == 31.5
    assert rescue_seconds(_arm(40.0, 0)) == 40.0
