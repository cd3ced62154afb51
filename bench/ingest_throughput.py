"""Ingest throughput: generation requests through the bus, paced by Ideogram's in-flight limit,
against the reference batch loop (one request at a time, a fixed 3 s pause between them).

The whole local stack runs as `make up` runs it, deployed with IngestMaximumConcurrency=10: ten
environments of one image slot each (IdeogramInflightLimit 10 / 10), batches of 10 gathered for
up to 1 s (IngestBatchingWindowSeconds=1), so at L = 0.5 s each batch is ten turns of Ideogram
deep. The same bus runs are then repeated on a stack
with the template's defaults (two environments of five slots, batches of 10: two turns, suited to
Ideogram's real latency) and reported beside them. The Ideogram emulator answers every generate
call after L = 0.5 s and refuses (429) an image beyond 10 in flight.

Candidate: N GenerationRequested events put on AssetsEventBus (PutEvents, 10 entries a call),
timed from the first PutEvents to the last record STORED (the records' own updatedAt). Every
request must end with its image STORED: none FAILED or LOST, none in the dead-letter queue.
Target: wall time <= 1.2 x the ideal N x L / 10. Meanwhile the emulator's in-flight images are
sampled every ~50 ms (peak and mean), its 429s counted, the queue's invocations logged, and the
CPU time of each part of the stack (and of the whole machine) taken.

Baseline: the reference loop through the same API (a signed POST /generations, then a 3 s
pause), on fewer requests (20 by default); its 200-request wall time is extrapolated from the
measured mean reply time, and labelled so.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from bench.harness import Benchmark, BenchmarkError, Outcome, Progress, compare, run_rounds
from bench.ingest_throughput_calls import ANNOUNCEMENTS, calls_table, install_counters
from bench.ingest_throughput_cpu import cpu_between, snapshot
from bench.ingest_throughput_logs import (
    Invocation,
    InvocationLog,
    generation_phases,
    invocations_logged,
    latencies,
    medians,
)
from bench.ingest_throughput_profile import (
    ReferenceLoop,
    ideal_seconds,
    running_profile,
    slot_profile,
)
from bench.ingest_throughput_report import BusRun, bus_notes, cpu_table, rounds_table

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

LATENCY_SECONDS = 0.5  # L: Ideogram's time to generate, fixed by the emulator
INFLIGHT_LIMIT = 10  # the emulator's, and the template's IdeogramInflightLimit default
DEFAULT_REQUESTS = 200
DEFAULT_BASELINE_REQUESTS = 20
REFERENCE_PAUSE_SECONDS = 3.0
RATIO_TARGET = 1.2
MAX_ROUNDS = 3  # a round is a few minutes: at most this many, whatever --rounds says
SAMPLE_SECONDS = 0.05
PUT_EVENTS_ENTRIES = 10  # PutEvents takes at most 10 entries
COUNTED_REQUESTS = 2 * INFLIGHT_LIMIT  # the run whose AWS calls are counted
RUN_TIMEOUT_SECONDS = 600.0
SETTLE_SECONDS = 3.0  # no invocation for this long: the previous arm's work (announcements) is over
SETTLE_TIMEOUT_SECONDS = 60.0
# Every request asks for the same image (the emulator renders it once, so its rendering stays out
# of the measurement); each is its own generation all the same (its own event id, no duplicate
# policy), with a tag of its run.
PROMPT = "a lighthouse at dusk"
SEED = 7
FINAL_STATUSES = ("STORED", "UNSAFE", "FAILED", "LOST")


@dataclass(frozen=True)
class Deployment:
    label: str
    description: str
    parameters: dict[str, str]


# At L = 0.5 s an environment's batch of 10 is 10 turns of Ideogram deep with one slot each, so
# the slots stay busy across batch boundaries; a 1 s batching window keeps the batches full while
# the events are still arriving. The defaults' 2 turns suit Ideogram's real latency.
DEEP = Deployment(
    label="IngestMaximumConcurrency=10",
    description=(
        "`IngestMaximumConcurrency` 10 (one image slot per environment, batches of 10) and "
        "`IngestBatchingWindowSeconds` 1"
    ),
    parameters={"IngestMaximumConcurrency": str(INFLIGHT_LIMIT), "IngestBatchingWindowSeconds": "1"},
)
DEFAULTS = Deployment(
    label="template defaults",
    description="the template's defaults (two environments of five image slots, batches of 10)",
    parameters={},
)

INGEST_FUNCTION = "IngestFunction"
BUS = "AssetsEventBus"
REQUESTS_QUEUE = "GenerationRequestsQueue"
DEAD_LETTER_QUEUE = "GenerationRequestsDeadLetterQueue"


@dataclass
class Settings:
    requests: int = DEFAULT_REQUESTS
    baseline_requests: int = DEFAULT_BASELINE_REQUESTS


SETTINGS = Settings()


def configure(requests_count: int | None = None, baseline_requests: int | None = None) -> None:
    """Sets the request counts (python -m bench --requests / --baseline-requests)."""
    if requests_count is not None:
        if requests_count < INFLIGHT_LIMIT:
            raise ValueError(f"--requests must be at least {INFLIGHT_LIMIT}")
        SETTINGS.requests = requests_count
    if baseline_requests is not None:
        if baseline_requests < 2:
            raise ValueError("--baseline-requests must be at least 2")
        SETTINGS.baseline_requests = baseline_requests


@dataclass(frozen=True)
class Health:
    inflight: int
    generate_requests: int
    rate_limited: int


class SlotSampler:
    """Samples the emulator's in-flight images every SAMPLE_SECONDS, in a thread, while running."""

    def __init__(self, health_url: str) -> None:
        self._url = health_url
        self._stop = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="slot-sampler", daemon=True)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    health = session.get(self._url, timeout=5).json()
                    self.samples.append((time.time(), int(health["inflight_images"])))
                except (requests.RequestException, ValueError, KeyError):
                    self.errors += 1
                self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> SlotSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class IngestRig:
    """The running stack, and the two ways of sending it generation requests."""

    def __init__(self, stack: LocalStack, functions_log: Path) -> None:
        from local_stack.client import SigV4Auth

        self.stack = stack
        endpoints = stack.endpoints()
        self.bus = str(endpoints["buses"][BUS]["name"])
        self.queue_url = str(endpoints["queues"][REQUESTS_QUEUE]["url"])
        self.dead_letter_url = str(endpoints["queues"][DEAD_LETTER_QUEUE]["url"])
        self.table = str(endpoints["resources"]["AssetsTable"])
        self.events = stack.aws.client("events")
        self.sqs = stack.aws.client("sqs")
        self.dynamodb = stack.aws.client("dynamodb")
        self.auth = SigV4Auth(stack.caller, stack.options.region)
        self.health_url = f"{stack.ideogram_url}/_emulator/health"
        self.functions_log = functions_log
        self.function_name = stack.runtimes[INGEST_FUNCTION].spec.function_name
        if stack.event_sources is None:
            raise BenchmarkError("the local stack polls no queue: event sources are off")
        pollers = [
            p for p in stack.event_sources.queue_pollers if p.runtime is stack.runtimes[INGEST_FUNCTION]
        ]
        if len(pollers) != 1:
            raise BenchmarkError(f"expected one queue mapping for {INGEST_FUNCTION}, found {len(pollers)}")
        self.mapping = pollers[0].source.name
        self.batch_size = pollers[0].source.batch_size
        self.concurrency = pollers[0].concurrency
        # A full batch for every invocation the mapping may run at once: every execution
        # environment starts in the warm-up, not in a measured run.
        self.warmup_requests = self.batch_size * self.concurrency
        self.bus_runs: list[BusRun] = []
        self.reference_runs: list[ReferenceLoop] = []
        self._log: InvocationLog | None = None
        self._last_invocation_end = 0.0

    @contextmanager
    def logging_invocations(self) -> Iterator[None]:
        with invocations_logged() as log:
            self._log = log
            try:
                yield
            finally:
                self._log = None

    # -- state of the stack -----------------------------------------------------------------------

    def health(self) -> Health:
        body = requests.get(self.health_url, timeout=10).json()
        return Health(
            int(body["inflight_images"]), int(body["generate_requests"]), int(body["rate_limited_requests"])
        )

    def _depth(self, url: str) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def _dead_letters(self) -> int:
        return sum(self._depth(self.dead_letter_url))

    def _take(self) -> list[Invocation]:
        """The invocations logged since the last call (any mapping's)."""
        assert self._log is not None
        taken = self._log.take()
        self._last_invocation_end = max([self._last_invocation_end, *(i.end for i in taken)])
        return taken

    def settle(self) -> None:
        """Waits until nothing runs: the queue empty, Ideogram idle, no invocation for a moment
        (the publisher announcing the last images included), so that an arm does not pay for
        the previous one's work."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._take()
            quiet = time.time() - self._last_invocation_end >= SETTLE_SECONDS
            if quiet and self._depth(self.queue_url) == (0, 0) and self.health().inflight == 0:
                return
            time.sleep(0.5)
        raise BenchmarkError("the stack did not settle: messages still queued or invocations running")

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                raise BenchmarkError(f"timed out waiting for {what}")
            self._take()
            time.sleep(0.2)

    # -- the candidate: events on the bus ---------------------------------------------------------

    def _put_events(self, count: int, tag: str) -> None:
        detail = json.dumps({"prompt": PROMPT, "seed": SEED, "tags": [tag]})
        entry = {"Source": "bench.upstream", "DetailType": "GenerationRequested", "Detail": detail}
        for first in range(0, count, PUT_EVENTS_ENTRIES):
            size = min(PUT_EVENTS_ENTRIES, count - first)
            reply = self.events.put_events(Entries=[entry | {"EventBusName": self.bus}] * size)
            if reply["FailedEntryCount"]:
                raise BenchmarkError(f"PutEvents refused entries: {str(reply['Entries'])[:300]}")

    def _records(self, tag: str) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="SK = :meta AND contains(tags, :tag)",
            ExpressionAttributeValues={":meta": {"S": "META"}, ":tag": {"S": tag}},
            ConsistentRead=True,
        )
        return [item for page in pages for item in page["Items"]]

    def _wait_done(self, count: int, invocations: list[Invocation], deadline: float) -> bool:
        """True once `count` messages were processed; False when the queue emptied short of that
        (some requests failed for good) or the deadline passed. Reads only this process's own
        invocation log and, once a second, the queue's depth: nothing that loads moto."""
        next_depth = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            invocations += self._take()
            done = sum(
                invocation.batch_size
                for invocation in invocations
                if invocation.mapping == self.mapping and invocation.outcome == "ok"
            )
            if done >= count:
                return True
            if time.monotonic() >= next_depth:
                next_depth = time.monotonic() + 1.0
                if self._depth(self.queue_url) == (0, 0) and done > 0:
                    return False
            time.sleep(0.05)
        return False

    def bus_run(self, count: int, progress: Progress) -> BusRun:
        tag = f"bench-bus-{uuid.uuid4().hex[:10]}"
        invocations: list[Invocation] = []
        self.settle()
        health_before, dead_before = self.health(), self._dead_letters()
        cpu_before = snapshot()
        with SlotSampler(self.health_url) as sampler:
            start = time.time()
            self._put_events(count, tag)
            put_seconds = time.time() - start
            finished = self._wait_done(count, invocations, time.monotonic() + RUN_TIMEOUT_SECONDS)
            gave_up_at = time.time()
        cpu = cpu_between(cpu_before, snapshot())
        health_after = self.health()
        records = self._records(tag)
        stored = [record for record in records if record["status"]["S"] == "STORED"]
        stored_requests = len({record["correlationId"]["S"] for record in stored})
        complete = finished and stored_requests == count and len(stored) == len(records)
        end = max((_instant(record["updatedAt"]["S"]) for record in stored), default=gave_up_at)
        end = end if complete else gave_up_at
        ingest = [invocation for invocation in invocations if invocation.mapping == self.mapping]
        lines = self.functions_log.read_text(encoding="utf-8", errors="replace").splitlines()
        phases = medians(generation_phases(lines, self.function_name, start, end + 1.0))
        run = BusRun(
            requests=count,
            start=start,
            put_seconds=put_seconds,
            end=end,
            complete=complete,
            stored_requests=stored_requests,
            failed_records=sum(record["status"]["S"] in ("FAILED", "LOST") for record in records),
            dead_lettered=self._dead_letters() - dead_before,
            rate_limited=health_after.rate_limited - health_before.rate_limited,
            ideogram_calls=health_after.generate_requests - health_before.generate_requests,
            slots=slot_profile(sampler.samples, start, end),
            running=running_profile([(i.start, i.end) for i in ingest], start, end),
            invocation_seconds=tuple(latencies(ingest)),
            cpu=cpu,
            phases=phases,
        )
        if not complete:
            progress(
                f"    incomplete: {stored_requests}/{count} requests STORED, "
                f"{run.failed_records} FAILED or LOST, {run.dead_lettered} dead-lettered"
            )
        return run

    # -- the baseline: the reference loop ---------------------------------------------------------

    def reference_loop(self, count: int) -> ReferenceLoop:
        """One signed POST /generations at a time, a fixed pause between two."""
        tag = f"bench-loop-{uuid.uuid4().hex[:10]}"
        self.settle()
        replies: list[float] = []
        for index in range(count):
            if index:
                time.sleep(REFERENCE_PAUSE_SECONDS)
            body = {"prompt": PROMPT, "seed": SEED, "tags": [tag]}
            started = time.perf_counter()
            reply = requests.post(f"{self.stack.api_url}/generations", json=body, auth=self.auth, timeout=120)
            replies.append(time.perf_counter() - started)
            generations = reply.json().get("generations") if reply.status_code == 201 else None
            if not generations or any(g.get("status") != "STORED" for g in generations):
                raise BenchmarkError(f"POST /generations answered {reply.status_code}: {reply.text[:300]}")
        return ReferenceLoop(replies=tuple(replies), pause_seconds=REFERENCE_PAUSE_SECONDS)


