"""The storage report from counter totals: one row per value of each dimension, the whole from
the status dimension (every record has exactly one status), the unsafe rate and cost."""

from __future__ import annotations

from datetime import UTC, datetime

from ideogram_assets.records.counters import FIELDS, Fields, RecordState, recount
from ideogram_assets.records.status import Status
from ideogram_assets.storage_report import storage_report

NOW = datetime(2026, 11, 28, 10, 0, 0, 250_000, tzinfo=UTC)


def fields(**values: int) -> Fields:
    return {**dict.fromkeys(FIELDS, 0), **values}


def test_a_report_of_no_counters_has_zero_totals_and_no_rows() -> None:
    report = storage_report({}, NOW)
    assert report.generated_at == "2026-11-28T10:00:00.250Z"
    assert report.totals.model_dump() == {
        "value": "all",
        "records": 0,
        "images": 0,
        "bytes": 0,
        "generated": 0,
        "unsafe": 0,
        "unsafeRate": 0.0,
        "costUsd": 0.0,
    }
    assert report.by_model == report.by_month == report.by_tag == []


def test_a_row_shows_each_field_with_cost_in_dollars_and_the_unsafe_rate() -> None:
    counted = {
        "model": {
            "V_3": fields(records=8, images=5, bytes=5000, generated=7, unsafe=2, costMicros=560_000),
        }
    }
    (row,) = storage_report(counted, NOW).by_model
    assert row.model_dump() == {
        "value": "V_3",
        "records": 8,
        "images": 5,
        "bytes": 5000,
        "generated": 7,
        "unsafe": 2,
        "unsafeRate": 0.2857,
        "costUsd": 0.56,
    }


def test_a_row_with_nothing_generated_has_an_unsafe_rate_of_zero() -> None:
    (row,) = storage_report({"style": {"NONE": fields(records=3)}}, NOW).by_style
    assert row.unsafe_rate == 0.0


def test_cost_keeps_micro_dollar_precision() -> None:
    (row,) = storage_report({"tag": {"fox": fields(records=1, costMicros=1)}}, NOW).by_tag
    assert row.cost_usd == 0.000001


def test_totals_are_the_sum_over_statuses_not_over_tags_or_months() -> None:
    counted = {
        "status": {
            "STORED": fields(records=3, images=3, bytes=300, generated=3, costMicros=240_000),
            "UNSAFE": fields(records=1, generated=1, unsafe=1, costMicros=80_000),
            "FAILED": fields(records=2),
        },
        # A record with two tags is in both tag rows: the tags add up to more than the whole.
        "tag": {"a": fields(records=3, images=3), "b": fields(records=3, images=3)},
    }
    totals = storage_report(counted, NOW).totals
    assert (totals.records, totals.images, totals.bytes, totals.generated, totals.unsafe) == (6, 3, 300, 4, 1)
    assert totals.unsafe_rate == 0.25
    assert totals.cost_usd == 0.32


def test_month_rows_are_newest_first() -> None:
    counted = {
        "month": {"2026-09": fields(records=9), "2026-11": fields(records=1), "2025-12": fields(records=5)}
    }
    assert [row.value for row in storage_report(counted, NOW).by_month] == ["2026-11", "2026-09", "2025-12"]


def test_other_rows_are_biggest_first_then_by_name() -> None:
    counted = {"tag": {"b": fields(records=2), "c": fields(records=5), "a": fields(records=2)}}
    assert [row.value for row in storage_report(counted, NOW).by_tag] == ["c", "a", "b"]


def test_each_dimension_fills_its_own_list() -> None:
    counted = recount(
        [
            RecordState(
                status=Status.STORED,
                size_bytes=10,
                retention_class="short",
                model="V_3",
                style_type="DESIGN",
                month="2026-11",
                tags=frozenset({"fox"}),
                answered=True,
                cost_micros=5,
            )
        ]
    )
    report = storage_report(counted, NOW)
    assert [row.value for row in report.by_model] == ["V_3"]
    assert [row.value for row in report.by_style] == ["DESIGN"]
    assert [row.value for row in report.by_tag] == ["fox"]
    assert [row.value for row in report.by_month] == ["2026-11"]
    assert [row.value for row in report.by_status] == ["STORED"]
    assert [row.value for row in report.by_retention_class] == ["short"]
    assert report.totals.images == 1


def test_the_report_is_written_with_camel_case_names() -> None:
    body = storage_report({"status": {"STORED": fields(records=1)}}, NOW).model_dump(mode="json")
    assert set(body) == {
        "generatedAt",
        "totals",
        "byModel",
        "byStyle",
        "byTag",
        "byMonth",
        "byStatus",
        "byRetentionClass",
    }
    assert set(body["totals"]) == {
        "value",
        "records",
        "images",
        "bytes",
        "generated",
        "unsafe",
        "unsafeRate",
        "costUsd",
    }
