"""The S3 side: one put_object for an image that fits in a part, else a multipart upload that
runs beside the download, and the clean-up that leaves nothing behind when anything fails.

Overlap with bounded memory: the multipart upload owns at most `max_buffers` (2) part-sized
buffers. The caller fills one while a worker thread uploads the other; a filled buffer goes to
the worker through a queue, and the caller blocks for a free buffer when both are in use, so
the download waits for S3 instead of piling parts up in memory.
"""

from __future__ import annotations

import base64
import io
import queue
import threading
import zlib
from collections.abc import Buffer, Callable
from dataclasses import dataclass
from functools import partial
from typing import IO, TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from ideogram_assets.observability import logger
from ideogram_assets.storage.errors import StorageError

if TYPE_CHECKING:
    from botocore.awsrequest import AWSRequest
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PNG_CONTENT_TYPE = "image/png"
_S3_ERRORS = (ClientError, BotoCoreError)
_HOOK_ID = "ideogram-assets-no-continue"


@dataclass(frozen=True)
class ObjectTarget:
    """Where and how the object is written: key, user metadata, URL-encoded tags."""

    bucket: str
    key: str
    metadata: dict[str, str]
    tagging: str

    def create_args(self) -> dict[str, object]:
        args: dict[str, object] = {"ContentType": PNG_CONTENT_TYPE, "Metadata": self.metadata}
        if self.tagging:
            args["Tagging"] = self.tagging
        return args


@dataclass(frozen=True)
class Written:
    etag: str
    version_id: str | None
    parts: int


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def _failed(operation: str, error: Exception) -> StorageError:
    return StorageError(f"S3 {operation} failed ({_error_code(error)})")


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


class PartBody(io.RawIOBase):
    """A read-only, seekable file over `buffer[:length]`, without copying it.

    botocore copies a bytearray body whole in places (awscrt's signer, when installed, wraps
    it in a BytesIO to hash it; so does the checksum trailer over https): 5 MiB more per part
    in flight. A file is read in small blocks for hashing and sending instead, and rewound by
    seek(0) for retries.
    """

    def __init__(self, buffer: bytearray, length: int) -> None:
        super().__init__()
        self._view = memoryview(buffer)[:length]
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = min(max(base + offset, 0), len(self._view))
        return self._position

    def readinto(self, target: Buffer) -> int:
        with memoryview(target) as view:
            count = min(len(view), len(self._view) - self._position)
            view[:count] = self._view[self._position : self._position + count]
        self._position += count
        return count

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(self._position + size, len(self._view))
        data = bytes(self._view[self._position : end])
        self._position = max(end, self._position)
        return data

    def close(self) -> None:
        self._view.release()  # the buffer may be refilled or resized once nothing views it
        super().close()


def _no_continue_for_parts(request: AWSRequest, **_: object) -> None:
    """request-created hook: no `Expect: 100-continue` on our part uploads.

    botocore asks for it on every file body: the headers go first and the body waits for the
    server's "100 Continue", a round trip per part (on the local moto over TLS, ~40 ms of
    delayed ACK each). Its benefit, not sending a body the server would refuse, is worth
    little for 5 MiB parts whose failures are rare and abort the upload anyway.
    """
    if isinstance(request.body, PartBody) and "Expect" in request.headers:
        del request.headers["Expect"]  # an email.message.Message: del removes every occurrence


def prepare_client(s3: S3Client) -> None:
    """Installs the hook above on the client, once (unique_id); it touches only PartBody requests."""
    for operation in ("PutObject", "UploadPart"):
        s3.meta.events.register(
            f"request-created.s3.{operation}", _no_continue_for_parts, unique_id=f"{_HOOK_ID}-{operation}"
        )


def put_single(s3: S3Client, target: ObjectTarget, buffer: bytearray, length: int, sha256: bytes) -> Written:
    """One request; S3 checks the body against our SHA-256, so the hash we return is the stored one.

    A checksum we give goes in a header, with a plain Content-Length body: botocore computes
    none and does not stream the body aws-chunked with a trailer, as it does over https.
    """
    try:
        with PartBody(buffer, length) as body:
            response = s3.put_object(
                Bucket=target.bucket,
                Key=target.key,
                Body=cast(IO[bytes], body),  # a binary file; the stubs know only typing.IO
                ChecksumSHA256=_b64(sha256),
                **target.create_args(),  # type: ignore[arg-type]
            )
    except _S3_ERRORS as error:
        raise _failed("PutObject", error) from error
    return Written(etag=response["ETag"], version_id=response.get("VersionId"), parts=1)


