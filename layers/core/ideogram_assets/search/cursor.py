"""Opaque, tamper-evident cursors: where a search stopped, signed with the stack's key.

A cursor is `<payload>.<mac>` in base64url: the payload names the search it belongs to (the
fingerprint of its filters), the index it reads and the key to go on from, and when it was
issued; the MAC (HMAC-SHA256) shows that this service wrote it. A cursor that does not parse,
whose MAC is wrong (forged, or from another deployment), that belongs to another search, or that
is older than its lifetime is refused with InvalidCursor (400), never followed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VERSION = 1
LIFETIME_SECONDS = 24 * 3600
MAX_CURSOR_CHARS = 2048


class InvalidCursor(ValueError):
    """A cursor this service will not follow; the message says why."""


@dataclass(frozen=True)
class Position:
    """Where a search goes on: the source it reads and the key after which it reads."""

    source: str
    key: Any


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("a cursor key needs at least 32 bytes")
        self._key = key
        self._clock = clock

    def _mac(self, payload: str) -> str:
        return _encode(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, fingerprint: str, position: Position) -> str:
        body = {
            "v": VERSION,
            "f": fingerprint,
            "s": position.source,
            "k": position.key,
            "t": int(self._clock()),
        }
        payload = _encode(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def read(self, cursor: str, fingerprint: str) -> Position:
        if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii() or cursor.count(".") != 1:
            raise InvalidCursor("the cursor is not one this service issued")
        payload, mac = cursor.split(".")
        if not hmac.compare_digest(mac.encode("ascii", "replace"), self._mac(payload).encode()):
            raise InvalidCursor("the cursor is not one this service issued")
        try:
            body = json.loads(_decode(payload))
            version, issued, source, key, owner = body["v"], body["t"], body["s"], body["k"], body["f"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidCursor("the cursor is not one this service issued") from None
        if version != VERSION or not isinstance(issued, int) or not isinstance(source, str):
            raise InvalidCursor("the cursor is not one this service issued")
        if owner != fingerprint:
            raise InvalidCursor("the cursor belongs to another search: repeat the filters it was issued for")
        if self._clock() - issued > LIFETIME_SECONDS:
            raise InvalidCursor("the cursor has expired: start the search again")
        return Position(source, key)
