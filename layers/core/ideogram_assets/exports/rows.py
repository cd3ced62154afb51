"""A generation record as one line of an export, in JSON Lines or CSV.

The fields and their order are the export's contract (README, docs); CSV has the same columns
in the same order, tags joined with ";", booleans as true/false and nothing for a missing value.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args

from ideogram_assets.records.status import Status

if TYPE_CHECKING:
    from ideogram_assets.records.model import GenerationRecord

ExportFormat = Literal["jsonl", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
CONTENT_TYPES: Mapping[ExportFormat, str] = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
TAG_SEPARATOR = ";"

FIELDS = (
    "id",
    "requestId",
    "prompt",
    "expandedPrompt",
    "negativePrompt",
    "model",
    "renderingSpeed",
    "styleType",
    "aspectRatio",
    "resolution",
    "seed",
    "tags",
    "starred",
    "note",
    "status",
    "stored",
    "storedUri",
    "sha256",
    "sizeBytes",
    "costUsd",
    "promptHash",
    "createdAt",
)

Row = dict[str, Any]


def _optional_int(value: float | None) -> int | None:
    return None if value is None else int(value)


def export_row(record: GenerationRecord) -> Row:
    """The record's export fields, in FIELDS order, with JSON types."""
    stored = record.status == Status.STORED and bool(record.bucket and record.key)
    row: Row = {
        "id": record.id,
        "requestId": record.request_id,
        "prompt": record.prompt,
        "expandedPrompt": record.expanded_prompt,
        "negativePrompt": record.negative_prompt,
        "model": record.model,
        "renderingSpeed": record.rendering_speed,
        "styleType": record.style_type,
        "aspectRatio": record.aspect_ratio,
        "resolution": record.resolution,
        "seed": _optional_int(record.seed),
        "tags": sorted(record.tags or ()),
        # getattr: records written before curation existed carry neither attribute.
        "starred": bool(getattr(record, "starred", None)),
        "note": getattr(record, "note", None) or None,
        "status": str(record.status),
        "stored": stored,
        "storedUri": f"s3://{record.bucket}/{record.key}" if stored else None,
        "sha256": record.sha256,
        "sizeBytes": _optional_int(record.size_bytes),
        "costUsd": record.cost_usd,
        "promptHash": record.prompt_hash,
        "createdAt": record.created_at,
    }
    return row


def jsonl_line(row: Row) -> str:
    """One JSON document on one line (newlines inside strings are escaped by JSON itself)."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return TAG_SEPARATOR.join(str(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_line(cells: list[str]) -> str:
    # RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled, CRLF ends.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(cells)
    return buffer.getvalue()


def csv_header() -> str:
    return _csv_line(list(FIELDS))


def csv_line(row: Row) -> str:
    return _csv_line([_csv_cell(row[name]) for name in FIELDS])


def header(export_format: ExportFormat) -> str:
    """What the file starts with: the column names for CSV, nothing for JSON Lines."""
    return csv_header() if export_format == "csv" else ""


def line_encoder(export_format: ExportFormat) -> Callable[[Row], str]:
    return csv_line if export_format == "csv" else jsonl_line


def file_extension(export_format: ExportFormat) -> str:
    return export_format
