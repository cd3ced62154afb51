"""Ephemeral image URLs: `<id>.png?exp=<unix>&sig=<hex HMAC-SHA256>`, refused once tampered or expired."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

EPHEMERAL_PREFIX = "/api/images/ephemeral/"


class UrlRefused(Exception):
    """The URL's signature does not match or it has expired (HTTP 403)."""


class UrlSigner:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def signature(self, image_id: str, expires_at: int) -> str:
        message = f"{EPHEMERAL_PREFIX}{image_id}.png?exp={expires_at}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, image_id: str, now: float, ttl_seconds: int) -> str:
        expires_at = int(now) + ttl_seconds
        query = urlencode({"exp": expires_at, "sig": self.signature(image_id, expires_at)})
        return f"{base_url.rstrip('/')}{EPHEMERAL_PREFIX}{image_id}.png?{query}"

    def verify(self, image_id: str, exp: str | None, sig: str | None, now: float) -> None:
        """Raise UrlRefused unless `sig` signs (id, exp) and `exp` is still in the future."""
        if exp is None or sig is None:
            raise UrlRefused("the image URL lacks its exp or sig parameter")
        # Canonical digits only, so "exp=0123" cannot pass with the signature made for 123.
        if not (exp.isascii() and exp.isdigit()) or exp != str(int(exp)):
            raise UrlRefused("the image URL's exp is not a unix timestamp")
        expected = self.signature(image_id, int(exp))
        # Constant-time comparison of secret-derived values; compare_digest needs ASCII text.
        if not sig.isascii() or not hmac.compare_digest(expected, sig.lower()):
            raise UrlRefused("the image URL's signature does not match")
        if now >= int(exp):
            raise UrlRefused("the image URL has expired")
