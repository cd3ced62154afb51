"""Emulator settings: the per-run configuration and the fault switches changeable at runtime."""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY = "local-ideogram-key"


@dataclass
class EmulatorSettings:
    """Everything the emulator can be told; the object is live, so changes apply to the next request."""

    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    # Signs the ephemeral image URLs; random per run, so URLs from an earlier run are refused.
    # Read once at start, like max_cached_render_bytes; every other field is read per request.
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    # Overrides the scheme://host:port of image URLs; by default the Host the client used is echoed.
    public_base_url: str | None = None
    log_requests: bool = True
    max_cached_render_bytes: int = 64 * 1024 * 1024

    # Fault switches and rules, readable and writable over HTTP at /_emulator/faults.
    url_ttl_seconds: int = 3600
    inflight_limit: int = 10
    safety_pattern: str = r"\bforbidden\b"
    unsafe_pattern: str = r"\bunsafe\b"
    latency_seconds: float = 0.0
    download_bandwidth_bps: int = 0  # bytes per second; 0 means unlimited
    error_rate_5xx: float = 0.0
    fail_next: list[dict[str, Any]] = field(default_factory=list)
    truncate_download: bool = False
    wrong_content_type: bool = False
    huge_image_bytes: int = 0


def _non_negative_int(name: str, value: Any) -> int:
    # bool is an int subclass; `true` for a size is a caller mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _non_negative_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def _probability(name: str, value: Any) -> float:
    number = _non_negative_number(name, value)
    if number > 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return number


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _pattern(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a regular expression string, got {value!r}")
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"{name} is not a valid regular expression: {error}") from error
    return value


def _scripted_responses(name: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list of objects like {{'status': 429}}, got {value!r}")
    scripted: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"status", "body"}:
            raise ValueError(f"{name}[{index}] must be an object with 'status' and optional 'body'")
        status = item.get("status")
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"{name}[{index}].status must be an HTTP status 200..599, got {status!r}")
        if "body" in item and not isinstance(item["body"], dict):
            raise ValueError(f"{name}[{index}].body must be a JSON object")
        scripted.append(dict(item))
    return scripted


# The runtime-changeable fields and how each is checked; also what GET /_emulator/faults shows.
FAULT_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "latency_seconds": _non_negative_number,
    "download_bandwidth_bps": _non_negative_int,
    "error_rate_5xx": _probability,
    "fail_next": _scripted_responses,
    "truncate_download": _boolean,
    "wrong_content_type": _boolean,
    "huge_image_bytes": _non_negative_int,
    "url_ttl_seconds": _non_negative_int,
    "inflight_limit": _non_negative_int,
    "safety_pattern": _pattern,
    "unsafe_pattern": _pattern,
}


def fault_view(settings: EmulatorSettings) -> dict[str, Any]:
    """The fault switches as JSON-ready data (never the API key or the signing secret)."""
    view = {name: getattr(settings, name) for name in FAULT_FIELDS}
    view["fail_next"] = [dict(item) for item in settings.fail_next]
    return view


def apply_faults(settings: EmulatorSettings, updates: Mapping[str, Any]) -> None:
    """Check every update first, then apply them all, so a bad request changes nothing."""
    unknown = sorted(set(updates) - set(FAULT_FIELDS))
    if unknown:
        raise ValueError(f"unknown fault field(s) {unknown}; known: {sorted(FAULT_FIELDS)}")
    checked = {name: FAULT_FIELDS[name](name, value) for name, value in updates.items()}
    for name, value in checked.items():
        setattr(settings, name, value)


def snapshot_faults(settings: EmulatorSettings) -> dict[str, Any]:
    """A deep copy of the fault fields, kept at start so a reset returns to the run's own values."""
    return {name: value for name, value in dataclasses.asdict(settings).items() if name in FAULT_FIELDS}
