"""How the retention function's summaries and a record's retention look to a person (Rich).

A summary is {"task", "dryRun", "complete", "counts": {outcome: n}, "bytes": {outcome: n},
"ids": {outcome: [ids]}} plus the task's details; --json prints it as the function replied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ideogram_assets_cli.render import STATUS_STYLES, human_bytes

# Ids listed per outcome in a table (the function lists up to 200, --json shows them all).
IDS_SHOWN = 3

# What each outcome means, in the order a table lists them; an outcome not known here (a newer
# function) is listed after these, by name.
OUTCOMES: dict[str, tuple[str, str]] = {
    # reconcile
    "verified": ("its object was already stored: checked and marked STORED", "green"),
    "rescued": ("downloaded again from Ideogram's URL and stored", "green"),
    "still_failed": ("the download failed again; tried again while its URL lasts", "red"),
    "lost": ("Ideogram's URL expired before it was stored: LOST (billed, gone)", "red"),
    "closed_unanswered": ("Ideogram never answered: closed as FAILED (it may have been billed)", "yellow"),
    "orphan_deleted": ("object with no record (older than the grace period), deleted", ""),
    "orphan_delete_failed": ("object with no record that S3 did not delete; tried next run", "red"),
    "missing": ("STORED record whose object is gone: MISSING", "red"),
    # sweep
    "would_delete": ("expired: would be deleted, object and record", ""),
    "deleted": ("expired: object and record deleted", "green"),
    "object_delete_failed": ("expired, but S3 did not delete the object; tried next run", "red"),
    "record_delete_failed": ("expired and its object deleted, but not its record; tried next run", "red"),
    # both
    "changed_meanwhile": ("changed by another writer meanwhile; left as it is", "yellow"),
}

# Report rows in lifecycle order (where an image is, then where it may end), then any other.
STATUS_ORDER = ("STORED", "PENDING", "FAILED", "UNSAFE", "LOST", "MISSING")
CLASS_ORDER = ("permanent", "standard", "short")

_TASK_TITLES = {"reconcile": "reconcile", "sweep": "retention sweep", "report": "retention report"}


def _outcome_order(counts: Mapping[str, Any]) -> list[str]:
    known = [outcome for outcome in OUTCOMES if outcome in counts]
    return known + sorted(outcome for outcome in counts if outcome not in OUTCOMES)


def _object(summary: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A part of the summary that should be a JSON object ({} when it is absent or is not one)."""
    value = summary.get(name)
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def ids_text(ids: Any, count: int) -> str:
    """The first few ids, one a line, and how many more there are."""
    listed = [str(item) for item in ids] if isinstance(ids, list) else []
    shown = listed[:IDS_SHOWN]
    more = count - len(shown)
    return "\n".join([*shown, *([f"… and {more} more"] if more > 0 else [])])


def _heading(summary: Mapping[str, Any]) -> Text:
    task = str(summary.get("task") or "?")
    heading = Text(_TASK_TITLES.get(task, task), style="bold")
    if summary.get("dryRun"):
        heading.append(" (dry run: nothing was changed; this is what a run would do)", style="yellow")
    return heading


def completion_text(summary: Mapping[str, Any]) -> Text:
    """Whether the task got through all of its work, and what happens to the rest."""
    if summary.get("complete", True):
        return Text("complete", style="green")
    text = Text("not complete", style="yellow")
    text.append(
        ": the task stopped before the function's time ran out; the next scheduled run goes on from "
        "where it stopped (or run it again now)"
    )
    return text


def _task_details(summary: Mapping[str, Any]) -> list[str]:
    lines = []
    if summary.get("sweptThrough"):
        lines.append(f"swept through {summary['sweptThrough']} (images expiring up to that day)")
    if summary.get("auditedDay"):
        lines.append(f"checked the STORED records of {summary['auditedDay']} for their objects")
    return lines


