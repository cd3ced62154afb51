"""Short-lived links to stored images: SigV4-presigned S3 GET URLs (no request is made to S3).

Kept apart from the storage package so that the read path, which only presigns, does not load
what downloading and uploading need (requests among them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's limit
_PRESIGN_HANDLER_ID = "ideogram-assets-presign-sigv4"


def _presign_with_sigv4(signature_version: str, **_: object) -> str | None:
    """choose-signer hook: SigV4 for presigned URLs, whatever the client was configured with.

    Unless a client is created with `signature_version="s3v4"`, botocore presigns S3 URLs with
    SigV2, which regions opened since 2014 and buckets created since mid-2020 refuse. v4a
    (multi-region access points) and S3 Express keep the signer botocore chose.
    """
    if signature_version.endswith("-query") and not signature_version.startswith(("v4a", "v4-s3express")):
        return "s3v4-query"
    return None


def presigned_get_url(s3: S3Client, bucket: str, key: str, expires_in: int = 900) -> str:
    """A time-limited, SigV4-signed GET URL for the stored object (no request is made to S3)."""
    if not 0 < expires_in <= _MAX_PRESIGN_SECONDS:
        raise ValueError(f"expires_in must be between 1 and {_MAX_PRESIGN_SECONDS} seconds")
    # Once per client (unique_id), ahead of botocore's own SigV2 default for presigning.
    # (The stubs type every handler as returning None; choose-signer handlers return a name.)
    handler = cast("Callable[..., None]", _presign_with_sigv4)
    s3.meta.events.register_first("choose-signer.s3.GetObject", handler, unique_id=_PRESIGN_HANDLER_ID)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in)
    if "X-Amz-Algorithm=AWS4-" not in url:  # SigV2 would also ignore the expiry limit above
        raise ValueError("the S3 client presigned without SigV4")
    return url
