"""Reconcile: 1,000 FAILED images rescued from Ideogram's still-valid URLs, at two table sizes.

1,000 records whose download broke (FAILED, with the URL the Ideogram emulator gave) among 10k
and then 100k records, in moto with the template's table and bucket. The reconciler
(retention.reconcile.Reconciler, as the retention function builds it, with `now` injected)
reads the open records through the sparse ByOpenStatus index, downloads each image from the
emulator and stores it, then lists the bucket's recent past for orphans and audits one day.

Measured: images rescued per second, and the items each phase reads, counted on the wire.
Targets: the open-records reads stay within 1.2 x the open records + 100 at each size, and do
not grow with the table: at 100k records at most 1.05 x what they are at 10k.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.harness import Benchmark, BenchmarkError, Comparison, Outcome, Progress, compare
from bench.retention_fixture import (
    RecordFactory,
    RetentionWorld,
    bucket_keys,
    count_index,
    delete_checkpoint,
    item_of,
    moment_on,
    put_items,
    retention_world,
    tiny_png,
)
from bench.retention_run import ArmResult, run_arm
from bench.wire_counts import READ_ALLOWANCE
from ideogram_assets.config import Settings
from ideogram_assets.ideogram import GeneratedImage
from local_stack.ideogram import EmulatorSettings, RunningEmulator, start_emulator

TABLE_SIZES = (10_000, 100_000)
OPEN_RECORDS = 1_000
IMAGES_PER_CALL = 8  # Ideogram's most per generate call
PROMPT = "a rescued lighthouse at dawn"
SEED = 4242  # fixed: the emulator renders each (prompt, seed) once, before the clock starts
API_KEY = "bench-reconcile-key"
MAX_ROUNDS = 3
SIZE_GROWTH_TARGET = 1.05
OPEN_READS = "Query ByOpenStatus"
ORPHANS_START = "s3.ListObjectsV2"  # the first request after the open records are done


def open_reads_bound(open_records: int) -> int:
    return int(1.2 * open_records) + READ_ALLOWANCE


def ideogram_images(emulator: RunningEmulator, count: int) -> list[GeneratedImage]:
    """`count` images as Ideogram's generate answers describe them, each with its own URL."""
    images: list[GeneratedImage] = []
    while len(images) < count:
        response = requests.post(
            f"{emulator.url}/v1/ideogram-v3/generate",
            headers={"Api-Key": API_KEY},
            files={
                "prompt": (None, PROMPT),
                "seed": (None, str(SEED)),
                "num_images": (None, str(min(IMAGES_PER_CALL, count - len(images)))),
            },
            timeout=30,
        )
        if response.status_code != 200:
            answer = f"{response.status_code}: {response.text[:200]}"
            raise BenchmarkError(f"the Ideogram emulator answered {answer}")
        images += [GeneratedImage.model_validate(item) for item in response.json()["data"]]
    for url in {image.seed: image.url for image in images}.values():  # one render per seed, now
        assert url is not None
        requests.get(url, timeout=60).raise_for_status()
    return images


@dataclass
class ReconcileFixture:
    now: datetime
    failed_items: list[dict[str, Any]] = field(default_factory=list)
    failed_keys: list[str] = field(default_factory=list)
    background: int = 0


def plan(
    factory: RecordFactory, images: Sequence[GeneratedImage], records: int, now: datetime, seed: int = 11
) -> tuple[ReconcileFixture, list[dict[str, Any]]]:
    """The FAILED records (created minutes ago) and the stored records around them (created on
    earlier days, so the day the reconciler audits holds only the rescued ones)."""
    rng = random.Random(seed)
    fixture = ReconcileFixture(now=now)
    for image in images:
        created = now - timedelta(seconds=rng.uniform(120, 1800))
        record = factory.failed(created, image, rng)
        fixture.failed_items.append(item_of(record))
        fixture.failed_keys.append(str(record.key))
    background = []
    for _ in range(records - len(images)):
        created = moment_on(now.date() - timedelta(days=rng.randint(1, 364)), rng)
        background.append(item_of(factory.stored(created, "standard", rng)))
    fixture.background = len(background)
    return fixture, background