def summary_view(summary: Mapping[str, Any]) -> RenderableType:
    """reconcile / retention run: a row per outcome with its images, bytes and first ids."""
    counts, sizes, ids = _object(summary, "counts"), _object(summary, "bytes"), _object(summary, "ids")
    parts: list[RenderableType] = [_heading(summary)]
    if not counts:
        parts.append(Text("nothing to do", style="dim"))
    else:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("outcome", no_wrap=True)
        table.add_column("images", justify="right", no_wrap=True)
        table.add_column("bytes", justify="right", no_wrap=True)
        table.add_column("ids (first few)", no_wrap=True, overflow="fold")
        table.add_column("meaning", ratio=1)
        for outcome in _outcome_order(counts):
            count = _count(counts.get(outcome))
            meaning, style = OUTCOMES.get(outcome, ("", ""))
            size = _count(sizes.get(outcome))
            table.add_row(
                Text(outcome, style=style),
                str(count),
                human_bytes(size) if size else "",
                ids_text(ids.get(outcome), count),
                meaning,
            )
        parts.append(table)
    parts.extend(Text(line) for line in _task_details(summary))
    parts.append(completion_text(summary))
    return Group(*parts)


def _section(title: str, table: Table) -> RenderableType:
    # A title of its own line: a table's title would wrap to the (narrow) table's width.
    return Group(Text(""), Text(title, style="bold"), table)


def _ordered(names: Iterable[str], order: Sequence[str]) -> list[str]:
    return sorted(names, key=lambda name: (order.index(name) if name in order else len(order), name))


def _totals_table(key: str, rows: Mapping[str, Any], order: Sequence[str]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(key, no_wrap=True)
    table.add_column("images", justify="right")
    table.add_column("bytes", justify="right")
    if not rows:
        table.add_row(Text("none", style="dim"), "0", "")
    for name in _ordered(rows, order):
        totals = _object(rows, name)
        table.add_row(
            Text(name, style=STATUS_STYLES.get(name, "")),
            str(_count(totals.get("images"))),
            human_bytes(_count(totals.get("bytes"))),
        )
    return table


# "next7Days" -> "next 7 days", in the order of the horizons.
def _horizon_label(name: str) -> str:
    days = name.removeprefix("next").removesuffix("Days")
    return f"next {days} days" if days.isdigit() else name


def _horizon_days(name: str) -> int:
    days = name.removeprefix("next").removesuffix("Days")
    return int(days) if days.isdigit() else 10**6


def report_view(summary: Mapping[str, Any]) -> RenderableType:
    """retention report: images and bytes by status, by retention class, and what expires soon."""
    expiring = _object(summary, "expiring")
    expiry = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    expiry.add_column("within", no_wrap=True)
    expiry.add_column("images", justify="right")
    expiry.add_column("bytes", justify="right")
    if not expiring:
        expiry.add_row(Text("none", style="dim"), "0", "")
    for name in sorted(expiring, key=_horizon_days):
        totals = _object(expiring, name)
        expiry.add_row(
            _horizon_label(name), str(_count(totals.get("images"))), human_bytes(_count(totals.get("bytes")))
        )
    return Group(
        _heading(summary),
        _section("by status", _totals_table("status", _object(summary, "byStatus"), STATUS_ORDER)),
        _section(
            "stored images by retention class",
            _totals_table("class", _object(summary, "byRetentionClass"), CLASS_ORDER),
        ),
        _section("expiring (the retention sweep deletes them on their day)", expiry),
    )


def expiry_text(record: Mapping[str, Any]) -> Text:
    """When the image goes, and why it stays when it does not."""
    if record.get("expiresOn"):
        return Text(f"{record['expiresOn']} (the retention sweep deletes it that day)")
    if record.get("legalHold"):
        return Text("never while the legal hold lasts", style="green")
    if record.get("retentionClass") == "permanent":
        return Text("never (permanent)", style="green")
    if record.get("status") != "STORED":
        return Text(f"no expiry while {record.get('status') or '?'}: set once it is stored", style="dim")
    return Text("never", style="green")


def retention_panel(record: Mapping[str, Any]) -> RenderableType:
    """A record's retention after pin/unpin/hold/release: class, hold and expiry."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    status = str(record.get("status") or "?")
    grid.add_row("status", Text(status, style=STATUS_STYLES.get(status, "")))
    grid.add_row("retention class", str(record.get("retentionClass") or "standard"))
    grid.add_row("legal hold", Text("yes", style="bold") if record.get("legalHold") else "no")
    grid.add_row("expires", expiry_text(record))
    return Panel(
        grid, title=f"generation {escape(str(record.get('id', '')))}", title_align="left", expand=False
    )
