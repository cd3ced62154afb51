"""How search results, curated records, downloads and pulls look to a person (Rich)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ideogram_assets_cli.render import human_bytes, size_text, status_text

if TYPE_CHECKING:
    from ideogram_assets_cli.pull import PullSummary  # its module loads requests: only `pull` needs it

PROMPT_CHARS = 60  # a prompt is cut here in the table (with …); `show ID` has all of it


def time_text(value: Any) -> str:
    """ "2025-03-14 09:26": the creation time in UTC, to the minute (`show ID` has the full instant)."""
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{moment:%Y-%m-%d %H:%M}"


def prompt_text(record: Mapping[str, Any], limit: int = PROMPT_CHARS) -> str:
    prompt = " ".join(str(record.get("prompt") or "").split())  # line breaks would break the row
    return prompt if len(prompt) <= limit else prompt[: limit - 1].rstrip() + "…"


def tags_text(record: Mapping[str, Any]) -> Text:
    tags = record.get("tags") or []
    text = Text(", ".join(str(tag) for tag in tags), style="cyan")
    if record.get("starred"):
        text = Text("★ ", style="yellow") + text
    return text


TAGS_WIDTH = 24  # tags wrap within this many columns
PROMPT_MIN_WIDTH = 16
_COLUMNS = ("id", "time (UTC)", "status", "model", "seed", "size", "tags", "prompt")


def _cells(record: Mapping[str, Any]) -> tuple[Text, ...]:
    return (
        Text(str(record.get("id", ""))),
        Text(time_text(record.get("createdAt"))),
        status_text(record),
        Text(str(record.get("model") or "")),
        Text("" if record.get("seed") is None else str(record["seed"])),
        Text(size_text(record)),
        tags_text(record),
        Text(prompt_text(record)),
    )


def search_table(items: Sequence[Mapping[str, Any]], width: int) -> Table | None:
    """One row per record, every column but the prompt as wide as its widest cell (ids and times
    are never cut) and the prompt cut to what is left; None when even that does not fit."""
    rows = [_cells(record) for record in items]
    widths = [
        max([len(name), *(cell.cell_len for cell in cells)])
        for name, *cells in zip(_COLUMNS, *rows, strict=True)
    ]
    widths[6] = min(widths[6], TAGS_WIDTH)
    # Each column is followed by one space of padding and one of the box's blank separator.
    widths[7] = min(widths[7], width - sum(widths[:7]) - 2 * 7)
    if widths[7] < PROMPT_MIN_WIDTH:
        return None
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for name, column_width in zip(_COLUMNS, widths, strict=True):
        wraps = name == "tags"
        table.add_column(
            name, width=column_width, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis"
        )
    for cells in rows:
        table.add_row(*cells)
    return table


def search_lines(items: Iterable[Mapping[str, Any]]) -> RenderableType:
    """The same fields for a narrow terminal: id, time, status, model and seed on one line; size,
    tags and prompt on the next (cut to the terminal's width)."""
    lines: list[RenderableType] = []
    for record in items:
        seed = "" if record.get("seed") is None else f"seed {record['seed']}"
        first = Text.assemble(
            (str(record.get("id", "")), "bold"),
            "  ",
            time_text(record.get("createdAt")),
            "  ",
            status_text(record),
            "  ",
            str(record.get("model") or ""),
            "  ",
            seed,
        )
        second = Text("  ") + Text("  ").join(
            part
            for part in (Text(size_text(record), style="dim"), tags_text(record), Text(prompt_text(record)))
            if part.plain
        )
        second.no_wrap, second.overflow = True, "ellipsis"
        lines.extend([first, second])
    return Group(*lines)


def search_view(items: Sequence[Mapping[str, Any]], width: int) -> RenderableType:
    """One page (or every page, with --all): the records and how many there are."""
    if not items:
        return Text("no generation matches", style="dim")
    listing = search_table(items, width) or search_lines(items)
    return Group(listing, Text(f"{len(items)} generation{'s' if len(items) != 1 else ''}", style="dim"))


def next_page_text(cursor: str) -> Text:
    """How to ask for the next page; printed unwrapped, so the cursor is copied whole."""
    return Text.assemble("next page: ", (f"--cursor {cursor}", "bold"))


def curation_panel(record: Mapping[str, Any]) -> RenderableType:
    """A record after `tag`, `star` or `note`: what a person curates, and what it is."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("tags", tags_text({**record, "starred": False}) if record.get("tags") else Text("-", "dim"))
    grid.add_row("starred", Text("★ yes", style="yellow") if record.get("starred") else Text("no"))
    note = record.get("note")
    grid.add_row("note", Text(str(note), overflow="fold") if note else Text("-", style="dim"))
    grid.add_row("status", status_text(record))
    grid.add_row("prompt", prompt_text(record, limit=120))
    return Panel(
        grid, title=f"generation {escape(str(record.get('id', '')))}", title_align="left", expand=False
    )


def download_text(path: str, size: int, sha256: str) -> Text:
    return Text.assemble(
        "saved ", (path, "bold"), f" ({human_bytes(size)}, SHA-256 {sha256[:12]}… matches the record)"
    )


def pull_view(summary: PullSummary) -> RenderableType:
    counts = summary.as_json()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(justify="right")
    grid.add_column(style="dim")
    grid.add_row("records", str(summary.records), f"in {counts['manifest']}")
    grid.add_row("images", str(summary.images), "stored copies among them")
    grid.add_row("fetched", str(counts["downloaded"]), human_bytes(summary.bytes_downloaded))
    grid.add_row("already present", str(counts["present"]), "SHA-256 checked, not fetched again")
    failed = len(summary.failures)
    grid.add_row(
        Text("failed", style="red" if failed else ""),
        str(failed),
        "left out (why: above); pull again to retry them" if failed else "",
    )
    title = "pull" if summary.complete else "pull (stopped before the last page)"
    return Panel(grid, title=title, title_align="left", expand=False)
