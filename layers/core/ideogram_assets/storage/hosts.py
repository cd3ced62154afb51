"""Which URLs may be fetched at all: an allowlist of hosts, checked before any request is made.

An entry is a host name ("ideogram.ai"), a wildcard for its subdomains ("*.ideogram.ai", which
does not match "ideogram.ai" itself), or an IP literal, each optionally with ":port". Without a
port an entry matches the scheme's default port only, except a loopback entry ("127.0.0.1",
"localhost", "::1"), which matches any port. URLs must be https; plain http is allowed only for
a loopback host listed exactly (the local Ideogram emulator), never through a wildcard.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, urlsplit

_DEFAULT_PORTS = {"https": 443, "http": 80}
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# Whitespace, controls and backslashes are parsed differently by different URL parsers (WHATWG
# strips some, urllib keeps others); refusing them means the host we check is the host fetched.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class _Entry:
    host: str
    port: int | None
    wildcard: bool


def _normal_host(host: str | None) -> str | None:
    """The host in canonical form, or None if it is neither a DNS name nor an IP literal."""
    if not host:
        return None
    host = host.lower().removesuffix(".")
    try:
        return str(ipaddress.ip_address(host))  # one spelling per address: "::1", never "0::1"
    except ValueError:
        pass
    # A name ending in a numeric label is not a domain name; resolvers may read it as an IPv4
    # address in another notation ("127.1", "0x7f.1"), so it is refused outright.
    if not _HOSTNAME.match(host) or host.rsplit(".", 1)[-1].isdigit():
        return None
    return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_entry(entry: str) -> _Entry | None:
    text = entry.strip().lower()
    wildcard = text.startswith("*.")
    parts = urlsplit("//" + text.removeprefix("*."))
    try:
        port = parts.port
    except ValueError:
        return None
    host = _normal_host(parts.hostname)
    if host is None or parts.username is not None or (wildcard and _is_ip(host)):
        return None
    return _Entry(host=host, port=port, wildcard=wildcard)


@lru_cache(maxsize=32)
def _entries(allowed_hosts: frozenset[str]) -> tuple[_Entry, ...]:
    # Malformed entries are dropped: they can only ever narrow what is allowed.
    return tuple(entry for text in allowed_hosts if (entry := _parse_entry(text)) is not None)


def _matches(entry: _Entry, scheme: str, host: str, port: int) -> bool:
    if entry.wildcard:
        host_ok = scheme == "https" and not _is_ip(host) and host.endswith("." + entry.host)
    else:
        host_ok = host == entry.host and (scheme == "https" or _is_loopback(host))
    if entry.port is not None:
        return host_ok and port == entry.port
    # A loopback entry without a port is the local emulator, whose port is picked at run time.
    return host_ok and (port == _DEFAULT_PORTS[scheme] or (not entry.wildcard and _is_loopback(host)))


def _split(url: str) -> SplitResult | None:
    if _UNSAFE_CHARACTERS.search(url):
        return None
    try:
        return urlsplit(url)
    except ValueError:
        return None


def host_allowed(url: str, allowed_hosts: Iterable[str]) -> bool:
    """True if `url` may be fetched: https (or http to a listed loopback host) to a listed host."""
    parts = _split(url)
    if parts is None:
        return False
    scheme = parts.scheme.lower()
    # Any userinfo is refused: "https://ideogram.ai@evil.com/" goes to evil.com, and parsers
    # disagree on where userinfo ends in stranger spellings.
    if scheme not in _DEFAULT_PORTS or "@" in parts.netloc:
        return False
    try:
        port = parts.port
    except ValueError:  # out of range or not a number
        return False
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    host = _normal_host(parts.hostname)
    if host is None:
        return False
    entries = _entries(frozenset(allowed_hosts))
    return any(_matches(entry, scheme, host, port) for entry in entries)


def redact_url(url: str) -> str:
    """scheme://host[:port]/path: what may be logged or shown of an image URL (no query, no userinfo)."""
    parts = _split(url)
    if parts is None or not parts.hostname:
        return "<unparseable URL>"
    try:
        port = "" if parts.port is None else f":{parts.port}"
    except ValueError:
        port = ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme.lower()}://{host}{port}{parts.path}"
