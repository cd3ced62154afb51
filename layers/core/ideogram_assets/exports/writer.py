"""Text written line by line into one S3 object, in fixed-size multipart parts: the memory held
is one part, however large the object grows.

`PartSplitter` is the arithmetic (every `part_size` bytes written make one part, the rest waits);
`ExportObjectWriter` sends the parts: an object smaller than one part is a single PutObject, a
larger one a multipart upload created with its first full part and completed on `close()`.
Anything that fails on the way aborts the upload, so no parts are left behind.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ideogram_assets.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

# S3's smallest part but the last, and its most parts per upload.
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000
DEFAULT_PART_BYTES = 8 * 1024 * 1024
_S3_ERRORS = (ClientError, BotoCoreError)


class ExportWriteFailed(Exception):
    """S3 refused part of the export; the upload has been (or is being) aborted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def _failed(operation: str, error: Exception) -> ExportWriteFailed:
    return ExportWriteFailed(f"S3 {operation} failed ({_error_code(error)})")


def _crc32(data: memoryview) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode("ascii")


class PartSplitter:
    """Cuts a stream of bytes into parts of exactly `part_size` bytes, handed to `emit` as they
    fill; `pending()` is what is left for the last, shorter part.

    One buffer of `part_size` bytes is allocated once and reused: `emit` must be done with the
    view it gets before it returns.
    """

    def __init__(self, part_size: int, emit: Callable[[memoryview], None]) -> None:
        if part_size < 1:
            raise ValueError("part_size must be positive")
        self.part_size = part_size
        self._emit = emit
        self._buffer = bytearray(part_size)
        self._filled = 0
        self.total = 0
        self.parts_emitted = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            room = self.part_size - self._filled
            taken = view[:room]
            self._buffer[self._filled : self._filled + len(taken)] = taken
            self._filled += len(taken)
            self.total += len(taken)
            view = view[len(taken) :]
            if self._filled == self.part_size:
                with memoryview(self._buffer) as part:
                    self._emit(part)
                self.parts_emitted += 1
                self._filled = 0

    def pending(self) -> memoryview:
        """The bytes written since the last full part (a view of the buffer: read it, then drop it)."""
        return memoryview(self._buffer)[: self._filled]


@dataclass(frozen=True)
class WrittenObject:
    key: str
    size: int
    parts: int  # 1 for a single PutObject


@dataclass(frozen=True)
class ObjectSettings:
    bucket: str
    key: str
    content_type: str
    # e.g. `attachment; filename="generations-<id>.csv"`: what a browser saves the download as.
    content_disposition: str


class ExportObjectWriter:
    """Writes text to one S3 object as it comes: `write()` lines, then `close()`, or `abort()`.

    Not thread-safe; one writer per export.
    """

    def __init__(self, s3: S3Client, target: ObjectSettings, part_size: int = DEFAULT_PART_BYTES) -> None:
        if part_size < MIN_PART_BYTES:
            raise ValueError(f"S3 parts are at least {MIN_PART_BYTES} bytes (but the last)")
        self._s3 = s3
        self._target = target
        self._splitter = PartSplitter(part_size, self._upload_full_part)
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._closed = False

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._splitter.total

    def write(self, text: str) -> None:
        if self._closed:
            raise ValueError("the export object is closed")
        self._splitter.write(text.encode("utf-8"))

    def close(self) -> WrittenObject:
        """Sends what is left and completes the object; on failure the upload is aborted."""
        self._closed = True
        try:
            if self._upload_id is None:
                with self._splitter.pending() as whole:
                    self._put_whole(whole)
                return WrittenObject(self._target.key, self._splitter.total, parts=1)
            with self._splitter.pending() as last:
                if last:
                    self._upload_part(last)
            self._complete()
        except BaseException:
            self.abort()
            raise
        return WrittenObject(self._target.key, self._splitter.total, parts=len(self._parts))

    def abort(self) -> None:
        """Removes the parts uploaded so far (a single PutObject leaves nothing to remove)."""
        self._closed = True
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        try:
            self._s3.abort_multipart_upload(
                Bucket=self._target.bucket, Key=self._target.key, UploadId=upload_id
            )
        except _S3_ERRORS as error:
            # The bucket's abort-incomplete-multipart-uploads lifecycle rule is the backstop.
            logger.error(
                "could not abort the export's multipart upload",
                extra={"key": self._target.key, "error": _error_code(error)},
            )

    # -- S3 ---------------------------------------------------------------------------------------

    def _put_whole(self, data: memoryview) -> None:
        try:
            self._s3.put_object(
                Bucket=self._target.bucket,
                Key=self._target.key,
                Body=bytes(data),
                ContentType=self._target.content_type,
                ContentDisposition=self._target.content_disposition,
                ChecksumCRC32=_crc32(data),
            )
        except _S3_ERRORS as error:
            raise _failed("PutObject", error) from error

    def _upload_full_part(self, data: memoryview) -> None:
        if self._upload_id is None:
            self._create()
        self._upload_part(data)

    def _create(self) -> None:
        try:
            response = self._s3.create_multipart_upload(
                Bucket=self._target.bucket,
                Key=self._target.key,
                ContentType=self._target.content_type,
                ContentDisposition=self._target.content_disposition,
                ChecksumAlgorithm="CRC32",  # each part carries a CRC32 that S3 checks
            )
        except _S3_ERRORS as error:
            raise _failed("CreateMultipartUpload", error) from error
        self._upload_id = response["UploadId"]

    def _upload_part(self, data: memoryview) -> None:
        assert self._upload_id is not None
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise ExportWriteFailed(f"the export is larger than S3 allows ({MAX_PARTS} parts)")
        checksum = _crc32(data)
        try:
            response = self._s3.upload_part(
                Bucket=self._target.bucket,
                Key=self._target.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=bytes(data),  # one part-sized copy at a time, freed once sent
                ChecksumAlgorithm="CRC32",
                ChecksumCRC32=checksum,
            )
        except _S3_ERRORS as error:
            raise _failed("UploadPart", error) from error
        self._parts.append({"ETag": response["ETag"], "PartNumber": number, "ChecksumCRC32": checksum})

    def _complete(self) -> None:
        assert self._upload_id is not None
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._target.bucket,
                Key=self._target.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
                MpuObjectSize=self._splitter.total,  # S3 refuses to complete if the parts disagree
            )
        except _S3_ERRORS as error:
            raise _failed("CompleteMultipartUpload", error) from error
        self._upload_id = None
