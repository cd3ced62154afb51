"""How replies look to a person: Rich tables and panels (the --json output bypasses all of this)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "STORED": "green",
    "UNSAFE": "yellow",
    "PENDING": "yellow",
    "FAILED": "red",
    "LOST": "red",
    "MISSING": "red",
}
SHORT_HASH = 8


def human_bytes(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def size_text(record: Mapping[str, Any]) -> str:
    """ "1312x736 18.9 KiB": the stored image's pixels and bytes (or the size that was asked for)."""
    width, height = record.get("width"), record.get("height")
    pixels = (
        f"{width}x{height}" if width and height else (record.get("resolution") or record.get("aspectRatio"))
    )
    return " ".join(part for part in (str(pixels or ""), human_bytes(record.get("sizeBytes"))) if part)


def status_text(record: Mapping[str, Any]) -> Text:
    status = str(record.get("status") or "?")
    text = Text(status, style=STATUS_STYLES.get(status, ""))
    if record.get("failureKind"):
        text.append(f" {record['failureKind']}", style="dim")
    return text


def image_link(record: Mapping[str, Any]) -> Text:
    url = record.get("imageUrl")
    if not url:
        return Text("-", style="dim")
    # A terminal that knows hyperlinks makes this clickable; the full (long, presigned) URL is
    # in `show ID` and in --json.
    return Text("open", style=f"link {url}")


def generations_table(reply: Mapping[str, Any], width: int) -> RenderableType:
    # Ids and hashes never wrap (they are copied); the rest may. Below 100 columns the table drops
    # its padding so that it still fits 80.
    padding = (0, 1) if width >= 100 else (0, 0)
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, padding=padding
    )
    table.add_column("id", no_wrap=True)
    table.add_column("status", min_width=6, overflow="fold")
    table.add_column("model", no_wrap=True)
    table.add_column("seed", no_wrap=True, justify="right")
    table.add_column("size", min_width=9)
    table.add_column("sha256", no_wrap=True)
    table.add_column("link", no_wrap=True, min_width=4)
    for record in reply.get("generations") or []:
        table.add_row(
            str(record.get("id", "")),
            status_text(record),
            str(record.get("model") or ""),
            "" if record.get("seed") is None else str(record["seed"]),
            size_text(record),
            (record.get("sha256") or "")[:SHORT_HASH],
            image_link(record),
        )
    complete = (
        "complete" if reply.get("complete") else "[yellow]not complete[/]: some image is not stored yet"
    )
    footer = Text.from_markup(f"request [bold]{escape(str(reply.get('requestId', '-')))}[/], {complete}")
    return Group(table, footer)


# Field order and labels of `show`; anything else the API adds is shown after these.
_RECORD_FIELDS = (
    ("id", "id"),
    ("status", "status"),
    ("failureKind", "failure"),
    ("retentionClass", "retention class"),
    ("legalHold", "legal hold"),
    ("expiresOn", "expires on"),
    ("prompt", "prompt"),
    ("expandedPrompt", "expanded prompt"),
    ("negativePrompt", "negative prompt"),
    ("model", "model"),
    ("renderingSpeed", "rendering speed"),
    ("styleType", "style"),
    ("aspectRatio", "aspect ratio"),
    ("resolution", "resolution"),
    ("seed", "seed"),
    ("colorPalette", "color palette"),
    ("tags", "tags"),
    ("isSafe", "safe"),
    ("width", "width"),
    ("height", "height"),
    ("sizeBytes", "size"),
    ("contentType", "content type"),
    ("sha256", "sha256"),
    ("storedUri", "stored at"),
    ("costUsd", "cost (USD, estimated)"),
    ("createdAt", "created"),
    ("requestId", "request"),
    ("indexInRequest", "index in request"),
    ("source", "source"),
    ("parentId", "parent"),
    ("promptHash", "prompt hash"),
    ("imageUrl", "image link"),
    ("imageUrlExpiresIn", "link expires in (s)"),
)


def _value_text(name: str, value: Any) -> RenderableType:
    if name == "status":
        return Text(str(value), style=STATUS_STYLES.get(str(value), ""))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "sizeBytes" and isinstance(value, int):
        return f"{human_bytes(value)} ({value} bytes)"
    if name == "imageUrl":
        return Text(str(value), style=f"link {value}", overflow="fold")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return Text(str(value), overflow="fold")


def record_panel(record: Mapping[str, Any]) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    known = {name for name, _ in _RECORD_FIELDS}
    rows = [*_RECORD_FIELDS, *((name, name) for name in record if name not in known)]
    for name, label in rows:
        value = record.get(name)
        if value is None or value == []:
            continue
        grid.add_row(label, _value_text(name, value))
    return Panel(
        grid, title=f"generation {escape(str(record.get('id', '')))}", title_align="left", expand=False
    )
