"""How a batch looks to a person: its live progress bar (stderr) and, once it is complete, the
counts, the failed items with their reason and each item's generations (Rich)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ideogram_assets_cli.render import STATUS_STYLES

ITEM_STYLES = {"QUEUED": "yellow", "DONE": "green", "FAILED": "red"}
RESULTS_SHOWN = 50  # items listed one by one; a larger batch's are in --json


def _count(counts: Mapping[str, Any], status: str) -> int:
    value = counts.get(status)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def batch_counts(view: Mapping[str, Any]) -> tuple[int, int, int]:
    """(DONE, FAILED, QUEUED) from a GET /batches/{id} body."""
    counts = view.get("counts")
    counts = counts if isinstance(counts, dict) else {}
    return _count(counts, "DONE"), _count(counts, "FAILED"), _count(counts, "QUEUED")


class BatchBar:
    """Items ended of the batch's items, with how many are done, failed and still queued; on
    stderr, drawn only on a terminal."""

    def __init__(self, err: Console, batch_id: str) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(f"batch {escape(batch_id[:8])}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "[green]{task.fields[done]} done[/], [red]{task.fields[failed]} failed[/], "
                "{task.fields[queued]} queued"
            ),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        self.task = self.progress.add_task("batch", total=None, done=0, failed=0, queued=0)

    def __enter__(self) -> BatchBar:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def show(self, view: Mapping[str, Any]) -> None:
        done, failed, queued = batch_counts(view)
        total = view.get("items")
        self.progress.update(
            self.task,
            total=total if isinstance(total, int) else done + failed + queued,
            completed=done + failed,
            done=done,
            failed=failed,
            queued=queued,
        )


def _item_status(status: str) -> Text:
    return Text(status, style=ITEM_STYLES.get(status, ""))


def _generations(result: Mapping[str, Any]) -> Text:
    ids = result.get("generationIds") or []
    statuses = result.get("statuses") or []
    text = Text()
    for index, generation_id in enumerate(ids):
        if index:
            text.append("\n")
        status = str(statuses[index]) if index < len(statuses) else ""
        text.append(str(generation_id))
        if status:
            text.append(f" {status}", style=STATUS_STYLES.get(status, "dim"))
    return text


def _results_table(results: list[Mapping[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("item", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("generations", no_wrap=True)
    for result in results:
        table.add_row(
            escape(str(result.get("itemId", ""))),
            _item_status(str(result.get("status", ""))),
            _generations(result),
        )
    return table


def _failures_table(failures: list[Mapping[str, Any]]) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="failed items", title_justify="left"
    )
    table.add_column("item", overflow="fold")
    table.add_column("reason", overflow="fold")
    for failure in failures:
        table.add_row(escape(str(failure.get("itemId", ""))), escape(str(failure.get("reason", ""))))
    return table


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [member for member in value if isinstance(member, dict)] if isinstance(value, list) else []


def batch_view(view: Mapping[str, Any]) -> RenderableType:
    """A batch as GET /batches/{id} shows it: counts, each item's generations, the failures."""
    batch_id = escape(str(view.get("batchId", "")))
    done, failed, queued = batch_counts(view)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("items", str(view.get("items", done + failed + queued)))
    grid.add_row("done", Text(str(done), style="green"))
    grid.add_row("failed", Text(str(failed), style="red" if failed else ""))
    if queued:
        grid.add_row("queued", Text(str(queued), style="yellow"))
    grid.add_row("created", escape(str(view.get("createdAt", ""))))
    state = "complete" if view.get("complete") else "[yellow]not complete[/]"
    parts: list[RenderableType] = [
        Panel(grid, title=f"batch {batch_id}: {state}", title_align="left", expand=False)
    ]
    results = _dicts(view.get("results"))
    if results and len(results) <= RESULTS_SHOWN:
        parts.append(_results_table(results))
    elif results:
        parts.append(Text(f"{len(results)} items: --json lists each one's generations", style="dim"))
    failures = _dicts(view.get("failures"))
    if failures:
        parts.append(_failures_table(failures))
    return Group(*parts)


def queued_view(reply: Mapping[str, Any]) -> RenderableType:
    """POST /batches' reply: the batch id to follow, what was queued and what could not be."""
    batch_id = escape(str(reply.get("batchId", "")))
    text = Text.from_markup(
        f"batch [bold]{batch_id}[/]: {reply.get('enqueued', '?')} of {reply.get('items', '?')} items queued"
    )
    parts: list[RenderableType] = [text]
    failures = _dicts(reply.get("failures"))
    if failures:
        parts.append(_failures_table(failures))
    return Group(*parts)