def _reset(world: RetentionWorld, fixture: ReconcileFixture) -> None:
    """The open records FAILED again, their objects gone, the audit back at today."""
    s3 = world.client("s3")
    for start in range(0, len(fixture.failed_keys), 1000):
        objects = [{"Key": key} for key in fixture.failed_keys[start : start + 1000]]
        s3.delete_objects(Bucket=world.bucket, Delete={"Objects": objects, "Quiet": True})
    put_items(world, fixture.failed_items)
    delete_checkpoint(world, "reconcile-audit")
    if count_index(world, "ByOpenStatus", "openStatus", "FAILED") != len(fixture.failed_items):
        raise BenchmarkError("fixture: the open records are not all FAILED")


def _check_rescued(world: RetentionWorld, fixture: ReconcileFixture, result: ArmResult) -> None:
    expected = len(fixture.failed_items)
    if result.outcome_count("rescued") != expected or not result.outcome.get("complete"):
        raise BenchmarkError(f"reconcile: expected {expected} rescued, got {result.outcome}")
    if count_index(world, "ByOpenStatus", "openStatus", "FAILED"):
        raise BenchmarkError("reconcile: records are still FAILED after the run")
    if bucket_keys(world) != set(fixture.failed_keys):
        raise BenchmarkError("reconcile: the bucket does not hold exactly the rescued images")


@dataclass(frozen=True)
class SizeResult:
    records: int
    runs: list[ArmResult]
    load_seconds: float
    image_bytes: int


def _measure_size(records: int, rounds: int, progress: Progress) -> SizeResult:
    label = f"{records // 1000}k records"
    emulator = start_emulator(EmulatorSettings(api_key=API_KEY, log_requests=False), port=0)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-reconcile-") as scratch,
            retention_world(Path(scratch)) as world,
        ):
            environment = world.function_environment(ideogram_url=emulator.url)
            policy = Settings.from_env(environment).retention
            factory = RecordFactory(world.bucket, policy, tiny_png())
            images = ideogram_images(emulator, OPEN_RECORDS)
            assert images[0].url is not None
            image_bytes = len(requests.get(images[0].url, timeout=60).content)
            now = datetime.now(UTC).replace(microsecond=0)
            progress(f"  {label}: building the records")
            fixture, background = plan(factory, images, records, now)
            started = time.perf_counter()
            put_items(world, background)
            load_seconds = time.perf_counter() - started
            progress(f"  {label}: {len(background):,} stored records loaded in {load_seconds:.0f} s")
            runs = []
            for index in range(rounds):
                _reset(world, fixture)
                result = run_arm(world, "reconcile", now, environment)
                _check_rescued(world, fixture, result)
                runs.append(result)
                progress(
                    f"  {label}: round {index + 1}/{rounds}: {OPEN_RECORDS:,} rescued in "
                    f"{result.seconds:.1f} s, open-records reads {result.counts.items_read[OPEN_READS]:,}"
                )
    finally:
        emulator.stop()
    return SizeResult(records, runs, load_seconds, image_bytes)


# -- reporting --------------------------------------------------------------------------------------


def rescue_seconds(result: ArmResult) -> float:
    """From the start of the run to the first request of the orphan sweep (the open records are
    done by then); the whole run if it never got there."""
    return result.first_call.get(ORPHANS_START, result.seconds)


def verdicts(sizes: Sequence[SizeResult]) -> list[Comparison]:
    def open_reads(result: ArmResult) -> float:
        return result.counts.items_read[OPEN_READS] / 1000  # in thousands: the table prints them whole

    comparisons = [
        compare(
            f"{size.records // 1000}k records, {OPEN_RECORDS:,} open: items read by the open-records "
            f"queries (ByOpenStatus) vs bound 1.2 x {OPEN_RECORDS:,} + {READ_ALLOWANCE}",
            [open_reads(run) for run in size.runs],
            [open_reads_bound(OPEN_RECORDS) / 1000] * len(size.runs),
            1.0,
            "k items",
        )
        for size in sizes
    ]
    smallest, largest = sizes[0], sizes[-1]
    comparisons.append(
        compare(
            f"open-records items read with {largest.records // 1000}k records vs with "
            f"{smallest.records // 1000}k records ({OPEN_RECORDS:,} open in both)",
            [open_reads(run) for run in largest.runs],
            [open_reads(run) for run in smallest.runs],
            SIZE_GROWTH_TARGET,
            "k items",
        )
    )
    return comparisons


