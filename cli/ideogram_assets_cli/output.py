"""Where output goes: results on stdout (a table, or the API's JSON body alone), the rest on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ideogram_assets_cli.errors import CliError


@dataclass
class Output:
    as_json: bool = False
    # Made when a command runs, never at import: Rich reads the terminal and environment.
    out: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))

    def json(self, body: Any) -> None:
        """The API's body, exactly and alone, for scripts (no Rich: no markup, no wrapping)."""
        sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def show(self, renderable: RenderableType) -> None:
        self.out.print(renderable)

    def result(self, body: Any, view: Callable[[], RenderableType]) -> None:
        """A command's result: `body` as JSON with --json, else `view()` for people."""
        if self.as_json:
            self.json(body)
        else:
            self.show(view())

    def plain(self, text: str, *, stderr: bool = False) -> None:
        """A line to copy as it is (a link, a command): never wrapped, highlighted or read as markup."""
        (self.err if stderr else self.out).print(text, soft_wrap=True, highlight=False, markup=False)

    def warn(self, message: str) -> None:
        self.err.print(f"[bold yellow]warning:[/] {escape(message)}", soft_wrap=True, highlight=False)

    def error(self, error: CliError) -> None:
        self.err.print(f"[bold red]error:[/] {escape(error.message)}", soft_wrap=True, highlight=False)
        for detail in error.details:
            self.err.print(f"  {escape(detail)}", soft_wrap=True, highlight=False)
        if error.hint:
            self.err.print(f"  [dim]hint:[/] {escape(error.hint)}", soft_wrap=True, highlight=False)

    @contextmanager
    def waiting(self, description: str) -> Iterator[None]:
        """A spinner with the elapsed time on stderr (drawn only on a terminal), gone when done."""
        if not self.err.is_terminal:  # a log or a pipe gets no animation (and no stray blank line)
            yield
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=self.err, transient=True) as progress:
            progress.add_task(escape(description), total=None)
            yield
