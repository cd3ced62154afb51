"""Retention sweep: what deleting the expired images costs, against the reference cleanup.

A table of N records of which M have expired, spread unevenly over four expiry days (today
and the three before), held in moto with the template's table and bucket. The sweep
(retention.sweep.Sweeper, as the retention function builds it, with `now` injected) reads the
ByExpiryDay index day by day and deletes objects in DeleteObjects calls of up to 1,000 keys and
records in conditional transactions of up to 100. The baseline (bench.reference_cleanup) scans
the whole table and deletes each object with DeleteObject, then its record with DeleteItem.

Both run in a fresh child with the retention function's environment, against the same
records: the M expired records and their objects are written again before each run. Counted on
the wire for each side: items read, S3 delete requests, DynamoDB write requests, and the wall
time of the run. Targets for the sweep: items read <= 1.2 M + 100, S3 delete requests <=
ceil(M / 1000) + 1, DynamoDB write requests <= ceil(deleted / 25) + 10.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import Benchmark, BenchmarkError, Comparison, Outcome, Progress, compare
from bench.retention_fixture import (
    RecordFactory,
    RetentionWorld,
    bucket_keys,
    count_index,
    day_spread,
    delete_checkpoint,
    item_of,
    key_of,
    moment_on,
    put_items,
    put_objects,
    retention_world,
    tiny_png,
)
from bench.retention_run import ArmResult, run_arm
from bench.wire_counts import READ_ALLOWANCE, WRITE_ALLOWANCE, per_day_delete_floor, sweep_bounds
from ideogram_assets.config import Settings
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.retention.policy import RetentionPolicy

# A fixed "now", years ahead: records are a year old without waiting, no TTL can be due in moto,
# and the same days hold the same counts in every run.
SWEEP_NOW = datetime(2031, 3, 14, 6, 0, tzinfo=UTC)
EXPIRY_DAYS_BACK = (3, 2, 1, 0)  # within the sweep's first-run lookback (7 days)
EXPIRY_DAY_WEIGHTS = (0.28, 0.22, 0.26, 0.24)  # an uneven spread, as daily volumes are
EXPIRED_SHORT_SHARE = 0.3
BACKGROUND_SHORT_SHARE = 0.2
BACKGROUND_PERMANENT_SHARE = 0.03
BACKGROUND_HELD_SHARE = 0.01
OBJECT_SAMPLE_SHARE = 0.01  # of the records not expired, given an object to check they stay
CANDIDATE, BASELINE = "sweep", "reference cleanup"
MOTO_SITE = Path(__file__).resolve().parent / "moto_site"
MOTO_SITE_MARKER = "moto backs up only what a transaction writes"


@dataclass(frozen=True)
class Scale:
    records: int
    expired: int

    @property
    def label(self) -> str:
        return f"{self.records // 1000}k records, {self.expired:,} expired"


SCALES = (Scale(10_000, 500), Scale(100_000, 5_000))
PROBE_DELETES = (1, 10)  # transaction sizes timed on both servers at the smaller table


@dataclass
class SweepFixture:
    expired_items: list[dict[str, Any]] = field(default_factory=list)
    expired_keys: list[str] = field(default_factory=list)
    expired_per_day: dict[str, int] = field(default_factory=dict)
    background_items: list[dict[str, Any]] = field(default_factory=list)
    sample_keys: list[str] = field(default_factory=list)
    # Expiry days after today with their record counts: the sweep must leave them whole.
    later_days: Counter[str] = field(default_factory=Counter)


def plan(scale: Scale, factory: RecordFactory, policy: RetentionPolicy, seed: int = 7) -> SweepFixture:
    rng = random.Random(seed)
    today = SWEEP_NOW.date()
    fixture = SweepFixture()
    expired_days = [today - timedelta(days=back) for back in EXPIRY_DAYS_BACK]
    for day, count in zip(expired_days, day_spread(scale.expired, EXPIRY_DAY_WEIGHTS), strict=True):
        fixture.expired_per_day[day.isoformat()] = count
        for _ in range(count):
            retention_class = "short" if rng.random() < EXPIRED_SHORT_SHARE else "standard"
            days = policy.days(retention_class)
            assert days is not None
            record = factory.stored(moment_on(day - timedelta(days=days), rng), retention_class, rng)
            if record.expires_on != day.isoformat():
                raise BenchmarkError(f"fixture: a record of {day} expires on {record.expires_on}")
            fixture.expired_items.append(item_of(record))
            fixture.expired_keys.append(str(record.key))
    for _ in range(scale.records - scale.expired):
        record = _background_record(factory, policy, today, rng)
        if record.expires_on is not None:
            if record.expires_on <= today.isoformat():
                raise BenchmarkError(f"fixture: a record not meant to expire expires on {record.expires_on}")
            fixture.later_days[record.expires_on] += 1
        fixture.background_items.append(item_of(record))
        if rng.random() < OBJECT_SAMPLE_SHARE:
            fixture.sample_keys.append(str(record.key))
    return fixture


def _background_record(
    factory: RecordFactory, policy: RetentionPolicy, today: date, rng: random.Random
) -> GenerationRecord:
    """A record that has not expired: standard or short and younger than its class, permanent,
    or under a legal hold."""
    draw = rng.random()
    if draw < BACKGROUND_PERMANENT_SHARE:
        return factory.stored(moment_on(today - timedelta(days=rng.randint(1, 364)), rng), "permanent", rng)
    if draw < BACKGROUND_PERMANENT_SHARE + BACKGROUND_HELD_SHARE:
        created = moment_on(today - timedelta(days=rng.randint(1, 364)), rng)
        return factory.stored(created, "standard", rng, legal_hold=True)
    retention_class = "short" if rng.random() < BACKGROUND_SHORT_SHARE else "standard"
    days = policy.days(retention_class)
    assert days is not None
    created = moment_on(today - timedelta(days=rng.randint(1, days - 1)), rng)
    return factory.stored(created, retention_class, rng)


# -- one scale ------------------------------------------------------------------------------------


def _reset(world: RetentionWorld, fixture: SweepFixture, body: bytes) -> None:
    """The expired records and their objects as they were before any run; no checkpoint."""
    put_items(world, fixture.expired_items)
    put_objects(world, fixture.expired_keys, body)
    delete_checkpoint(world, "sweep")
    if bucket_keys(world) != set(fixture.expired_keys) | set(fixture.sample_keys):
        raise BenchmarkError("fixture: the bucket does not hold the planned objects")


def _check_swept(world: RetentionWorld, fixture: SweepFixture, result: ArmResult, arm: str) -> None:
    """Every expired record and object gone, everything else still there."""
    expired, deleted = len(fixture.expired_items), result.outcome_count("deleted")
    if deleted != expired:
        raise BenchmarkError(f"{arm}: deleted {deleted} of {expired}: {result.outcome}")
    for day in fixture.expired_per_day:
        left = count_index(world, "ByExpiryDay", "expiresOn", day)
        if left:
            raise BenchmarkError(f"{arm}: {left} records expiring on {day} are still there")
    for day, count in sorted(fixture.later_days.items())[:3]:
        if count_index(world, "ByExpiryDay", "expiresOn", day) != count:
            raise BenchmarkError(f"{arm}: records expiring on {day}, after today, were touched")
    if bucket_keys(world) != set(fixture.sample_keys):
        raise BenchmarkError(f"{arm}: the bucket does not hold exactly the objects that had not expired")


@dataclass(frozen=True)
class ScaleResult:
    scale: Scale
    fixture: SweepFixture
    sweep: ArmResult
    reference: ArmResult
    load_seconds: float
    # Seconds of one TransactWriteItems of n deletes: {"shipped" | "bench": {n: seconds}}.
    probe: dict[str, dict[int, float]] = field(default_factory=dict)


def transaction_seconds(world: RetentionWorld, items: Sequence[dict[str, Any]], deletes: int) -> float:
    """One TransactWriteItems deleting `deletes` of `items` (written back afterwards), timed."""
    batch = items[:deletes]
    operations = [{"Delete": {"TableName": world.table, "Key": key_of(item)}} for item in batch]
    client = world.client("dynamodb")
    started = time.perf_counter()
    client.transact_write_items(TransactItems=operations)
    elapsed = time.perf_counter() - started
    put_items(world, batch)
    return elapsed


def shipped_moto_probe(fixture: SweepFixture, progress: Progress) -> dict[int, float]:
    """The same transactions on moto as shipped, holding the same records."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-sweep-shipped-") as scratch,
        retention_world(Path(scratch)) as world,
    ):
        put_items(world, [*fixture.background_items, *fixture.expired_items])
        probe = {size: transaction_seconds(world, fixture.expired_items, size) for size in PROBE_DELETES}
    progress(f"  moto as shipped: {', '.join(f'{n} deletes {t:.2f} s' for n, t in probe.items())}")
    return probe


