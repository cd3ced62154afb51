"""What a generation's reply means beyond its table: images reused rather than made, and whether a
reproduction's bytes equal its original's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.text import Text

MATCH_LABEL = "bytes match the original:"


def reused_note(reply: Mapping[str, Any]) -> Text:
    """on_duplicate=reuse answered with stored images: nothing was generated or billed."""
    count = len(reply.get("generations") or [])
    images = "image" if count == 1 else "images"
    return Text.from_markup(
        f"[bold]reused[/] {count} stored {images} of the same prompt and parameters: nothing was generated"
    )


def match_lines(reply: Mapping[str, Any]) -> list[Text]:
    """Per reproduced image: its original, then whether its SHA-256 equals the original's."""
    lines = []
    for record in reply.get("generations") or []:
        matches = record.get("matchesParent")
        if matches is True:
            answer = "[bold green]yes[/]"
        elif matches is False:
            answer = "[bold yellow]no[/]"
        else:
            answer = "[dim]not known yet[/] (the image is not stored yet)"
        parent = escape(str(record.get("parentId") or "?"))
        lines.append(Text.from_markup(f"reproduction of {parent}"))
        lines.append(Text.from_markup(f"{MATCH_LABEL} {answer}"))
    return lines
