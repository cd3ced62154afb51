"""The export worker's run against the AWS emulator, with its record source handed in (the
search is tested on its own): the file and the job agree, memory stays flat as the export grows,
a run about to outlive its invocation stops cleanly, and a second delivery of the same event
does nothing."""

from __future__ import annotations

import json
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ideogram_assets.exports.jobs import ExportJobs, JobStatus, new_job, utc_now
from ideogram_assets.exports.query import query_json
from ideogram_assets.exports.rows import ExportFormat
from ideogram_assets.exports.worker import RESERVE_MILLIS, TIME_LIMIT_MESSAGE, ExportWorker
from ideogram_assets.exports.writer import MIN_PART_BYTES
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.search.filters import SearchFilters
from local_stack.stack import LocalStack

MiB = 1024 * 1024


def _record(number: int) -> GenerationRecord:
    generation_id = f"{number:032x}"
    return GenerationRecord(
        pk=f"GEN#{generation_id}",
        id=generation_id,
        request_id=generation_id,
        index_in_request=0,
        status="STORED",
        source="api",
        prompt=f"fox number {number}, café 狐 " + "y" * 900,
        model="V_3",
        rendering_speed="TURBO",
        seed=number,
        tags={"bench"},
        prompt_hash="ab" * 32,
        bucket="assets",
        key=f"images/2026/11/21/{generation_id}.png",
        size_bytes=20480,
        sha256="cd" * 32,
        cost_usd=0.03,
        created_at="2026-11-21T09:00:00.000Z",
        updated_at="2026-11-21T09:00:00.000Z",
        time_bucket="2026-11-21",
    )


@dataclass
class SyntheticRecords:
    """A record source of `count` records made one at a time, as the search yields them."""

    count: int
    asked: list[SearchFilters] = field(default_factory=list)

    def iterate(self, filters: SearchFilters) -> Iterator[GenerationRecord]:
        self.asked.append(filters)
        return (_record(number) for number in range(self.count))


@dataclass
class Budget:
    """Plenty of time for `calls` checks, then less than the worker keeps back."""

    calls: int | None = None

    def get_remaining_time_in_millis(self) -> int:
        if self.calls is None:
            return 900_000
        self.calls -= 1
        return RESERVE_MILLIS + 1 if self.calls >= 0 else RESERVE_MILLIS - 1


@pytest.fixture
def world(stack: LocalStack) -> dict[str, Any]:
    resources = stack.endpoints()["resources"]
    return {
        "jobs": ExportJobs(resources["AssetsTable"], stack.aws.client("dynamodb")),
        "s3": stack.aws.client("s3"),
        "bucket": resources["AssetsBucket"],
    }


def _job(world: dict[str, Any], export_format: ExportFormat = "jsonl") -> str:
    export_id = uuid.uuid4().hex
    filters = SearchFilters(words=("fox",), tags=("bench",), created_from="2026-11-01T00:00:00.000Z")
    world["jobs"].create(new_job(export_id, export_format, {"q": "fox"}, query_json(filters), utc_now()))
    return export_id


def _worker(world: dict[str, Any], source: SyntheticRecords) -> ExportWorker:
    return ExportWorker(
        jobs=world["jobs"],
        records=lambda: source,
        s3=world["s3"],
        bucket=world["bucket"],
        now=utc_now,
        part_size=MIN_PART_BYTES,
    )


def test_the_file_holds_every_record_and_the_job_says_so(world: dict[str, Any]) -> None:
    export_id = _job(world)
    source = SyntheticRecords(count=6000)
    summary = _worker(world, source).run(export_id, Budget())
    assert (summary.outcome, summary.records) == ("done", 6000)
    # The search ran with exactly the filters the job was given.
    assert source.asked == [
        SearchFilters(words=("fox",), tags=("bench",), created_from="2026-11-01T00:00:00.000Z")
    ]
    job = world["jobs"].get(export_id)
    assert job.status == JobStatus.DONE
    assert (job.records, job.key) == (6000, f"exports/{export_id}.jsonl")
    stored = world["s3"].get_object(Bucket=world["bucket"], Key=job.key)
    body = stored["Body"].read()
    assert len(body) == job.bytes == summary.bytes > MIN_PART_BYTES  # a multipart upload
    assert stored["ContentType"] == "application/x-ndjson"
    lines = body.decode().splitlines()
    assert [json.loads(line)["seed"] for line in lines] == list(range(6000))


def _peak(world: dict[str, Any], count: int) -> int:
    export_id = _job(world, "csv")
    worker = _worker(world, SyntheticRecords(count))
    tracemalloc.start()
    try:
        summary = worker.run(export_id, Budget())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.outcome == "done"
    return peak


def test_the_workers_memory_does_not_grow_with_the_export(world: dict[str, Any]) -> None:
    _peak(world, 200)  # first-use allocations of the clients
    small = _peak(world, 4000)
    large = _peak(world, 16000)
    print(f"worker peak traced memory: {small / MiB:.1f} MiB (4k records), {large / MiB:.1f} MiB (16k)")
    assert large < 3 * MIN_PART_BYTES
    assert large < small + MiB


def test_a_run_about_to_outlive_its_invocation_stops_and_says_why(
    world: dict[str, Any], stack: LocalStack
) -> None:
    export_id = _job(world)
    summary = _worker(world, SyntheticRecords(count=8000)).run(export_id, Budget(calls=7000))
    assert (summary.outcome, summary.records) == ("failed", 7000)
    job = world["jobs"].get(export_id)
    assert (job.status, job.message) == (JobStatus.FAILED, TIME_LIMIT_MESSAGE)
    key = f"exports/{export_id}.jsonl"
    assert "Contents" not in world["s3"].list_objects_v2(Bucket=world["bucket"], Prefix=key)
    uploads = world["s3"].list_multipart_uploads(Bucket=world["bucket"], Prefix=key).get("Uploads", [])
    assert uploads == []


def test_a_second_delivery_of_the_same_event_does_nothing(world: dict[str, Any]) -> None:
    export_id = _job(world)
    first = _worker(world, SyntheticRecords(count=3)).run(export_id, Budget())
    again = SyntheticRecords(count=5)
    second = _worker(world, again).run(export_id, Budget())
    assert (first.outcome, second.outcome) == ("done", "skipped")
    assert again.asked == []  # the search is never even built
    assert world["jobs"].get(export_id).records == 3


def test_an_unknown_export_is_skipped(world: dict[str, Any]) -> None:
    assert _worker(world, SyntheticRecords(count=1)).run(uuid.uuid4().hex, Budget()).outcome == "skipped"
