"""Commands that make images (generate, reproduce) send an Idempotency-Key, and say how to retry.

When the API could not answer, or the caller stopped waiting, the images may still have been
made (and billed): the error names the key, so that the retry returns the first result and
never generates, nor pays for, the same images twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from ideogram_assets_cli.api_client import ApiReply


@contextmanager
def retry_hints(key: str, what: str) -> Iterator[None]:
    """Adds `--idempotency-key KEY` to an error after which `what` may still have happened."""
    try:
        yield
    except CliError as error:
        if error.code is ExitCode.UNAVAILABLE:
            error.hint = (
                f"{error.hint or 'retry'} with --idempotency-key {key}: "
                "the same request is never generated twice"
            )
        raise
    except KeyboardInterrupt:
        raise CliError(
            f"interrupted while waiting for the API; the {what} may still complete",
            ExitCode.INTERRUPTED,
            hint=f"to get its result without generating again: --idempotency-key {key}",
        ) from None


def existing_ids(reply: ApiReply) -> list[str]:
    """The stored images a 409 names (on_duplicate=reject refused the request), else []."""
    body: Any = reply.body
    found = body.get("existing") if isinstance(body, dict) and reply.status == 409 else None
    return [str(item) for item in found] if isinstance(found, list) else []


def conflict_exit_code(reply: ApiReply) -> ExitCode:
    """What a 409 from a route that generates means. Busy (the same key still running: it says
    when to retry) is worth retrying; a refusal (a duplicate under on_duplicate=reject, a record
    that cannot be reproduced) gives the same answer again: the caller must change the request."""
    return ExitCode.UNAVAILABLE if "retry-after" in reply.headers else ExitCode.BAD_INPUT
