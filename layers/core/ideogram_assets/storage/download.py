"""The download side: one streamed GET, checked before and while its bytes arrive.

Nothing is fetched unless the host is allowed; status, Content-Type and Content-Length are
checked before the body is read; the body is checked as it passes (PNG signature and IHDR,
running size) and hashed on the way, so callers never hold more than the buffer they hand in.

The deadline is one overall deadline for the whole body, not a limit per socket read: a server
that trickles a few bytes a second never lets a read time out, so a watchdog shuts the socket
down when the deadline passes and the blocked read ends at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
from urllib3.exceptions import ReadTimeoutError

from ideogram_assets.storage.errors import DownloadRejected, RejectionKind
from ideogram_assets.storage.hosts import host_allowed, redact_url
from ideogram_assets.storage.png import PNG_HEADER_BYTES, NotPng, parse_png_header

MiB = 1024 * 1024
S3_MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller parts, except the last
S3_MAX_PARTS = 10_000
# Small enough that the deadline and the size limit are checked often and the transient copy
# is negligible, large enough that per-chunk Python overhead is too.
CHUNK_BYTES = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_EXPIRED_OR_FORBIDDEN = frozenset({403, 410})  # how signed URLs refuse an expired or bad signature


@dataclass(frozen=True)
class DownloadPolicy:
    """What may be downloaded, how much of it, and how long each network wait may take."""

    allowed_hosts: frozenset[str]
    max_bytes: int = 64 * MiB
    part_size: int = S3_MIN_PART_SIZE
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_redirects: int = 3  # each hop's host is checked against allowed_hosts too

    def __post_init__(self) -> None:
        if isinstance(self.allowed_hosts, str):  # a lone host would be read as its characters
            raise TypeError("allowed_hosts must be a frozenset of host entries, not a string")
        if self.part_size < S3_MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {S3_MIN_PART_SIZE} bytes (S3's minimum)")
        if not 0 < self.max_bytes <= self.part_size * S3_MAX_PARTS:
            raise ValueError(f"max_bytes must be positive and at most {S3_MAX_PARTS} parts")
        if self.connect_timeout <= 0 or self.read_timeout <= 0 or self.max_redirects < 0:
            raise ValueError("timeouts must be positive and max_redirects non-negative")


def _remaining(deadline: float | None, shown: str) -> float | None:
    if deadline is None:
        return None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DownloadRejected("timeout", f"the deadline passed while downloading {shown}")
    return remaining


def _get(
    session: requests.Session, url: str, policy: DownloadPolicy, deadline: float | None
) -> requests.Response:
    shown = redact_url(url)
    remaining = _remaining(deadline, shown)
    connect, read = policy.connect_timeout, policy.read_timeout
    if remaining is not None:
        connect, read = min(connect, remaining), min(read, remaining)
    try:
        return session.get(
            url,
            stream=True,
            allow_redirects=False,  # followed by hand, so every hop passes the allowlist
            timeout=(connect, read),
            # identity: the bytes hashed, counted and stored are the bytes on the wire.
            headers={"Accept": "image/png", "Accept-Encoding": "identity"},
        )
    # `from None`: requests' messages hold the full URL, signature included.
    except requests.Timeout:
        raise DownloadRejected("timeout", f"timed out connecting to {shown}") from None
    except requests.RequestException as error:
        message = f"the download of {shown} failed ({type(error).__name__})"
        raise DownloadRejected("truncated", message) from None


def _open(
    url: str, policy: DownloadPolicy, session: requests.Session, deadline: float | None
) -> requests.Response:
    """The final response after following allowed redirects; its status is still unchecked."""
    current = url
    for _ in range(policy.max_redirects + 1):
        if not host_allowed(current, policy.allowed_hosts):
            raise DownloadRejected("host_not_allowed", f"images are not fetched from {redact_url(current)}")
        response = _get(session, current, policy, deadline)
        location = response.headers.get("Location")
        if response.status_code not in _REDIRECTS or not location:
            return response
        response.close()
        current = urljoin(current, location)
    raise DownloadRejected("http_status", f"too many redirects from {redact_url(url)}")


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _check_headers(response: requests.Response, policy: DownloadPolicy, shown: str) -> int | None:
    status = response.status_code
    if status in _EXPIRED_OR_FORBIDDEN:
        raise DownloadRejected("expired_or_forbidden", f"{shown} answered {status}: expired or not signed")
    if status != 200:
        raise DownloadRejected("http_status", f"{shown} answered {status}")
    media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if media_type != "image/png":
        raise DownloadRejected("bad_content_type", f"{shown} is {media_type or 'untyped'}, not image/png")
    length = _content_length(response)
    if length is not None and length > policy.max_bytes:
        raise DownloadRejected("too_large", f"{shown} is {length} bytes, over the {policy.max_bytes} limit")
    return length


class ImageDownload:
    """An accepted response whose body the caller reads into its own buffers with `readinto`."""

    def __init__(
        self, response: requests.Response, policy: DownloadPolicy, deadline: float | None, shown: str
    ) -> None:
        self.content_length = _check_headers(response, policy, shown)
        self.received = 0
        self.width = 0
        self.height = 0
        self._max_bytes = policy.max_bytes
        self._shown = shown
        self._chunks = response.iter_content(chunk_size=CHUNK_BYTES)
        self._pending = memoryview(b"")
        self._head = b""
        self._hash = hashlib.sha256()
        self._eof = False
        self._expired = threading.Event()
        self._watchdog: threading.Timer | None = None
        if deadline is not None:
            self._watchdog = threading.Timer(
                max(0.0, deadline - time.monotonic()), self._expire, args=(response,)
            )
            self._watchdog.daemon = True
            self._watchdog.start()

    def _expire(self, response: requests.Response) -> None:
        self._expired.set()
        # Wakes the read blocked in recv(), which then sees the end of the stream. Already
        # closed or released to the pool: nothing is blocked on it.
        with contextlib.suppress(OSError, RuntimeError, ValueError, AttributeError):
            response.raw.shutdown()

    def stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()

    @property
    def sha256(self) -> bytes:
        return self._hash.digest()

    def first_buffer_size(self, part_size: int) -> int:
        """A whole small image in one exact buffer; otherwise one part."""
        if self.content_length is not None and 0 < self.content_length <= part_size:
            return self.content_length
        return part_size

    def readinto(self, buffer: bytearray) -> int:
        """Fills `buffer` from the body; fewer bytes than its length only at the end of the body."""
        filled = 0
        with memoryview(buffer) as target:  # released on exit, so the caller may resize buffer
            while filled < len(target):
                if not self._pending and not self._fetch():
                    break
                take = min(len(self._pending), len(target) - filled)
                target[filled : filled + take] = self._pending[:take]
                self._pending = self._pending[take:]
                filled += take
        return filled

    def at_eof(self) -> bool:
        """True once the whole body has been read (and found complete and a PNG)."""
        return not self._pending and not self._fetch()

    def _fetch(self) -> bool:
        """Reads the next chunk into _pending; False at the end of the body."""
        if self._eof:
            return False
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._raise_if_expired()
            self._finish()
            return False
        except requests.RequestException as error:
            self._raise_if_expired()  # the watchdog broke the connection: say why
            raise self._transport_error(error) from None
        self._raise_if_expired()
        self._account(chunk)
        self._pending = memoryview(chunk)
        return True

    def _raise_if_expired(self) -> None:
        if self._expired.is_set():
            raise self._rejected("timeout", "the deadline passed while downloading")

    def _transport_error(self, error: requests.RequestException) -> DownloadRejected:
        if isinstance(error, requests.ConnectionError):
            # requests reports a read timeout inside the body as a ConnectionError.
            if error.args and isinstance(error.args[0], ReadTimeoutError):
                return self._rejected("timeout", "timed out reading")
            return self._rejected("truncated", "the connection broke while reading")
        if isinstance(error, requests.Timeout):
            return self._rejected("timeout", "timed out reading")
        # ChunkedEncodingError and the like: a short body.
        return self._rejected("truncated", f"the body was cut short ({type(error).__name__})")

    def _account(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self._max_bytes:
            raise self._rejected("too_large", f"more than the {self._max_bytes}-byte limit in")
        if not self.width and len(self._head) < PNG_HEADER_BYTES:
            self._head += chunk[: PNG_HEADER_BYTES - len(self._head)]
            if len(self._head) == PNG_HEADER_BYTES:
                self._parse_head()
        self._hash.update(chunk)

    def _parse_head(self) -> None:
        try:
            self.width, self.height = parse_png_header(self._head)
        except NotPng as error:
            raise self._rejected("not_png", f"not a PNG ({error}):") from None

    def _finish(self) -> None:
        self._eof = True
        if self.content_length is not None and self.received != self.content_length:
            raise self._rejected("truncated", f"got {self.received} of {self.content_length} bytes from")
        if not self.width:
            raise self._rejected("not_png", f"not a PNG ({self.received} bytes):")

    def _rejected(self, kind: RejectionKind, what: str) -> DownloadRejected:
        return DownloadRejected(kind, f"{what} {self._shown}")


@contextmanager
def open_image(
    url: str, policy: DownloadPolicy, session: requests.Session, deadline: float | None
) -> Iterator[ImageDownload]:
    """The accepted download, its connection closed (or returned to the pool) on exit."""
    response = _open(url, policy, session, deadline)
    download: ImageDownload | None = None
    try:
        download = ImageDownload(response, policy, deadline, redact_url(response.url or url))
        yield download
    finally:
        if download is not None:
            download.stop_watchdog()
        response.close()
