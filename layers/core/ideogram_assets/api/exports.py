"""POST /exports and GET /exports/{id}: what to export, and an export job as the API shows it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ideogram_assets.api.generations import ApiModel
from ideogram_assets.api.search import SearchFields
from ideogram_assets.exports.rows import ExportFormat

EXPORT_ID_PATTERN = r"^[0-9a-f]{32}$"


class ExportRequest(BaseModel):
    """POST /exports: the format of the file and which records go in it (all by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: ExportFormat = Field(
        default="jsonl",
        description="jsonl: one JSON object per line (application/x-ndjson); csv: RFC 4180, "
        "a header row, tags joined with ';'",
    )
    filters: SearchFields = Field(
        default_factory=SearchFields,
        description="The same filters as GET /generations; none: every record",
    )


class ExportView(ApiModel):
    """An export job. `url` (a short-lived presigned link to the file) is there once it is DONE."""

    id: str
    status: Literal["RUNNING", "DONE", "FAILED"]
    format: ExportFormat
    filters: dict[str, Any] = Field(description="The filters as they were asked for")
    created_at: str
    finished_at: str | None = None
    records: int | None = Field(default=None, description="Records in the file, once DONE")
    bytes: int | None = Field(default=None, description="Size of the file, once DONE")
    url: str | None = None
    url_expires_in: int | None = Field(default=None, description="Seconds the url stays valid")
    message: str | None = Field(default=None, description="Why it FAILED")