def _stack_options(
    logs: Path, progress: Progress, *, fault_proxy: bool = False, parameters: dict[str, str] | None = None
) -> Any:
    from local_stack.ideogram import EmulatorSettings
    from local_stack.stack import StackOptions

    settings = EmulatorSettings(
        log_requests=False, latency_seconds=LATENCY_SECONDS, inflight_limit=INFLIGHT_LIMIT
    )
    return StackOptions(
        log_dir=logs,
        ideogram_base_url=None,
        ideogram_api_key=None,
        emulator_settings=settings,
        fault_proxy=fault_proxy,
        parameter_overrides=dict(parameters or {}),
        progress=lambda message: progress(f"  {message}"),
    )


def count_calls(progress: Progress) -> str:
    """AWS calls per request of the functions, on a stack of its own with the fault proxy in front
    of moto (an extra hop the timed runs do not have). The counts are taken once the publisher has
    announced every image of the run, before and after, so the warm-up's calls are left out."""
    from local_stack.stack import LocalStack

    with (
        tempfile.TemporaryDirectory(prefix="bench-ingest-calls-") as logs,
        LocalStack(
            _stack_options(Path(logs), progress, fault_proxy=True, parameters=DEEP.parameters)
        ) as stack,
    ):
        assert stack.proxy is not None
        rules = install_counters(stack.proxy)
        announced = rules[ANNOUNCEMENTS]
        rig = IngestRig(stack, Path(logs) / "functions.log")
        with rig.logging_invocations():
            rig.bus_run(rig.warmup_requests, progress)
            rig.wait_for(lambda: announced.seen >= rig.warmup_requests, "the warm-up's announcements")
            rig.settle()
            before = {label: rule.seen for label, rule in rules.items()}
            result = rig.bus_run(COUNTED_REQUESTS, progress)
            expected = rig.warmup_requests + COUNTED_REQUESTS
            rig.wait_for(lambda: announced.seen >= expected, "the counted run's announcements")
            rig.settle()
            counts = {label: rule.seen - before[label] for label, rule in rules.items()}
        if not result.complete:
            raise BenchmarkError("the counted run did not store every request")
        return calls_table(counts, COUNTED_REQUESTS)


