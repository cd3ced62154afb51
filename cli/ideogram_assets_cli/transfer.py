"""Files fetched through presigned links: streamed to `NAME.part`, checked against the record
(SHA-256 and size), and only then renamed to NAME, so a file under its own name is always whole.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

CHUNK_BYTES = 256 * 1024
PART_SUFFIX = ".part"


class TransferError(Exception):
    """The link could not be read: no answer, a refusal (`status`), or a connection cut short."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class IntegrityError(Exception):
    """What arrived is not what the record describes (another SHA-256 or size)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Expected:
    """What the record says the file is; None: not known (an export), not checked."""

    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    sha256: str


def part_path(destination: Path) -> Path:
    return destination.with_name(destination.name + PART_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def matches(path: Path, expected: Expected) -> bool:
    """True when `path` is a file with the expected size and SHA-256 (size first: it costs nothing)."""
    if expected.sha256 is None or not path.is_file():
        return False
    if expected.size is not None and path.stat().st_size != expected.size:
        return False
    return file_sha256(path) == expected.sha256.lower()


def _mismatch(expected: Expected, size: int, sha256: str) -> str | None:
    if expected.size is not None and size != expected.size:
        return f"{size} bytes arrived, the record says {expected.size}"
    if expected.sha256 is not None and sha256 != expected.sha256.lower():
        return f"SHA-256 {sha256} does not match the record's {expected.sha256}"
    return None


def fetch_verified(
    session: requests.Session,
    url: str,
    destination: Path,
    *,
    expected: Expected,
    verify: str | bool,
    timeout: float,
    on_bytes: Callable[[int], None] | None = None,
) -> Fetched:
    """Streams `url` into `destination` (replacing it) through its `.part` file.

    Raises TransferError or IntegrityError; either way no `.part` file is left behind and
    `destination` is as it was."""
    part = part_path(destination)
    digest = hashlib.sha256()
    size = 0
    try:
        with session.get(url, stream=True, timeout=timeout, verify=verify) as reply:
            if reply.status_code != 200:
                raise TransferError(f"the link answered HTTP {reply.status_code}", reply.status_code)
            with part.open("wb") as stream:
                for chunk in reply.iter_content(CHUNK_BYTES):
                    stream.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                    if expected.size is not None and size > expected.size:
                        break  # already more than the record says: no need to read the rest
                stream.flush()
                os.fsync(stream.fileno())  # whole on disk before it takes the real name
        problem = _mismatch(expected, size, digest.hexdigest())
        if problem is not None:
            raise IntegrityError(problem)
        os.replace(part, destination)
    except requests.RequestException as error:
        part.unlink(missing_ok=True)
        raise TransferError(f"the download failed: {type(error).__name__}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Fetched(path=destination, size=size, sha256=digest.hexdigest())