def details(sizes: Sequence[SizeResult]) -> str:
    def median(size: SizeResult, measure: Callable[[ArmResult], float]) -> float:
        return statistics.median(measure(run) for run in size.runs)

    def row(name: str, measure: Callable[[ArmResult], float], digits: int = 0) -> str:
        cells = " | ".join(f"{median(size, measure):,.{digits}f}" for size in sizes)
        return f"| {name} | {cells} |"

    def items(key: str) -> Callable[[ArmResult], float]:
        return lambda run: run.counts.items_read[key]

    def requests_of(name: str) -> Callable[[ArmResult], float]:
        return lambda run: run.counts.requests[name]

    header = " | ".join(f"{size.records // 1000}k records" for size in sizes)
    lines = [
        f"{OPEN_RECORDS:,} FAILED records with valid URLs among each table (medians of "
        f"{', '.join(str(len(size.runs)) for size in sizes)} run(s)):",
        "",
        f"| measure | {header} |",
        "|---|" + "---|" * len(sizes),
        row("images rescued per second, whole run", lambda run: _rescued(run) / run.seconds, 1),
        row(
            "images rescued per second, open records only",
            lambda run: _rescued(run) / rescue_seconds(run),
            1,
        ),
        row("run wall time (s)", lambda run: run.seconds, 1),
        row("- open records (s)", rescue_seconds, 1),
        row("items read: open records (Query ByOpenStatus)", items(OPEN_READS)),
        row("items read: audit of one day (Query ByTimeBucket)", items("Query ByTimeBucket")),
        row("items read: orphan check (BatchGetItem)", items("BatchGetItem")),
        row("items read: checkpoint (GetItem)", items("GetItem")),
        row("DynamoDB read requests", lambda run: _dynamodb_reads(run)),
        row("DynamoDB write requests", lambda run: run.counts.dynamodb_write_requests),
        row("S3 uploads (PutObject, UploadPart)", lambda run: _uploads(run)),
        row("S3 HeadObject (audit)", requests_of("s3.HeadObject")),
        row("S3 ListObjectsV2 (orphans)", requests_of("s3.ListObjectsV2")),
    ]
    size = sizes[0]
    lines += [
        "",
        f"Each image is a {size.image_bytes:,}-byte PNG from the Ideogram emulator (rendered before the "
        "run). The audit reads the records created today, which are the rescued ones: it checks each "
        "object with HeadObject. Records not open were created on the 364 days before, with no object "
        "(neither the open-records queries nor the audit reads them). Each run starts from the same "
        "state: the 1,000 records FAILED again, their objects deleted, no audit checkpoint. Counting and "
        "setup as for the sweep; the reconciler runs in a fresh process with RetentionFunction's "
        "environment and the emulator's host allowed for downloads, as the local stack does.",
    ]
    return "\n".join(lines)


def _rescued(run: ArmResult) -> float:
    return run.outcome_count("rescued")


def _dynamodb_reads(run: ArmResult) -> float:
    reads = ("Query", "Scan", "GetItem", "BatchGetItem")
    return sum(run.counts.requests[f"dynamodb.{operation}"] for operation in reads)


def _uploads(run: ArmResult) -> float:
    return run.counts.requests["s3.PutObject"] + run.counts.requests["s3.UploadPart"]


def run(rounds: int, progress: Progress) -> Outcome:
    runs = min(rounds, MAX_ROUNDS)
    sizes = [_measure_size(records, runs, progress) for records in TABLE_SIZES]
    notes = [details(sizes)]
    if rounds != runs:
        notes.append(f"At most {MAX_ROUNDS} runs per table size, whatever --rounds says.")
    return Outcome(verdicts(sizes), notes)


BENCHMARK = Benchmark(
    name="retention_reconcile",
    title="Reconcile: 1,000 FAILED images rescued, reads bounded by the open records",
    run=run,
)
