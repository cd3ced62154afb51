"""Records as the API shows them, with a fresh presigned link to each stored image.

Links expire, so they are made per reply and never stored (an idempotent replay gets new ones).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ideogram_assets.api.generations import GenerationView
from ideogram_assets.records.status import Status

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from ideogram_assets.records.model import GenerationRecord


def _optional_int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _matches_parent(record: GenerationRecord) -> bool | None:
    if not record.parent_sha256 or not record.sha256:
        return None
    return record.parent_sha256 == record.sha256


def generation_view(record: GenerationRecord, s3: S3Client, link_seconds: int) -> GenerationView:
    """The record's fields as the API names them, with a link when its image is stored."""
    stored = record.status == Status.STORED and bool(record.bucket and record.key)
    link: str | None = None
    if stored and record.bucket and record.key:
        from ideogram_assets.links import presigned_get_url  # the read path's first link loads it

        link = presigned_get_url(s3, record.bucket, record.key, link_seconds)
    return GenerationView(
        id=record.id,
        request_id=record.request_id,
        index_in_request=int(record.index_in_request),
        status=record.status,
        source=record.source,
        correlation_id=record.correlation_id,
        batch_id=record.batch_id,
        parent_id=record.parent_id,
        matches_parent=_matches_parent(record),
        prompt=record.prompt,
        expanded_prompt=record.expanded_prompt,
        negative_prompt=record.negative_prompt,
        model=record.model,
        rendering_speed=record.rendering_speed,
        style_type=record.style_type,
        aspect_ratio=record.aspect_ratio,
        resolution=record.resolution,
        seed=_optional_int(record.seed),
        color_palette=record.color_palette,
        tags=sorted(record.tags or ()),
        starred=bool(record.starred),
        note=record.note,
        is_safe=record.is_safe,
        stored_uri=f"s3://{record.bucket}/{record.key}" if stored else None,
        size_bytes=_optional_int(record.size_bytes),
        sha256=record.sha256,
        content_type=record.content_type,
        width=_optional_int(record.width),
        height=_optional_int(record.height),
        cost_usd=record.cost_usd,
        prompt_hash=record.prompt_hash,
        created_at=record.created_at,
        failure_kind=record.failure_kind,
        retention_class=record.retention_class,
        legal_hold=bool(record.legal_hold),
        expires_on=record.expires_on,
        image_url=link,
        image_url_expires_in=link_seconds if link else None,
    )
