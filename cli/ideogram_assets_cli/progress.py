"""Progress bars on stderr (stdout stays the result's alone), drawn only on a terminal: a log or a
pipe gets no animation and no stray lines."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from ideogram_assets_cli.pull import Outcome
from ideogram_assets_cli.render import human_bytes


def pages_progress(err: Console) -> Progress:
    """Paging through search results: pages and records so far (the total is not known ahead)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[pages]} pages, {task.completed:.0f} records"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def bytes_progress(err: Console) -> Progress:
    """One file: bytes received of the size the record gives, and the speed."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


class PullProgress:
    """`pull`'s bar: images settled of those found so far, with how many were fetched, already
    present or failed, and the bytes received (thread-safe: Rich's Progress holds a lock)."""

    def __init__(self, err: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("pull"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "{task.fields[downloaded]} fetched, {task.fields[present]} present, "
                "[red]{task.fields[failed]} failed[/], {task.fields[received]}"
            ),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        self._lock = threading.Lock()  # images settle and bytes arrive on several threads
        self.counts = dict.fromkeys(Outcome, 0)
        self.received_bytes = 0
        self.task: TaskID = self.progress.add_task(
            "pull", total=0, downloaded=0, present=0, failed=0, received=human_bytes(0)
        )

    def __enter__(self) -> PullProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def found(self, images: int) -> None:
        total = self.progress.tasks[0].total or 0
        self.progress.update(self.task, total=total + images)

    def settled(self, outcome: Outcome) -> None:
        with self._lock:
            self.counts[outcome] += 1
            self.progress.update(
                self.task,
                advance=1,
                downloaded=self.counts[Outcome.DOWNLOADED],
                present=self.counts[Outcome.PRESENT],
                failed=self.counts[Outcome.FAILED],
            )

    def received(self, size: int) -> None:
        with self._lock:
            self.received_bytes += size
            self.progress.update(self.task, received=human_bytes(self.received_bytes))
