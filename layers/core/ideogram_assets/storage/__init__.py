"""Persisting Ideogram's expiring images to S3: download checked and streamed, upload beside it.

    stored = persist_image(url, bucket=..., key=..., metadata={...}, tags={...},
                           policy=DownloadPolicy(allowed_hosts=frozenset({"ideogram.ai"})),
                           s3=s3_client(), session=requests.Session())

Modules: hosts (the URL allowlist), png (signature and IHDR), download (the checked, streamed
GET), upload (put_object or overlapped multipart upload, clean-up), persist (the two together).
"""

from ideogram_assets.storage.download import DownloadPolicy
from ideogram_assets.storage.errors import DownloadRejected, RejectionKind, StorageError
from ideogram_assets.storage.hosts import host_allowed
from ideogram_assets.storage.persist import StoredObject, persist_image

__all__ = [
    "DownloadPolicy",
    "DownloadRejected",
    "RejectionKind",
    "StorageError",
    "StoredObject",
    "host_allowed",
    "persist_image",
]