def _measure_scale(scale: Scale, rounds: int, progress: Progress, probe: bool) -> list[ScaleResult]:
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-sweep-") as scratch,
        retention_world(Path(scratch), MOTO_SITE) as world,
    ):
        if MOTO_SITE_MARKER not in world.log_since(0):
            raise BenchmarkError("moto started without the benchmark's transaction backup (bench/moto_site)")
        environment = world.function_environment()
        policy = Settings.from_env(environment).retention
        png = tiny_png()
        factory = RecordFactory(world.bucket, policy, png)
        progress(f"  {scale.label}: building the records")
        fixture = plan(scale, factory, policy)
        started = time.perf_counter()
        progress(f"  {scale.label}: loading {len(fixture.background_items):,} records not expired")
        put_items(world, fixture.background_items)
        put_objects(world, fixture.sample_keys, png.data)
        load_seconds = time.perf_counter() - started
        progress(f"  {scale.label}: loaded in {load_seconds:.0f} s")
        probes: dict[str, dict[int, float]] = {}
        if probe:
            put_items(world, fixture.expired_items)
            probes["bench"] = {
                size: transaction_seconds(world, fixture.expired_items, size) for size in PROBE_DELETES
            }
        for index in range(rounds):
            arms: dict[str, ArmResult] = {}
            order = (CANDIDATE, BASELINE) if index % 2 == 0 else (BASELINE, CANDIDATE)
            for arm in order:
                _reset(world, fixture, png.data)
                progress(f"  {scale.label}: round {index + 1}/{rounds}, {arm} running")
                child_arm = "sweep" if arm == CANDIDATE else "reference"
                arms[arm] = run_arm(world, child_arm, SWEEP_NOW, environment)
                _check_swept(world, fixture, arms[arm], arm)
                progress(f"  {scale.label}: {arm} took {arms[arm].seconds:.1f} s")
            results.append(ScaleResult(scale, fixture, arms[CANDIDATE], arms[BASELINE], load_seconds, probes))
    if probe:
        shipped = shipped_moto_probe(fixture, progress)
        for result in results:
            result.probe["shipped"] = shipped
    return results


