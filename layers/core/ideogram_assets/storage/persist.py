"""persist_image: Ideogram's expiring image URL in, a permanent, verified S3 object out."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import requests

from ideogram_assets.observability import logger
from ideogram_assets.storage.download import DownloadPolicy, ImageDownload, open_image
from ideogram_assets.storage.errors import DownloadRejected, StorageError
from ideogram_assets.storage.hosts import redact_url
from ideogram_assets.storage.upload import (
    PNG_CONTENT_TYPE,
    MultipartUpload,
    ObjectTarget,
    Written,
    prepare_client,
    put_single,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class StoredObject:
    """What was stored, as S3 holds it (size checked against S3 after the upload)."""

    bucket: str
    key: str
    size_bytes: int
    sha256: str  # hex, of the bytes stored
    content_type: str
    width: int
    height: int
    etag: str
    version_id: str | None


def _upload_multipart(
    s3: S3Client, target: ObjectTarget, download: ImageDownload, part_size: int, first: bytearray | None
) -> Written:
    """Parts uploaded while the next ones download; `first`, if given, is part 1, already read."""
    upload = MultipartUpload(s3, target, part_size)
    try:
        upload.begin(held_buffers=0 if first is None else 1)
        if first is not None:
            upload.submit(first, len(first))
        while not download.at_eof():
            buffer = upload.acquire_buffer()
            upload.submit(buffer, download.readinto(buffer))
        return upload.finish(download.received)
    except BaseException:
        upload.abort()  # any failure, download or upload: no parts and no object stay behind
        raise


def _store(s3: S3Client, target: ObjectTarget, download: ImageDownload, policy: DownloadPolicy) -> Written:
    if download.content_length is not None and download.content_length > policy.part_size:
        # Known to need parts: create the upload now, while the first part downloads.
        return _upload_multipart(s3, target, download, policy.part_size, first=None)
    first = bytearray(download.first_buffer_size(policy.part_size))
    filled = download.readinto(first)
    if not download.at_eof():  # no Content-Length, and more than one part
        return _upload_multipart(s3, target, download, policy.part_size, first=first)
    # The whole image fits in one part and has been read and checked: one request.
    return put_single(s3, target, first, filled, download.sha256)


def persist_image(
    url: str,
    *,
    bucket: str,
    key: str,
    metadata: Mapping[str, str],
    tags: Mapping[str, str],
    policy: DownloadPolicy,
    s3: S3Client,
    session: requests.Session,
    deadline: float | None = None,
) -> StoredObject:
    """Downloads the PNG at `url` and stores it at s3://bucket/key, or raises and stores nothing.

    `deadline` is a `time.monotonic()` value by which the download must be done (say, a margin
    before the Lambda's own timeout); it is checked between chunks and caps each network wait.
    Raises DownloadRejected (the image is not acceptable or could not be fetched) or
    StorageError (S3 failed); in both cases no object and no multipart parts remain.
    """
    started = time.monotonic()
    target = ObjectTarget(
        bucket=bucket, key=key, metadata=dict(metadata), tagging=urlencode(dict(tags), quote_via=quote)
    )
    source = redact_url(url)
    prepare_client(s3)
    try:
        # S3 itself checks what it stored: the single upload carries the SHA-256, the
        # multipart completion the total size (MpuObjectSize) and each part its CRC32.
        with open_image(url, policy, session, deadline) as download:
            written = _store(s3, target, download, policy)
    except (DownloadRejected, StorageError) as error:
        logger.warning(
            "image not persisted",
            extra={"key": key, "source": source, "kind": error.kind, "reason": error.message},
        )
        raise
    stored = StoredObject(
        bucket=bucket,
        key=key,
        size_bytes=download.received,
        sha256=download.sha256.hex(),
        content_type=PNG_CONTENT_TYPE,
        width=download.width,
        height=download.height,
        etag=written.etag,
        version_id=written.version_id,
    )
    logger.info(
        "image persisted",
        extra={
            "bucket": bucket,
            "key": key,
            "source": source,
            "size_bytes": stored.size_bytes,
            "sha256": stored.sha256,
            "width": stored.width,
            "height": stored.height,
            "parts": written.parts,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    return stored
