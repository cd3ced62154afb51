"""What can go wrong when asking Ideogram for images, as exceptions the API can map directly.

Each exception carries:
- `message`: safe to show the API's caller (never the API key, never request headers);
- `kind`: a short stable string for metrics dimensions and log queries;
- `status`: the HTTP status Ideogram answered with, when it answered;
- `http_status`: the status our own API should answer with;
- `attempts`: how many HTTP requests were sent (0 when none was).
"""

from __future__ import annotations

from collections.abc import Sequence


class IdeogramError(Exception):
    """Base class: anything the Ideogram client raises on purpose."""

    kind: str = "error"
    http_status: int = 502

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.attempts = attempts


class IdeogramRequestError(IdeogramError):
    """The parameters cannot be sent to the endpoint their model uses; found before any HTTP call."""

    kind = "invalid_params"
    http_status = 400

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid image generation parameters: " + "; ".join(self.problems))


class IdeogramRejected(IdeogramError):
    """Ideogram refused the request: 400 (invalid input) or 422 (prompt failed the safety check)."""

    http_status = 400

    def __init__(self, message: str, *, status: int, attempts: int = 1) -> None:
        super().__init__(message, status=status, attempts=attempts)
        self.http_status = status  # the caller's request is at fault: pass 400/422 on
        self.kind = "safety_rejected" if status == 422 else "rejected"


class IdeogramAuthError(IdeogramError):
    """401/403: our key is missing, wrong or revoked; an operator must fix the configuration."""

    kind = "auth"
    http_status = 502

    def __init__(self, *, status: int | None = None, attempts: int = 0) -> None:
        super().__init__(
            "the Ideogram API key is missing or invalid (configuration)", status=status, attempts=attempts
        )


class IdeogramInsufficientCredits(IdeogramError):
    """402: the Ideogram account is out of credits or hit its daily limit (not billed, not retried)."""

    kind = "insufficient_credits"
    http_status = 503

    def __init__(self, *, attempts: int = 1) -> None:
        super().__init__("insufficient credits", status=402, attempts=attempts)


class IdeogramUnavailable(IdeogramError):
    """429, 5xx, timeouts or connection errors persisted until attempts or the deadline ran out.

    `reason` is the last failure ("rate_limited", "server_error", "timeout", "connection") or
    "deadline" when no attempt could be started in time; `retry_after_seconds` feeds Retry-After.
    """

    kind = "unavailable"
    http_status = 503

    def __init__(
        self,
        *,
        retry_after_seconds: int,
        reason: str,
        status: int | None = None,
        attempts: int = 0,
        timed_out: bool = False,
    ) -> None:
        super().__init__(
            f"Ideogram is unavailable right now; retry in {retry_after_seconds} s",
            status=status,
            attempts=attempts,
        )
        self.retry_after_seconds = retry_after_seconds
        self.reason = reason
        # Some attempt timed out waiting for the answer: Ideogram may have generated (and billed).
        self.timed_out = timed_out


class IdeogramNoImages(IdeogramError):
    """Ideogram answered 200 with no image at all: nothing to store and nothing billed per image."""

    kind = "no_images"
    http_status = 502

    def __init__(self, *, attempts: int = 1) -> None:
        super().__init__(
            "Ideogram answered without any image; retry the request", status=200, attempts=attempts
        )


class IdeogramProtocolError(IdeogramError):
    """Ideogram answered in a way we cannot read (a 200 that breaks the schema, an unexpected status).

    Not retried: a 200 means the generation may already have been billed. `detail` says what was
    wrong, for logs (field locations and types only, no response values).
    """

    kind = "protocol"
    http_status = 502

    def __init__(self, detail: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(
            f"Ideogram returned a response that could not be understood (HTTP {status}); "
            "the generation may have been billed",
            status=status,
            attempts=attempts,
        )
        self.detail = detail
