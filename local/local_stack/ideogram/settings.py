"""Emulator settings: the per-run configuration and the fault switches changeable at runtime."""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY = "local-ideogram-key"
# How one image's download can be made to fail (see `image_faults`).
IMAGE_FAULT_KINDS = ("truncate", "reset", "wrong_content_type", "stall")
# Ways a 200 reply to a generate call can be made unreadable (see `unreadable_response`).
UNREADABLE_RESPONSES = ("not_json", "breaks_schema")
DEFAULT_STALL_SECONDS = 30.0
_MAX_STALL_SECONDS = 600.0
_MAX_IMAGES = 8  # the spec's num_images maximum


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
    # Ideogram decides how many images it returns: data[] has num_images + this many (at least 0).
    return_images_delta: int = 0
    # A 200 reply that cannot be read: "not_json" (the JSON cut short) or "breaks_schema" (no data[]).
    unreadable_response: str | None = None
    # Per-image download faults: [{"index": 1, "fault": "reset", "times": 1}], see _image_faults.
    image_faults: list[dict[str, Any]] = field(default_factory=list)


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


def _images_delta(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > _MAX_IMAGES:
        raise ValueError(f"{name} must be an integer between -{_MAX_IMAGES} and {_MAX_IMAGES}, got {value!r}")
    return value


def _unreadable_response(name: str, value: Any) -> str | None:
    if value is not None and value not in UNREADABLE_RESPONSES:
        raise ValueError(f"{name} must be null or one of {list(UNREADABLE_RESPONSES)}, got {value!r}")
    return None if value is None else str(value)


def _image_faults(name: str, value: Any) -> list[dict[str, Any]]:
    """Rules like {"index": 1, "fault": "reset", "times": 1, "after_bytes": 4096, "stall_seconds": 30}.

    `index` is the image's position in its generate reply's data[]; `times` is how many GETs of
    each such image fail before it downloads normally (absent or null: every one); `after_bytes`
    is where truncate, reset and stall cut the body (default: half of it); `stall_seconds` is how
    long a stall holds the connection before closing it (default 30, ended early when the client
    hangs up).
    """
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list of objects like {{'index': 1, 'fault': 'reset'}}")
    known = {"index", "fault", "times", "after_bytes", "stall_seconds"}
    rules: list[dict[str, Any]] = []
    for position, item in enumerate(value):
        where = f"{name}[{position}]"
        if not isinstance(item, dict) or not {"index", "fault"} <= set(item) or set(item) - known:
            raise ValueError(f"{where} must be an object with 'index' and 'fault', and only {sorted(known)}")
        _non_negative_int(f"{where}.index", item["index"])
        if item["fault"] not in IMAGE_FAULT_KINDS:
            raise ValueError(f"{where}.fault must be one of {list(IMAGE_FAULT_KINDS)}, got {item['fault']!r}")
        times = item.get("times")
        if times is not None and _non_negative_int(f"{where}.times", times) == 0:
            raise ValueError(f"{where}.times must be at least 1, or null for every download")
        if "after_bytes" in item:
            _non_negative_int(f"{where}.after_bytes", item["after_bytes"])
        stall = _non_negative_number(f"{where}.stall_seconds", item.get("stall_seconds", 0))
        if stall > _MAX_STALL_SECONDS:
            raise ValueError(f"{where}.stall_seconds must be at most {_MAX_STALL_SECONDS}")
        rules.append(dict(item))
    return rules


# The runtime-changeable fields and how each is checked; also what GET /_emulator/faults shows.
FAULT_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "latency_seconds": _non_negative_number,
    "download_bandwidth_bps": _non_negative_int,
    "error_rate_5xx": _probability,
    "fail_next": _scripted_responses,
    "truncate_download": _boolean,
    "wrong_content_type": _boolean,
    "huge_image_bytes": _non_negative_int,
    "return_images_delta": _images_delta,
    "unreadable_response": _unreadable_response,
    "image_faults": _image_faults,
    "url_ttl_seconds": _non_negative_int,
    "inflight_limit": _non_negative_int,
    "safety_pattern": _pattern,
    "unsafe_pattern": _pattern,
}


def fault_view(settings: EmulatorSettings) -> dict[str, Any]:
    """The fault switches as JSON-ready data (never the API key or the signing secret)."""
    view = {name: getattr(settings, name) for name in FAULT_FIELDS}
    view["fail_next"] = [dict(item) for item in settings.fail_next]
    view["image_faults"] = [dict(item) for item in settings.image_faults]
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
