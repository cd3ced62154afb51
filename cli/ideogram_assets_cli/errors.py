"""The one exception the commands raise on purpose: a message for people and the exit code."""

from __future__ import annotations

from collections.abc import Sequence

from ideogram_assets_cli.exit_codes import ExitCode


class CliError(Exception):
    """A failure to report on stderr as one line (plus one per field error), then exit with `code`."""

    def __init__(
        self, message: str, code: ExitCode, *, details: Sequence[str] = (), hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = tuple(details)
        self.hint = hint
