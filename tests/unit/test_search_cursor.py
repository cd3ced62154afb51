"""Cursors: what one names comes back exactly; anything this deployment did not issue for this
search, in its lifetime, is refused with InvalidCursor (a 400), never followed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from ideogram_assets.search.cursor import (
    LIFETIME_SECONDS,
    MAX_CURSOR_CHARS,
    VERSION,
    CursorSigner,
    InvalidCursor,
    Position,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
FINGERPRINT = "f" * 32
ISSUED_AT = 1_800_000_000.0
DAY_KEY = {"day": "2026-11-27", "key": {"PK": {"S": "GEN#abc"}, "SK": {"S": "META"}}}


class Clock:
    def __init__(self, now: float = ISSUED_AT) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def signer(key: bytes = KEY, clock: Clock | None = None) -> CursorSigner:
    return CursorSigner(key, clock or Clock())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def signed(body: Any, key: bytes = KEY) -> str:
    """A cursor whose MAC is right, over any payload (what only a holder of the key can make)."""
    payload = _b64(json.dumps(body).encode())
    mac = _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())
    return f"{payload}.{mac}"


def body(**overrides: Any) -> dict[str, Any]:
    return {"v": VERSION, "f": FINGERPRINT, "s": "days", "k": DAY_KEY, "t": int(ISSUED_AT), **overrides}


def test_a_cursor_reads_back_the_position_it_was_issued_for() -> None:
    cursors = signer()
    cursor = cursors.issue(FINGERPRINT, Position("days", DAY_KEY))
    assert cursors.read(cursor, FINGERPRINT) == Position("days", DAY_KEY)


@pytest.mark.parametrize("key", [None, "2026-11-27T09:30:00.000Z#abc", 12, ["a", 1]])
def test_any_json_key_round_trips(key: Any) -> None:
    cursors = signer()
    assert cursors.read(cursors.issue(FINGERPRINT, Position("p:TAG#x", key)), FINGERPRINT).key == key


def test_a_cursor_is_url_safe_and_opaque() -> None:
    cursor = signer().issue(FINGERPRINT, Position("p:TOKEN#fox", {"PK": {"S": "TOKEN#fox"}}))
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert "TOKEN" not in cursor


def test_a_cursor_read_by_a_fresh_signer_with_the_same_key_is_accepted() -> None:
    cursor = signer().issue(FINGERPRINT, Position("days", DAY_KEY))
    assert signer().read(cursor, FINGERPRINT).source == "days"


def test_a_key_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CursorSigner(b"short")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "no-dot-at-all",
        "a.b.c",
        ".",
        "!!!.???",
        "bm90IGpzb24.bm90IGEgbWFj",
    ],
)
def test_a_garbled_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="not one this service issued"):
        signer().read(cursor, FINGERPRINT)


def test_a_cursor_with_non_ascii_characters_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        signer().read("é.abc", FINGERPRINT)


def test_a_cursor_whose_payload_was_changed_is_refused() -> None:
    cursor = signer().issue(FINGERPRINT, Position("days", DAY_KEY))
    payload, mac = cursor.split(".")
    forged_payload = _b64(json.dumps(body(s="p:TAG#secret")).encode())
    with pytest.raises(InvalidCursor, match="not one this service issued"):
        signer().read(f"{forged_payload}.{mac}", FINGERPRINT)
    assert payload != forged_payload


def test_a_cursor_whose_mac_was_changed_is_refused() -> None:
    cursor = signer().issue(FINGERPRINT, Position("days", DAY_KEY))
    payload, mac = cursor.split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    with pytest.raises(InvalidCursor):
        signer().read(f"{payload}.{flipped}", FINGERPRINT)
    with pytest.raises(InvalidCursor):
        signer().read(f"{payload}.", FINGERPRINT)


def test_a_cursor_from_another_deployment_is_refused() -> None:
    cursor = signer(OTHER_KEY).issue(FINGERPRINT, Position("days", DAY_KEY))
    with pytest.raises(InvalidCursor, match="not one this service issued"):
        signer(KEY).read(cursor, FINGERPRINT)


def test_a_cursor_of_another_search_is_refused_with_a_message_saying_so() -> None:
    cursors = signer()
    cursor = cursors.issue(FINGERPRINT, Position("days", DAY_KEY))
    with pytest.raises(InvalidCursor, match="another search"):
        cursors.read(cursor, "0" * 32)


def test_a_cursor_is_accepted_up_to_the_end_of_its_lifetime() -> None:
    clock = Clock()
    cursors = signer(clock=clock)
    cursor = cursors.issue(FINGERPRINT, Position("days", DAY_KEY))
    clock.now = ISSUED_AT + LIFETIME_SECONDS
    assert cursors.read(cursor, FINGERPRINT).key == DAY_KEY


def test_a_cursor_older_than_its_lifetime_is_refused_as_expired() -> None:
    clock = Clock()
    cursors = signer(clock=clock)
    cursor = cursors.issue(FINGERPRINT, Position("days", DAY_KEY))
    clock.now = ISSUED_AT + LIFETIME_SECONDS + 1
    with pytest.raises(InvalidCursor, match="expired"):
        cursors.read(cursor, FINGERPRINT)


def test_a_cursor_longer_than_the_limit_is_refused_before_its_mac_is_checked() -> None:
    cursors = signer()
    long_key = "x" * MAX_CURSOR_CHARS
    cursor = cursors.issue(FINGERPRINT, Position("days", long_key))
    assert len(cursor) > MAX_CURSOR_CHARS
    with pytest.raises(InvalidCursor, match="not one this service issued"):
        cursors.read(cursor, FINGERPRINT)


def test_a_correctly_signed_cursor_of_another_version_is_refused() -> None:
    with pytest.raises(InvalidCursor, match="not one this service issued"):
        signer().read(signed(body(v=VERSION + 1)), FINGERPRINT)


@pytest.mark.parametrize(
    "payload",
    [
        {key: value for key, value in body().items() if key != "k"},  # a field missing
        body(t="yesterday"),  # issued at no time
        body(s=7),  # a source that is no name
        ["v", 1],  # not an object
        "just text",
    ],
)
def test_a_correctly_signed_cursor_without_the_expected_fields_is_refused(payload: Any) -> None:
    with pytest.raises(InvalidCursor, match="not one this service issued"):
        signer().read(signed(payload), FINGERPRINT)


def test_a_correctly_signed_cursor_that_is_not_json_is_refused() -> None:
    payload = _b64(b"\xff\xfe not json")
    mac = _b64(hmac.new(KEY, payload.encode("ascii"), hashlib.sha256).digest())
    with pytest.raises(InvalidCursor, match="not one this service issued"):
        signer().read(f"{payload}.{mac}", FINGERPRINT)
