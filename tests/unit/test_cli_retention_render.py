"""What a person sees of the retention function's summaries and of a record's retention."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from ideogram_assets_cli.render_retention import (
    IDS_SHOWN,
    OUTCOMES,
    expiry_text,
    ids_text,
    report_view,
    retention_panel,
    summary_view,
)

ID = "666e21fa47864eff96273e5412cceb5c"


def _text(renderable: Any, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _row(text: str, outcome: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.split()[:1] == [outcome])


def test_ids_show_the_first_few_whole_and_how_many_more() -> None:
    ids = [f"{n:032x}" for n in range(5)]
    assert ids_text(ids, 5).splitlines() == [*ids[:IDS_SHOWN], "… and 2 more"]
    assert ids_text(ids[:2], 2).splitlines() == ids[:2]
    # The function lists up to 200 ids per outcome but counts them all.
    assert ids_text(ids[:IDS_SHOWN], 1000).splitlines()[-1] == f"… and {1000 - IDS_SHOWN} more"
    assert ids_text(None, 0) == ""


def test_a_reconcile_summary_lists_each_outcome_with_images_bytes_ids_and_meaning() -> None:
    counts = {"lost": 1, "rescued": 2, "orphan_deleted": 1, "a_new_outcome": 1}
    summary: dict[str, Any] = {
        "task": "reconcile",
        "dryRun": False,
        "complete": True,
        "counts": counts,
        "bytes": {"rescued": 2 * 19353, "orphan_deleted": 1024},
        "ids": {
            "rescued": [ID, "1" * 32],
            "lost": ["2" * 32],
            "orphan_deleted": [f"images/2026/11/20/{'3' * 32}.png"],
            "a_new_outcome": ["4" * 32],
        },
        "auditedDay": "2026-11-21",
    }
    text = _text(summary_view(summary))
    lines = text.splitlines()
    assert lines[0].strip() == "reconcile"
    assert _row(text, "rescued")[:5] == ["rescued", "2", "37.8", "KiB", ID]
    assert _row(text, "lost")[:3] == ["lost", "1", "2" * 32]  # no bytes: nothing was stored
    assert f"images/2026/11/20/{'3' * 32}.png" in text
    assert OUTCOMES["lost"][0] in " ".join(text.split())
    # Known outcomes first, in the order of the rescue path; one the command does not know after.
    order = [line.split()[0] for line in lines if line.split() and line.split()[0] in counts]
    assert order == ["rescued", "lost", "orphan_deleted", "a_new_outcome"]
    assert "checked the STORED records of 2026-11-21" in text
    assert lines[-1].strip() == "complete"


def test_a_dry_run_says_nothing_changed_and_an_incomplete_run_says_what_happens_next() -> None:
    summary = {
        "task": "sweep",
        "dryRun": True,
        "complete": False,
        "counts": {"would_delete": 3},
        "bytes": {"would_delete": 3 * 1024**2},
        "ids": {"would_delete": [ID]},
        "sweptThrough": "2026-11-20",
    }
    text = " ".join(_text(summary_view(summary), 120).split())
    assert text.startswith("retention sweep (dry run: nothing was changed")
    assert "would_delete 3 3.0 MiB" in text
    assert "swept through 2026-11-20" in text
    assert "not complete" in text
    assert "next scheduled run" in text
    assert "run it again" in text


def test_a_run_with_nothing_to_do_says_so() -> None:
    text = _text(summary_view({"task": "sweep", "dryRun": False, "complete": True, "counts": {}}))
    assert "nothing to do" in text
    assert "outcome" not in text


@pytest.mark.parametrize("width", [80, 160])
def test_the_summary_keeps_ids_whole_at_any_width(width: int) -> None:
    summary = {"task": "reconcile", "counts": {"missing": 1}, "ids": {"missing": [ID]}}
    text = _text(summary_view(summary), width)
    assert ID in text
    assert max(len(line) for line in text.splitlines()) <= width


def test_the_report_shows_status_class_and_expiry_tables() -> None:
    summary = {
        "task": "report",
        "dryRun": False,
        "complete": True,
        "counts": {},
        "byStatus": {"LOST": {"images": 1, "bytes": 0}, "STORED": {"images": 12, "bytes": 5 * 1024**2}},
        "byRetentionClass": {
            "standard": {"images": 10, "bytes": 4 * 1024**2},
            "permanent": {"images": 2, "bytes": 1024**2},
        },
        "expiring": {"next30Days": {"images": 4, "bytes": 2048}, "next7Days": {"images": 1, "bytes": 512}},
    }
    text = _text(report_view(summary))
    squeezed = [" ".join(line.split()) for line in text.splitlines()]
    # In lifecycle order, not the JSON object's.
    assert squeezed.index("STORED 12 5.0 MiB") < squeezed.index("LOST 1 0 B")
    assert squeezed.index("permanent 2 1.0 MiB") < squeezed.index("standard 10 4.0 MiB")
    # Nearest horizon first, whatever order the JSON object had.
    assert squeezed.index("next 7 days 1 512 B") < squeezed.index("next 30 days 4 2.0 KiB")
    assert "nothing was changed" not in text


def test_an_empty_report_still_shows_its_tables() -> None:
    text = _text(report_view({"task": "report", "byStatus": {}, "byRetentionClass": {}, "expiring": {}}))
    assert "by status" in text
    assert "by retention class" in text
    assert "none" in text


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"status": "STORED", "retentionClass": "standard", "expiresOn": "2027-02-19"}, "2027-02-19"),
        ({"status": "STORED", "retentionClass": "permanent", "expiresOn": None}, "never (permanent)"),
        ({"status": "STORED", "retentionClass": "short", "legalHold": True}, "never while the legal hold"),
        ({"status": "FAILED", "retentionClass": "standard", "expiresOn": None}, "no expiry while FAILED"),
    ],
)
def test_the_expiry_says_when_or_why_never(record: dict[str, Any], expected: str) -> None:
    assert expiry_text(record).plain.startswith(expected)


def test_the_retention_panel_shows_class_hold_and_expiry() -> None:
    record = {
        "id": ID,
        "status": "STORED",
        "retentionClass": "permanent",
        "legalHold": True,
        "expiresOn": None,
        "prompt": "not shown here",
    }
    text = _text(retention_panel(record))
    assert ID in text
    squeezed = [" ".join(line.strip("│ ").split()) for line in text.splitlines()]
    assert "retention class permanent" in squeezed
    assert "legal hold yes" in squeezed
    assert "expires never while the legal hold lasts" in squeezed
    assert "not shown here" not in text