# -- reporting --------------------------------------------------------------------------------------


def verdicts(scale: Scale, sweeps: Sequence[ArmResult]) -> list[Comparison]:
    """The sweep's counts against its bounds (the bound in the baseline column, target 1.00)."""
    deleted = sweeps[0].outcome_count("deleted")
    bounds = sweep_bounds(scale.expired, deleted)
    rows: list[tuple[str, Callable[[ArmResult], float], float, str, float]] = [
        (
            f"items read, bound 1.2 x {scale.expired:,} + {READ_ALLOWANCE}",
            lambda arm: arm.counts.dynamodb_items_read,
            bounds.items_read,
            "k items",
            1000,
        ),
        (
            f"S3 delete requests, bound ceil({scale.expired:,} / 1000) + 1",
            lambda arm: arm.counts.s3_delete_requests,
            bounds.s3_delete_requests,
            "requests",
            1,
        ),
        (
            f"DynamoDB write requests, bound ceil({deleted:,} deleted / 25) + {WRITE_ALLOWANCE}",
            lambda arm: arm.counts.dynamodb_write_requests,
            bounds.dynamodb_write_requests,
            "requests",
            1,
        ),
    ]
    return [
        compare(
            f"{scale.label}: {what}: sweep vs bound",
            [measure(arm) / per for arm in sweeps],
            [bound / per] * len(sweeps),
            1.0,
            unit,
        )
        for what, measure, bound, unit, per in rows
    ]


def side_by_side(results: Sequence[ScaleResult]) -> str:
    """Both sides' counts and times (medians over the rounds), one row per measure."""
    first = results[0]
    scale = first.scale

    def row(name: str, measure: Callable[[ArmResult], float], digits: int = 0) -> str:
        sweep = statistics.median([measure(result.sweep) for result in results])
        reference = statistics.median([measure(result.reference) for result in results])
        ratio = f"{sweep / reference:.3f}" if reference else "n/a"
        return f"| {name} | {sweep:,.{digits}f} | {reference:,.{digits}f} | {ratio} |"

    def seconds_in(operation: str) -> Callable[[ArmResult], float]:
        return lambda arm: arm.counts.seconds[operation]

    lines = [
        f"**{scale.label}** ({len(results)} run(s) per side, medians):",
        "",
        f"| measure | {CANDIDATE} | {BASELINE} | ratio |",
        "|---|---|---|---|",
        row("DynamoDB items read (ScannedCount, items got)", lambda arm: arm.counts.dynamodb_items_read),
        row("DynamoDB read requests", lambda arm: _reads(arm)),
        row("S3 delete requests", lambda arm: arm.counts.s3_delete_requests),
        row("S3 objects deleted", lambda arm: sum(arm.counts.objects_deleted.values())),
        row("DynamoDB write requests", lambda arm: arm.counts.dynamodb_write_requests),
        row("DynamoDB items written or deleted", lambda arm: sum(arm.counts.items_written.values())),
        row("all requests (DynamoDB + S3)", lambda arm: sum(arm.counts.requests.values())),
        row("wall time (s)", lambda arm: arm.seconds, 1),
        row("- of which in TransactWriteItems (s)", seconds_in("dynamodb.TransactWriteItems"), 1),
        row("- of which in Query / Scan (s)", lambda arm: _read_seconds(arm), 1),
        row("- of which in DeleteObjects / DeleteObject (s)", lambda arm: _s3_delete_seconds(arm), 1),
        row("- of which in DeleteItem (s)", seconds_in("dynamodb.DeleteItem"), 1),
    ]
    if first.probe:
        lines += ["", probe_line(scale, first.probe)]
    floor = per_day_delete_floor(first.fixture.expired_per_day)
    spread = ", ".join(f"{day}: {count:,}" for day, count in first.fixture.expired_per_day.items())
    lines += [
        "",
        f"Expired per day: {spread}. The sweep never mixes two days in one DeleteObjects request, so it "
        f"needs at least {floor} of them here (one per started 1,000 keys of each day).",
        f"Loading {scale.records - scale.expired:,} records not expired took {first.load_seconds:.0f} s "
        f"(BatchWriteItem, not measured).",
    ]
    return "\n".join(lines)


