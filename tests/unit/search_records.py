"""Generation records built in memory for the search, index and counter tests (no table)."""

from __future__ import annotations

from typing import Any

from ideogram_assets.records.model import GenerationRecord, record_key
from ideogram_assets.records.status import Status

CREATED_AT = "2026-11-27T09:30:00.000Z"
PROMPT_HASH = "ab" * 32


def record(generation_id: str = "a" * 32, **overrides: Any) -> GenerationRecord:
    """A STORED record of a red fox; any attribute can be overridden (None leaves it unset)."""
    created_at = str(overrides.get("created_at", CREATED_AT))
    fields: dict[str, Any] = {
        "id": generation_id,
        "request_id": "req-1",
        "index_in_request": 0,
        "status": Status.STORED.value,
        "source": "api",
        "prompt": "a red fox",
        "model": "V_3",
        "rendering_speed": "TURBO",
        "prompt_hash": PROMPT_HASH,
        "created_at": created_at,
        "updated_at": created_at,
        "time_bucket": created_at[:10],
        **overrides,
    }
    return GenerationRecord(record_key(generation_id), **{k: v for k, v in fields.items() if v is not None})