def _warm_up(rig: IngestRig, progress: Progress) -> None:
    progress(f"  warm-up: {rig.warmup_requests} events, 1 POST /generations (discarded)")
    rig.bus_run(rig.warmup_requests, progress)
    rig.reference_loop(1)


@contextmanager
def _warm_rig(prefix: str, deployment: Deployment, progress: Progress) -> Iterator[IngestRig]:
    """A stack deployed with `deployment`, its invocations logged, every environment started."""
    from local_stack.stack import LocalStack

    with (
        tempfile.TemporaryDirectory(prefix=prefix) as logs,
        LocalStack(_stack_options(Path(logs), progress, parameters=deployment.parameters)) as stack,
    ):
        rig = IngestRig(stack, Path(logs) / "functions.log")
        with rig.logging_invocations():
            _warm_up(rig, progress)
            yield rig


def _defaults_runs(rounds: int, progress: Progress) -> tuple[IngestRig, list[float]]:
    """The same bus runs on a stack deployed with the template's defaults (no reference loop)."""
    progress(f"  {DEFAULTS.label}: a stack of its own")
    samples = []
    with _warm_rig("bench-ingest-defaults-", DEFAULTS, progress) as rig:
        for number in range(1, rounds + 1):
            result = rig.bus_run(SETTINGS.requests, progress)
            rig.bus_runs.append(result)
            samples.append(result.wall_seconds)
            progress(f"  {DEFAULTS.label}, round {number}/{rounds}: bus {result.wall_seconds * 1000:.1f} ms")
    return rig, samples


