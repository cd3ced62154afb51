"""Report: images and bytes by status and by retention class (from the counter items: the same
few reads at a thousand records or a million), and what expires in the next 7 and 30 days (from
the expiry index: reads follow what expires soon)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ideogram_assets.records.counters import images_and_bytes, totals
from ideogram_assets.retention.summary import Summary

if TYPE_CHECKING:
    from ideogram_assets.records.repository import RecordStore

HORIZONS_DAYS = (7, 30)


def report(records: RecordStore, now: Callable[[], datetime], *, dry_run: bool = False) -> Summary:
    summary = Summary(task="report", dry_run=dry_run)  # reads only, dry or not
    counted = totals(records.counter_items())
    expiring: dict[str, Any] = {}
    today = now().date()
    images = size = 0
    for offset in range(1, max(HORIZONS_DAYS) + 1):
        for record in records.expiring_on((today + timedelta(days=offset)).isoformat()):
            images += 1
            size += int(record.size_bytes or 0)
        if offset in HORIZONS_DAYS:
            expiring[f"next{offset}Days"] = {"images": images, "bytes": size}
    summary.details.update(
        {
            "byStatus": images_and_bytes(counted.get("status", {})),
            "byRetentionClass": images_and_bytes(counted.get("class", {})),
            "expiring": expiring,
        }
    )
    return summary