def probe_line(scale: Scale, probe: dict[str, dict[int, float]]) -> str:
    def times(server: str) -> str:
        return ", ".join(
            f"{size} delete(s) {seconds:.2f} s" for size, seconds in probe.get(server, {}).items()
        )

    return (
        f"One TransactWriteItems at {scale.records:,} records, timed from this process: on moto as "
        f"shipped {times('shipped')}; on the benchmark's moto {times('bench')}. moto as "
        "shipped copies the whole table once per item of a transaction, so the sweep's transactions of "
        "100 deletes would outlast PynamoDB's 10 s read timeout (GenerationRecord.Meta) and the sweep "
        "would fail; both sides therefore run on the benchmark's moto (bench/moto_site)."
    )


def _reads(arm: ArmResult) -> float:
    reads = ("Query", "Scan", "GetItem", "BatchGetItem")
    return sum(arm.counts.requests[f"dynamodb.{operation}"] for operation in reads)


def _read_seconds(arm: ArmResult) -> float:
    return arm.counts.seconds["dynamodb.Query"] + arm.counts.seconds["dynamodb.Scan"]


def _s3_delete_seconds(arm: ArmResult) -> float:
    return arm.counts.seconds["s3.DeleteObjects"] + arm.counts.seconds["s3.DeleteObject"]


SETUP_NOTE = """\
Setup. Records are written by the product's own transitions (pending, answered, stored; some
permanent, some under a legal hold) and serialized by its model, loaded with BatchWriteItem into
moto (over TLS) with the table and bucket of template.yaml. Objects: the expired records' objects
(a small PNG each) and a 1% sample of the others; neither side lists the bucket, and after each
run the bucket must hold exactly the sample. The expired records and objects are written again
before each run; the sweep starts with no checkpoint (it reads the 7 days before today and today).
Each side runs in a fresh process with RetentionFunction's environment; `now` is injected.
Counting: botocore's events on every client of the run (including the two PynamoDB creates), one
count per HTTP request; each run's totals must match moto's request log line for line. Items
read: ScannedCount of each Query and Scan, plus the items GetItem and BatchGetItem returned.

Reading the times: moto's wall time is moto's, not DynamoDB's. moto answers a Query on an index
by going through every item of the table, and serializes replies slowly. Both sides run on the
benchmark's moto (bench/moto_site), whose TransactWriteItems backs up only the items a
transaction names instead of copying the whole table once per item (see the line under the
first table). The sweep also logs and counts each deletion, updates the counter items and saves
its checkpoint; the reference cleanup does none of that."""


def run(rounds: int, progress: Progress) -> Outcome:
    # The counts do not vary between runs, and one run of the largest table takes many minutes.
    runs = 1
    comparisons: list[Comparison] = []
    notes: list[str] = []
    for scale in SCALES:
        results = _measure_scale(scale, runs, progress, probe=scale is SCALES[0])
        comparisons += verdicts(scale, [result.sweep for result in results])
        notes.append(side_by_side(results))
    notes.append(SETUP_NOTE)
    if rounds != runs:
        notes.append(f"This benchmark runs each side {runs} time(s) per table, whatever --rounds says.")
    return Outcome(comparisons, notes)


BENCHMARK = Benchmark(
    name="retention_sweep",
    title="Retention sweep: expired images deleted through the expiry index vs the reference cleanup",
    run=run,
)