def run(rounds: int, progress: Progress) -> Outcome:
    count, baseline_count = SETTINGS.requests, SETTINGS.baseline_requests
    rounds = min(rounds, MAX_ROUNDS)
    ideal = ideal_seconds(count, LATENCY_SECONDS, INFLIGHT_LIMIT)
    progress(f"  {DEEP.label}")
    with _warm_rig("bench-ingest-", DEEP, progress) as rig:

        def bus() -> float:
            result = rig.bus_run(count, progress)
            rig.bus_runs.append(result)
            return result.wall_seconds

        def loop() -> float:
            result = rig.reference_loop(baseline_count)
            rig.reference_runs.append(result)
            return result.extrapolated_seconds(count)

        arms: dict[str, Callable[[], float]] = {"bus": bus, "reference loop": loop}
        samples = run_rounds(arms, rounds, progress, warmup=0, unit="s")
    defaults, default_samples = _defaults_runs(rounds, progress)
    progress(f"  AWS calls per request: {COUNTED_REQUESTS} events on a stack with the fault proxy")
    calls = count_calls(progress)
    comparisons = [
        compare(
            f"{count} requests through the bus ({DEEP.label}): first PutEvents to last STORED vs "
            f"ideal {count} x {LATENCY_SECONDS:g} s / {INFLIGHT_LIMIT} = {ideal:g} s",
            samples["bus"],
            [ideal] * len(samples["bus"]),
            RATIO_TARGET,
            "s",
        ),
        compare(
            f"{count} requests: requests put on the bus vs requests STORED (1.00: none failed), "
            "both deployments",
            [float(count)] * (len(rig.bus_runs) + len(defaults.bus_runs)),
            [float(run.stored_requests) or 1.0 for run in rig.bus_runs + defaults.bus_runs],
            1.0,
            "requests",
        ),
        compare(
            f"{count} requests: through the bus ({DEEP.label}) vs the reference loop "
            f"(EXTRAPOLATED from {baseline_count} requests, {REFERENCE_PAUSE_SECONDS:g} s pause)",
            samples["bus"],
            samples["reference loop"],
            1.0,
            "s",
        ),
        compare(
            f"{count} requests through the bus ({DEFAULTS.label}) vs the same ideal",
            default_samples,
            [ideal] * len(default_samples),
            RATIO_TARGET,
            "s",
        ),
    ]
    notes = bus_notes(
        rig.bus_runs,
        rig.reference_runs,
        ideal=ideal,
        latency=LATENCY_SECONDS,
        limit=INFLIGHT_LIMIT,
        deployment=DEEP.description,
        batch_size=rig.batch_size,
        concurrency=rig.concurrency,
        requests=count,
        cores=os.process_cpu_count() or 1,
        calls=calls,
        max_rounds=MAX_ROUNDS,
    )
    notes.insert(
        -1,
        f"The same runs on a stack deployed with {DEFAULTS.description}; the mapping polled: BatchSize "
        f"{defaults.batch_size}, MaximumConcurrency {defaults.concurrency}, "
        f"{INFLIGHT_LIMIT // defaults.concurrency} image slots per environment.\n\n"
        + rounds_table(defaults.bus_runs, ideal)
        + "\n\n"
        + cpu_table(defaults.bus_runs, count),
    )
    return Outcome(comparisons, notes)


BENCHMARK = Benchmark(
    name="ingest_throughput",
    title="Ingest throughput: requests through the bus, paced by Ideogram's in-flight limit",
    run=run,
)