class MultipartUpload:
    """A multipart upload fed part by part from the caller's thread, uploaded by a worker thread.

    Use: `begin()`, then for each part `acquire_buffer()`, fill it, `submit(buffer, length)`,
    and finally `finish(size)`; on any failure in between call `abort()`, which leaves no parts.
    The worker creates the upload itself, so that request overlaps the first part's download.
    """

    def __init__(self, s3: S3Client, target: ObjectTarget, part_size: int, max_buffers: int = 2) -> None:
        self._s3 = s3
        self._target = target
        self._part_size = part_size
        self._max_buffers = max_buffers
        self._allocated = 0
        self._upload_id = ""
        self._parts: list[CompletedPartTypeDef] = []
        self._next_part = 1
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._filled: queue.Queue[tuple[int, bytearray, int] | None] = queue.Queue()
        self._failure: StorageError | None = None
        self._cancelled = threading.Event()
        self._worker = threading.Thread(target=self._run, name="persist-upload", daemon=True)
        self._completing = False

    @property
    def parts(self) -> int:
        return self._next_part - 1

    def begin(self, held_buffers: int = 0) -> None:
        """Starts the worker; `held_buffers` the caller allocated itself count against the limit."""
        self._allocated = held_buffers
        self._worker.start()

    def acquire_buffer(self) -> bytearray:
        """A buffer to fill: a new one while under max_buffers, else one the worker has uploaded."""
        self._raise_if_failed()
        if self._allocated < self._max_buffers:
            self._allocated += 1
            return bytearray(self._part_size)
        buffer = self._free.get()  # the worker returns every buffer it takes, even on failure
        self._raise_if_failed()
        return buffer

    def submit(self, buffer: bytearray, length: int) -> None:
        """Queues `buffer[:length]` as the next part; a short part must be the last one."""
        self._raise_if_failed()
        self._filled.put((self._next_part, buffer, length))
        self._next_part += 1

    def finish(self, size: int) -> Written:
        """Waits for the parts, completes the upload and returns what S3 made of it."""
        self._filled.put(None)
        self._worker.join()
        self._raise_if_failed()
        self._completing = True
        try:
            response = self._s3.complete_multipart_upload(
                Bucket=self._target.bucket,
                Key=self._target.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": sorted(self._parts, key=lambda part: part["PartNumber"])},
                MpuObjectSize=size,  # S3 refuses to complete if the parts do not add up to this
            )
        except _S3_ERRORS as error:
            raise _failed("CompleteMultipartUpload", error) from error
        return Written(etag=response["ETag"], version_id=response.get("VersionId"), parts=self.parts)

    def abort(self) -> None:
        """Stops the worker, waits for a request in flight, then aborts: no parts, no object remain."""
        self._cancelled.set()
        if self._worker.is_alive():
            self._filled.put(None)
            self._worker.join()
        if not self._upload_id:
            return  # never created
        try:
            self._s3.abort_multipart_upload(
                Bucket=self._target.bucket, Key=self._target.key, UploadId=self._upload_id
            )
        except ClientError as error:
            if self._completing and _error_code(error) == "NoSuchUpload":
                # Completion may have gone through after all: the object may be at its key. It
                # is left there (its record says FAILED and names the key) for reconciliation.
                logger.warning(
                    "multipart completion outcome unknown; the object may exist",
                    extra={"bucket": self._target.bucket, "key": self._target.key},
                )
                return
            self._log_abort_failure(error)
        except BotoCoreError as error:
            self._log_abort_failure(error)

    def _log_abort_failure(self, error: Exception) -> None:
        # The bucket's abort-incomplete-multipart-uploads lifecycle rule is the backstop.
        logger.error(
            "could not abort a multipart upload",
            extra={"bucket": self._target.bucket, "key": self._target.key, "error": _error_code(error)},
        )

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        self._guarded(self._create)
        while (item := self._filled.get()) is not None:
            number, buffer, length = item
            try:
                self._guarded(partial(self._upload_part, number, buffer, length))
            finally:
                self._free.put(buffer)

    def _guarded(self, step: Callable[[], None]) -> None:
        """Runs `step` unless something failed or the upload is cancelled; records its failure."""
        if self._failure is not None or self._cancelled.is_set():
            return
        try:
            step()
        except StorageError as error:
            self._failure = error
        except Exception as error:  # anything else too: the caller must never wait forever
            self._failure = StorageError(f"storing the image failed ({type(error).__name__})")
            self._failure.__cause__ = error

    def _create(self) -> None:
        try:
            response = self._s3.create_multipart_upload(
                Bucket=self._target.bucket,
                Key=self._target.key,
                ChecksumAlgorithm="CRC32",  # each part carries a CRC32 that S3 checks
                **self._target.create_args(),  # type: ignore[arg-type]
            )
        except _S3_ERRORS as error:
            raise _failed("CreateMultipartUpload", error) from error
        self._upload_id = response["UploadId"]

    def _upload_part(self, number: int, buffer: bytearray, length: int) -> None:
        with memoryview(buffer)[:length] as part:
            checksum = _b64(zlib.crc32(part).to_bytes(4, "big"))
        try:
            with PartBody(buffer, length) as body:
                response = self._s3.upload_part(
                    Bucket=self._target.bucket,
                    Key=self._target.key,
                    UploadId=self._upload_id,
                    PartNumber=number,
                    Body=cast(IO[bytes], body),  # a binary file; the stubs know only typing.IO
                    ChecksumAlgorithm="CRC32",
                    ChecksumCRC32=checksum,  # given, not computed by botocore: see put_single
                )
        except _S3_ERRORS as error:
            raise _failed("UploadPart", error) from error
        self._parts.append({"ETag": response["ETag"], "PartNumber": number, "ChecksumCRC32": checksum})
