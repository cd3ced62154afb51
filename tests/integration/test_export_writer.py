"""The export writer against the AWS emulator over real HTTP: small files in one PutObject,
large ones in fixed-size parts that add up to exactly what was written, memory that does not
grow with the file, and nothing left behind when S3 fails part-way (faults on the wire, from
the stack's fault proxy)."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ideogram_assets.exports.rows import csv_header, csv_line, export_row
from ideogram_assets.exports.writer import (
    MIN_PART_BYTES,
    ExportObjectWriter,
    ExportWriteFailed,
    ObjectSettings,
    WrittenObject,
)
from ideogram_assets.records.model import GenerationRecord
from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack

MiB = 1024 * 1024


@pytest.fixture
def bucket(stack: LocalStack) -> str:
    name: str = stack.endpoints()["resources"]["AssetsBucket"]
    return name


@pytest.fixture
def fault_cleared(stack: LocalStack) -> Iterator[None]:
    yield
    assert stack.proxy is not None
    stack.proxy.clear()


def _record(number: int) -> GenerationRecord:
    generation_id = f"{number:032x}"
    return GenerationRecord(
        pk=f"GEN#{generation_id}",
        id=generation_id,
        request_id=f"{number:032x}",
        index_in_request=0,
        status="STORED",
        source="api",
        prompt=f'fox number {number}, "quoted", café 狐\nsecond line ' + "x" * 600,
        model="V_3",
        rendering_speed="TURBO",
        seed=number,
        tags={"bench", f"t{number % 7}"},
        prompt_hash="ab" * 32,
        bucket="assets",
        key=f"images/2026/11/21/{generation_id}.png",
        size_bytes=20480 + number,
        sha256="cd" * 32,
        cost_usd=0.03,
        created_at="2026-11-21T09:00:00.000Z",
        updated_at="2026-11-21T09:00:00.000Z",
        time_bucket="2026-11-21",
    )


def _lines(target_bytes: int) -> Iterator[str]:
    """CSV lines of synthetic records until about target_bytes, made one at a time."""
    written = 0
    number = 0
    yield csv_header()
    while written < target_bytes:
        line = csv_line(export_row(_record(number)))
        written += len(line.encode())
        number += 1
        yield line


def _target(bucket: str, key: str) -> ObjectSettings:
    return ObjectSettings(
        bucket=bucket,
        key=key,
        content_type="text/csv",
        content_disposition='attachment; filename="generations-test.csv"',
    )


def _write(s3: Any, bucket: str, key: str, size: int) -> tuple[WrittenObject, str]:
    writer = ExportObjectWriter(s3, _target(bucket, key), part_size=MIN_PART_BYTES)
    digest = hashlib.sha256()
    for line in _lines(size):
        digest.update(line.encode())
        writer.write(line)
    return writer.close(), digest.hexdigest()


def _write_all(writer: ExportObjectWriter, lines: Iterator[str]) -> WrittenObject:
    for line in lines:
        writer.write(line)
    return writer.close()


def _stored_digest(s3: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def _open_uploads(s3: Any, bucket: str, key: str) -> list[Any]:
    uploads: list[Any] = s3.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
    return uploads


def test_a_file_smaller_than_a_part_is_one_put_with_its_type_and_name(stack: LocalStack, bucket: str) -> None:
    s3 = stack.aws.client("s3")
    written, digest = _write(s3, bucket, "exports/writer-small.csv", 100_000)
    assert written.parts == 1
    head = s3.head_object(Bucket=bucket, Key="exports/writer-small.csv")
    assert head["ContentType"] == "text/csv"
    assert head["ContentDisposition"] == 'attachment; filename="generations-test.csv"'
    assert head["ContentLength"] == written.size
    assert _stored_digest(s3, bucket, "exports/writer-small.csv") == digest


def test_an_empty_file_is_written_too(stack: LocalStack, bucket: str) -> None:
    s3 = stack.aws.client("s3")
    written = ExportObjectWriter(s3, _target(bucket, "exports/writer-empty.csv")).close()
    assert (written.size, written.parts) == (0, 1)
    assert s3.get_object(Bucket=bucket, Key="exports/writer-empty.csv")["Body"].read() == b""


def test_a_large_file_is_uploaded_in_parts_that_add_up_to_what_was_written(
    stack: LocalStack, bucket: str
) -> None:
    s3 = stack.aws.client("s3")
    key = "exports/writer-large.csv"
    written, digest = _write(s3, bucket, key, 12 * MiB)
    assert written.parts == -(-written.size // MIN_PART_BYTES) == 3
    sizes = [
        s3.head_object(Bucket=bucket, Key=key, PartNumber=number)["ContentLength"]
        for number in range(1, written.parts + 1)
    ]
    assert sizes[:-1] == [MIN_PART_BYTES] * (len(sizes) - 1)  # fixed-size parts, the last shorter
    assert sum(sizes) == written.size
    assert _stored_digest(s3, bucket, key) == digest
    assert _open_uploads(s3, bucket, key) == []


def _peak_bytes(s3: Any, bucket: str, key: str, size: int) -> int:
    tracemalloc.start()
    try:
        _write(s3, bucket, key, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_memory_does_not_grow_with_the_size_of_the_file(stack: LocalStack, bucket: str) -> None:
    s3 = stack.aws.client("s3")
    _write(s3, bucket, "exports/writer-warm.csv", 6 * MiB)  # the client's first-use allocations
    small = _peak_bytes(s3, bucket, "exports/writer-peak-small.csv", 11 * MiB)
    large = _peak_bytes(s3, bucket, "exports/writer-peak-large.csv", 44 * MiB)
    print(f"peak traced memory: {small / MiB:.1f} MiB for 11 MiB, {large / MiB:.1f} MiB for 44 MiB")
    # One part buffer, plus the copy of the part being sent: about two parts, whatever the size.
    assert large < 3 * MIN_PART_BYTES
    assert large < small + MiB


def test_a_part_s3_refuses_fails_the_write_and_the_upload_is_aborted(
    stack: LocalStack, bucket: str, fault_cleared: None
) -> None:
    assert stack.proxy is not None
    key = "exports/writer-refused.csv"
    rule = stack.proxy.inject(
        FaultRule(
            method="PUT", path=r"writer-refused\.csv\?.*partNumber=2", status=500, error_code="InternalError"
        )
    )
    # Through the fault proxy, as the functions reach S3 (plain HTTP to the proxy, TLS behind it).
    s3 = boto3.client("s3", endpoint_url=stack.proxy.url, region_name=stack.options.region)
    writer = ExportObjectWriter(s3, _target(bucket, key), part_size=MIN_PART_BYTES)
    with pytest.raises(ExportWriteFailed, match=r"S3 UploadPart failed \(InternalError\)"):
        _write_all(writer, _lines(12 * MiB))
    writer.abort()
    assert rule.failed >= 1
    direct = stack.aws.client("s3")
    assert _open_uploads(direct, bucket, key) == []
    assert "Contents" not in direct.list_objects_v2(Bucket=bucket, Prefix=key)


def test_a_refused_completion_aborts_the_upload(stack: LocalStack, bucket: str, fault_cleared: None) -> None:
    assert stack.proxy is not None
    key = "exports/writer-incomplete.csv"
    stack.proxy.inject(FaultRule(method="POST", path=r"writer-incomplete\.csv\?uploadId=", status=500))
    s3 = boto3.client("s3", endpoint_url=stack.proxy.url, region_name=stack.options.region)
    writer = ExportObjectWriter(s3, _target(bucket, key), part_size=MIN_PART_BYTES)
    for line in _lines(6 * MiB):
        writer.write(line)
    with pytest.raises(ExportWriteFailed, match="CompleteMultipartUpload"):
        writer.close()
    direct = stack.aws.client("s3")
    assert _open_uploads(direct, bucket, key) == []
    assert "Contents" not in direct.list_objects_v2(Bucket=bucket, Prefix=key)


def test_the_bucket_expires_export_files_after_seven_days(stack: LocalStack, bucket: str) -> None:
    rules = stack.aws.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    [rule] = [rule for rule in rules if rule.get("ID") == "expire-exports"]
    assert rule["Filter"] == {"Prefix": "exports/"}
    assert rule["Expiration"] == {"Days": 7}
    assert rule["Status"] == "Enabled"
