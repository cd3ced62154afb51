"""The Ideogram HTTP client: one generate call, retried within a deadline, errors mapped for the API.

Retries: 429, 408, 5xx, connection errors and timeouts, with exponential backoff and full jitter
(sleep = random() * min(max_delay, base_delay * 2 ** (attempt - 1))), honouring Retry-After when
Ideogram sends one. No retry for 400/422 (the request is at fault), 401/403 (configuration), 402
(credits) or an unreadable 200 (it may already have been billed).
"""

from __future__ import annotations

import email.utils
import math
import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import ValidationError

from ideogram_assets.ideogram.errors import (
    IdeogramAuthError,
    IdeogramError,
    IdeogramInsufficientCredits,
    IdeogramProtocolError,
    IdeogramRejected,
    IdeogramUnavailable,
)
from ideogram_assets.ideogram.models import GenerateParams, GenerationResult, parse_generation
from ideogram_assets.ideogram.payload import PreparedCall, prepare_call
from ideogram_assets.observability import logger

_MAX_MESSAGE = 500  # Ideogram's error text is passed to our caller; keep it bounded


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_attempts: int = 5  # also bounds a call made without a deadline
    # No attempt starts with less time than this before the deadline: a generation cut short
    # by its own timeout may still be billed, and it would only turn into a 503 anyway.
    min_attempt_seconds: float = 1.0

    def backoff_ceiling(self, attempt: int) -> float:
        """The most we sleep after failed attempt number `attempt` (1-based)."""
        return min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))


@dataclass(frozen=True, slots=True)
class _Failure:
    """A transient failure of one attempt."""

    reason: str  # rate_limited, server_error, timeout, connection
    status: int | None = None
    retry_after: float | None = None


