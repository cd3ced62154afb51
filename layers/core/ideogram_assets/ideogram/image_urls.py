"""Ideogram's image URLs are signed and expire; when a given one does."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

# Documented lifetime of an Ideogram URL when it does not carry its own expiry (?exp=).
ASSUMED_URL_LIFETIME = timedelta(hours=1)
MAX_URL_LIFETIME = timedelta(days=7)


def url_expiry(url: str, created: datetime) -> datetime:
    """The URL's own `exp` (Unix seconds) when it has a plausible one, else the documented lifetime."""
    exp = parse_qs(urlsplit(url).query).get("exp", [""])[0]
    if exp.isascii() and exp.isdigit():
        seconds, now = int(exp), created.timestamp()
        # Anything but "within a week from now" is not a Unix time in seconds (e.g. milliseconds).
        if now - ASSUMED_URL_LIFETIME.total_seconds() <= seconds <= now + MAX_URL_LIFETIME.total_seconds():
            return datetime.fromtimestamp(seconds, tz=created.tzinfo)
    return created + ASSUMED_URL_LIFETIME
