"""Records as the API shows them, with a short-lived presigned link to each stored image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ideogram_assets.api_models import GenerationView
from ideogram_assets.config import Settings
from ideogram_assets.status import Status

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from ideogram_assets.records import GenerationRecord


def to_view(record: GenerationRecord, s3: S3Client, settings: Settings) -> GenerationView:
    """The record as the API shows it, with a fresh link to its image when it is stored."""
    return with_fresh_link(record_view(record), s3, settings)


def with_fresh_link(view: GenerationView, s3: S3Client, settings: Settings) -> GenerationView:
    """The view with a newly presigned link (links expire, so they are never stored or replayed)."""
    if view.status != Status.STORED or not view.stored_uri:
        return view.model_copy(update={"image_url": None, "image_url_expires_in": None})
    # Imported here: the storage package brings requests, which reads need not load.
    from ideogram_assets.storage import presigned_get_url

    bucket, key = view.stored_uri.removeprefix("s3://").split("/", 1)
    link = presigned_get_url(s3, bucket, key, settings.presigned_url_seconds)
    return view.model_copy(update={"image_url": link, "image_url_expires_in": settings.presigned_url_seconds})


def record_view(record: GenerationRecord) -> GenerationView:
    """The record's fields as the API names them, without a link."""
    return GenerationView(
        id=record.id,
        request_id=record.request_id,
        index_in_request=int(record.index_in_request),
        status=record.status,
        source=record.source,
        parent_id=record.parent_id,
        prompt=record.prompt,
        expanded_prompt=record.expanded_prompt,
        negative_prompt=record.negative_prompt,
        model=record.model,
        rendering_speed=record.rendering_speed,
        style_type=record.style_type,
        aspect_ratio=record.aspect_ratio,
        resolution=record.resolution,
        seed=int(record.seed) if record.seed is not None else None,
        color_palette=record.color_palette,
        tags=sorted(record.tags or ()),
        is_safe=record.is_safe,
        stored_uri=record.stored_uri,
        size_bytes=int(record.size_bytes) if record.size_bytes is not None else None,
        sha256=record.sha256,
        content_type=record.content_type,
        width=int(record.width) if record.width is not None else None,
        height=int(record.height) if record.height is not None else None,
        cost_usd=record.cost_usd,
        prompt_hash=record.prompt_hash,
        created_at=record.created_at,
        failure_kind=record.failure_kind,
    )
