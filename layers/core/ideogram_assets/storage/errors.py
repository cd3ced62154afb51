"""Why persisting an image failed, in terms a caller can act on and show to its own callers."""

from __future__ import annotations

from typing import Literal

RejectionKind = Literal[
    "host_not_allowed",
    "http_status",
    "expired_or_forbidden",
    "bad_content_type",
    "not_png",
    "too_large",
    "truncated",
    "timeout",
]


class DownloadRejected(Exception):
    """The image at the URL was not stored; `kind` says why.

    The message is safe to return to API callers and to log: it never holds the URL's query
    string (Ideogram's signature), only scheme, host and path at most.
    """

    def __init__(self, kind: RejectionKind, message: str) -> None:
        super().__init__(message)
        self.kind: RejectionKind = kind
        self.message = message


class StorageError(Exception):
    """S3 failed while storing the image; whatever was written has been removed again."""

    kind = "s3"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
