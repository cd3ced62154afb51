"""The storage report from the counter items (records.counters): rows by dimension and totals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ideogram_assets.api.reports import ReportRow, StorageReport
from ideogram_assets.records.counters import FIELDS, Fields
from ideogram_assets.records.model import iso

_DIMENSIONS = {
    "by_model": "model",
    "by_style": "style",
    "by_tag": "tag",
    "by_month": "month",
    "by_status": "status",
    "by_retention_class": "class",
}


def _row(value: str, fields: Mapping[str, int]) -> ReportRow:
    generated = fields.get("generated", 0)
    unsafe = fields.get("unsafe", 0)
    return ReportRow(
        value=value,
        records=fields.get("records", 0),
        images=fields.get("images", 0),
        bytes=fields.get("bytes", 0),
        generated=generated,
        unsafe=unsafe,
        unsafe_rate=round(unsafe / generated, 4) if generated else 0.0,
        cost_usd=round(fields.get("costMicros", 0) / 1_000_000, 6),
    )


def _rows(values: Mapping[str, Fields], *, newest_first: bool = False) -> list[ReportRow]:
    if newest_first:
        ordered = sorted(values, reverse=True)
    else:  # the biggest first, then by name
        ordered = sorted(values, key=lambda value: (-values[value].get("records", 0), value))
    return [_row(value, values[value]) for value in ordered]


def storage_report(counted: Mapping[str, Mapping[str, Fields]], now: datetime) -> StorageReport:
    """`counted` is records.counters.totals() of every counter item."""
    # Every record is in exactly one status: their sum is the whole.
    whole = {
        field: sum(fields.get(field, 0) for fields in counted.get("status", {}).values()) for field in FIELDS
    }
    rows = {
        name: _rows(counted.get(dimension, {}), newest_first=dimension == "month")
        for name, dimension in _DIMENSIONS.items()
    }
    return StorageReport(generated_at=iso(now), totals=_row("all", whole), **rows)
