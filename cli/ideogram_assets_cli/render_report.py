"""The storage report (GET /reports/storage) for a person: one table per dimension and a bar chart
of images per month, drawn with Unicode block characters.

A row is {"value", "records", "images", "bytes", "generated", "unsafe", "unsafeRate", "costUsd"}:
`images`/`bytes` are stored copies, `generated` the images Ideogram answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ideogram_assets_cli.render import STATUS_STYLES, human_bytes
from ideogram_assets_cli.render_retention import CLASS_ORDER, STATUS_ORDER

# Eighths of a character cell, so a bar's length reads to 1/8 of a column.
_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
_FULL = "█"
TAGS_SHOWN = 15  # the tags with the most images; --json has every one
MONTHS_CHARTED = 36
LONGEST_BAR = 60  # cells: longer bars read no better
LABEL_WIDTH = 32  # a longer model, style or tag is cut (--json has it whole)
NUMBER_WIDTH = 9

# (reply member, title, how its rows are ordered)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("byStatus", "by status", "status"),
    ("byModel", "by model", "images"),
    ("byStyle", "by style", "images"),
    ("byRetentionClass", "by retention class", "class"),
    ("byTag", "by tag", "images"),
    ("byMonth", "by month", "value"),
)


def bar(value: float, maximum: float, width: int) -> str:
    """A bar `width` cells long at `maximum`, in eighths of a cell; a non-zero value always shows."""
    if value <= 0 or maximum <= 0 or width <= 0:
        return ""
    eighths = max(1, round(min(value, maximum) / maximum * width * 8))
    full, rest = divmod(eighths, 8)
    return _FULL * full + _EIGHTHS[rest]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _rows(report: Mapping[str, Any], member: str) -> list[dict[str, Any]]:
    rows = report.get(member)
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _is_month(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 7
        and value[4] == "-"
        and value[:4].isdigit()
        and value[5:].isdigit()
        and 1 <= int(value[5:]) <= 12
    )


def monthly_images(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """(YYYY-MM, images), oldest first, with the months in between that have none as 0; the last
    MONTHS_CHARTED months only. Rows whose value is not a month are left out."""
    images = {str(row["value"]): _count(row.get("images")) for row in rows if _is_month(row.get("value"))}
    if not images:
        return []
    months = [min(images)]
    while months[-1] < max(images):
        months.append(_next_month(months[-1]))
    return [(month, images.get(month, 0)) for month in months[-MONTHS_CHARTED:]]


def month_chart(rows: Sequence[Mapping[str, Any]], width: int) -> RenderableType:
    """Images per month as horizontal bars: `YYYY-MM ████▌ 42`."""
    months = monthly_images(rows)
    if not months:
        return Text("no images stored yet", style="dim")
    largest = max(images for _, images in months)
    digits = len(f"{largest:,}")
    bar_width = max(10, min(LONGEST_BAR, width - 7 - digits - 4))  # month, count and the spaces between
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(no_wrap=True, style="magenta")
    grid.add_column(no_wrap=True, justify="right")
    for month, images in months:
        grid.add_row(month, bar(images, largest, bar_width), f"{images:,}")
    return grid


def _rate(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _cost(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _ordered(rows: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    if order == "images":
        return sorted(rows, key=lambda row: (-_count(row.get("images")), str(row.get("value"))))
    if order in ("status", "class"):
        known = STATUS_ORDER if order == "status" else CLASS_ORDER
        rank = {value: index for index, value in enumerate(known)}
        return sorted(
            rows, key=lambda row: (rank.get(str(row.get("value")), len(rank)), str(row.get("value")))
        )
    return sorted(rows, key=lambda row: str(row.get("value")))


def rows_table(
    title: str,
    rows: list[dict[str, Any]],
    *,
    totals: Mapping[str, Any] | None = None,
    label_width: int = 0,
) -> Table:
    """One dimension's rows; the same `label_width` and number widths in every table line them up."""
    table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("", no_wrap=True, min_width=label_width, overflow="ellipsis", max_width=LABEL_WIDTH)
    for name in ("records", "images", "size", "generated", "unsafe", "unsafe rate", "cost (USD)"):
        table.add_column(name, justify="right", no_wrap=True, min_width=max(len(name), NUMBER_WIDTH))
    for row in [*rows, *([totals] if totals else [])]:
        value = str(row.get("value") or "-") if row is not totals else "total"
        table.add_row(
            Text(value, style="bold" if row is totals else STATUS_STYLES.get(value, "")),
            f"{_count(row.get('records')):,}",
            f"{_count(row.get('images')):,}",
            human_bytes(_count(row.get("bytes"))),
            f"{_count(row.get('generated')):,}",
            f"{_count(row.get('unsafe')):,}",
            _rate(row.get("unsafeRate")),
            _cost(row.get("costUsd")),
            end_section=row is not totals and row is rows[-1] and totals is not None,
        )
    return table


def report_view(report: Mapping[str, Any], width: int) -> RenderableType:
    totals = report.get("totals") if isinstance(report.get("totals"), dict) else None
    sections = [(member, title, _ordered(_rows(report, member), order)) for member, title, order in SECTIONS]
    labels = [str(row.get("value") or "-") for _, _, rows in sections for row in rows]
    label_width = min(LABEL_WIDTH, max([len("total"), *(len(label) for label in labels)]))
    parts: list[RenderableType] = [
        Text.from_markup(f"[bold]storage report[/] [dim]at {escape(str(report.get('generatedAt', '?')))}[/]")
    ]
    if totals is not None:
        parts.append(rows_table("totals", [], totals=totals, label_width=label_width))
    for member, title, rows in sections:
        if not rows:
            continue
        shown = rows[:TAGS_SHOWN] if member == "byTag" else rows
        parts.append(rows_table(title, shown, label_width=label_width))
        if len(shown) < len(rows):
            more = len(rows) - len(shown)
            parts.append(Text(f"… and {more} more tags (--json lists them all)", style="dim"))
    parts.append(Text("images per month", style="bold"))
    parts.append(month_chart(_rows(report, "byMonth"), width))
    return Group(*parts)


def export_panel(view: Mapping[str, Any], saved: Path | None) -> RenderableType:
    """A finished export: how much it holds, and where it was saved (its link is printed apart,
    unwrapped, so that it can be copied)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("status", Text(str(view.get("status", "?")), style="green"))
    grid.add_row("format", str(view.get("format") or ""))
    grid.add_row("records", f"{_count(view.get('records')):,}")
    grid.add_row("size", human_bytes(_count(view.get("bytes"))))
    if saved is not None:
        grid.add_row("saved to", Text(str(saved), overflow="fold"))
    elif isinstance(view.get("urlExpiresIn"), int):
        grid.add_row("link", f"below, valid for {view['urlExpiresIn']} s")
    return Panel(grid, title=f"export {escape(str(view.get('id', '')))}", title_align="left", expand=False)
