"""Reading a stored object back: its size, SHA-256 and PNG dimensions, as S3 holds it."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ideogram_assets.storage.persist import StoredObject
from ideogram_assets.storage.png import PNG_HEADER_BYTES, NotPng, parse_png_header
from ideogram_assets.storage.upload import PNG_CONTENT_TYPE

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_READ_BYTES = 1024 * 1024
_ABSENT = frozenset({"NoSuchKey", "404", "NotFound"})


def object_exists(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _ABSENT:
            return False
        raise
    return True


def read_back(s3: S3Client, bucket: str, key: str) -> StoredObject | None:
    """The object as stored (streamed, hashed as it passes), or None when there is none or it
    is not a PNG (a stray upload is not an image to keep)."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _ABSENT:
            return None
        raise
    digest, size, head = hashlib.sha256(), 0, b""
    body = response["Body"]
    try:
        for chunk in body.iter_chunks(_READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if len(head) < PNG_HEADER_BYTES:
                head += chunk[: PNG_HEADER_BYTES - len(head)]
    finally:
        body.close()
    try:
        width, height = parse_png_header(head)
    except NotPng:
        return None
    return StoredObject(
        bucket=bucket,
        key=key,
        size_bytes=size,
        sha256=digest.hexdigest(),
        content_type=PNG_CONTENT_TYPE,
        width=width,
        height=height,
        etag=str(response.get("ETag", "")),
        version_id=response.get("VersionId"),
    )
