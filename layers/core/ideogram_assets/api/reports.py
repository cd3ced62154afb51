"""GET /reports/storage: images, bytes, estimated cost and unsafe rate by model, style, tag, month."""

from __future__ import annotations

from pydantic import Field

from ideogram_assets.api.generations import ApiModel


class ReportRow(ApiModel):
    value: str = Field(description="The model, style, tag, month (YYYY-MM), status or class counted")
    records: int = Field(description="Records, whatever their status")
    images: int = Field(description="Images stored (a copy exists in the bucket)")
    bytes: int = Field(description="Size of those images (and of any gone missing from the bucket)")
    generated: int = Field(description="Images Ideogram answered with (and billed)")
    unsafe: int = Field(description="Of those, images Ideogram withheld as unsafe")
    unsafe_rate: float = Field(description="unsafe / generated (0 when nothing was generated)")
    cost_usd: float = Field(description="Estimated Ideogram charges, US dollars")


class StorageReport(ApiModel):
    """Read from counter items kept by atomic ADD: the same few reads at any table size."""

    generated_at: str
    totals: ReportRow
    by_model: list[ReportRow]
    by_style: list[ReportRow]
    by_tag: list[ReportRow]
    by_month: list[ReportRow]
    by_status: list[ReportRow]
    by_retention_class: list[ReportRow]