class IdeogramClient:
    """Calls Ideogram's generate endpoints. Thread-safe as far as the given `requests.Session` is.

    Create it (and its session) once per execution environment so connections are reused.
    `sleep`, `clock` and `random` are injectable for tests; `clock` must be the clock deadlines
    are measured on (time.monotonic by default).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        session: requests.Session | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 60,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session if session is not None else requests.Session()
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._random = random

    def __repr__(self) -> str:
        return f"IdeogramClient(base_url={self._base_url!r})"  # never the key

    def generate(self, params: GenerateParams, deadline: float | None = None) -> GenerationResult:
        """Generate images; `deadline` is a `clock()` instant by which the call must have returned.

        Raises IdeogramRequestError (before any HTTP call), IdeogramRejected, IdeogramAuthError,
        IdeogramInsufficientCredits, IdeogramUnavailable or IdeogramProtocolError.
        """
        call = prepare_call(params)
        if not self._api_key.strip():
            raise IdeogramAuthError()
        attempts = 0
        failure: _Failure | None = None
        timed_out = False
        while True:
            timeout = self._timeout(deadline)
            if timeout is None:
                raise self._unavailable(failure, attempts, timed_out)
            attempts += 1
            started = self._clock()
            try:
                response = self._post(call, timeout)
            except requests.Timeout as error:  # before ConnectionError: ConnectTimeout is both
                failure = _Failure("timeout")
                # A request that was sent and then timed out may have been generated and billed.
                timed_out = timed_out or not isinstance(error, requests.ConnectTimeout)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                failure = _Failure("connection")
            else:
                outcome = self._classify(response, attempts)
                if outcome is None:
                    return self._result(call, response, attempts, started)
                if isinstance(outcome, IdeogramError):
                    self._log(call, attempts, started, response.status_code, outcome.kind)
                    raise outcome
                failure = outcome
            self._log(call, attempts, started, failure.status, failure.reason)
            delay = self._delay(failure, attempts, deadline)
            if delay is None:
                raise self._unavailable(failure, attempts, timed_out)
            self._sleep(delay)

    # -- one attempt ---------------------------------------------------------------------------

    def _timeout(self, deadline: float | None) -> tuple[float, float] | None:
        """(connect, read) timeouts shrunk to the time left, or None when too little is left."""
        if deadline is None:
            return self._connect_timeout, self._read_timeout
        remaining = deadline - self._clock()
        if remaining < self._retry.min_attempt_seconds:
            return None
        return min(self._connect_timeout, remaining), min(self._read_timeout, remaining)

    def _post(self, call: PreparedCall, timeout: tuple[float, float]) -> requests.Response:
        # The key rides on each request, never on the shared session (which may also download
        # images from other hosts); redirects are refused because requests would forward a
        # custom header like Api-Key to wherever a redirect points.
        return self._session.post(
            self._base_url + call.path,
            json=call.json,
            files=call.files,
            headers={"Api-Key": self._api_key, "Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )

    def _classify(self, response: requests.Response, attempts: int) -> IdeogramError | _Failure | None:
        """None for success, _Failure to retry, or the error that ends the call."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        if status in (400, 422):
            text = self._error_text(response) or f"Ideogram rejected the request (HTTP {status})"
            return IdeogramRejected(text, status=status, attempts=attempts)
        if status in (401, 403):
            return IdeogramAuthError(status=status, attempts=attempts)
        if status == 402:
            return IdeogramInsufficientCredits(attempts=attempts)
        if status == 429:
            return _Failure("rate_limited", status, _retry_after(response))
        if status == 408 or status >= 500:
            return _Failure("timeout" if status == 408 else "server_error", status, _retry_after(response))
        return IdeogramProtocolError(f"unexpected HTTP status {status}", status=status, attempts=attempts)

    def _result(
        self, call: PreparedCall, response: requests.Response, attempts: int, started: float
    ) -> GenerationResult:
        latency_ms = round((self._clock() - started) * 1000, 1)
        try:
            result = parse_generation(
                response.content, endpoint=call.endpoint, attempts=attempts, latency_ms=latency_ms
            )
        except ValidationError as error:
            # Locations and error types only: the values are Ideogram's, and not needed to diagnose.
            detail = "; ".join(
                f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['type']}"
                for item in error.errors(include_url=False, include_input=False, include_context=False)
            )[:_MAX_MESSAGE]
            self._log(call, attempts, started, response.status_code, IdeogramProtocolError.kind)
            raise IdeogramProtocolError(detail, status=response.status_code, attempts=attempts) from None
        self._log(call, attempts, started, response.status_code, "success")
        return result

    def _error_text(self, response: requests.Response) -> str | None:
        """Ideogram's own explanation (`error`, `message` or `detail`), bounded and without our key."""
        try:
            body: Any = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        for name in ("error", "message", "detail"):
            text = body.get(name)
            if isinstance(text, str) and text.strip():
                if self._api_key:
                    text = text.replace(self._api_key, "[redacted]")
                return text.strip()[:_MAX_MESSAGE]
        return None

    # -- between attempts ----------------------------------------------------------------------

    def _delay(self, failure: _Failure, attempts: int, deadline: float | None) -> float | None:
        """How long to sleep before the next attempt, or None when there must be no next attempt."""
        policy = self._retry
        if attempts >= policy.max_attempts:
            return None
        delay = self._random() * policy.backoff_ceiling(attempts)  # full jitter
        if failure.retry_after is not None:
            if failure.retry_after > policy.max_delay:
                return None  # Ideogram asks for longer than we would wait: tell our caller instead
            delay = max(delay, failure.retry_after)
        if deadline is not None and self._clock() + delay + policy.min_attempt_seconds > deadline:
            return None  # never sleep into the deadline or leave the next attempt no time
        return delay

    def _unavailable(self, failure: _Failure | None, attempts: int, timed_out: bool) -> IdeogramUnavailable:
        if failure is not None and failure.retry_after is not None:
            wait = failure.retry_after
        else:
            wait = self._retry.backoff_ceiling(attempts + 1)
        return IdeogramUnavailable(
            retry_after_seconds=max(1, math.ceil(wait)),
            reason="deadline" if failure is None else failure.reason,
            status=None if failure is None else failure.status,
            attempts=attempts,
            timed_out=timed_out,
        )

    def _log(
        self, call: PreparedCall, attempt: int, started: float, status: int | None, outcome: str
    ) -> None:
        # Path, status, timing and outcome only: never headers (the key), never the prompt.
        fields = {
            "ideogram_path": call.path,
            "ideogram_endpoint": call.endpoint.value,
            "status": status,
            "attempt": attempt,
            "duration_ms": round((self._clock() - started) * 1000, 1),
            "outcome": outcome,
        }
        if outcome == "success":
            logger.info("Ideogram generate attempt", extra=fields)
        else:
            logger.warning("Ideogram generate attempt failed", extra=fields)


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or HTTP-date), None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
