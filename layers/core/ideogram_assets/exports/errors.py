"""Why an export could not be started or shown (the API answers 503 to each)."""

from __future__ import annotations


class ExportsUnavailable(Exception):
    """The job store or the worker could not be reached; nothing is left RUNNING for ever."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
