"""Persist memory: peak RSS growth while persisting a 32 MiB image, persist_image vs the naive way.

The naive way (the baseline) is what the reference code did: `requests.get(url).content`, then
`put_object(Body=bytes)`. Each sample is a fresh child process that persists one image from
the Ideogram emulator to moto over real HTTP. Targets: the candidate's median growth is at
most 0.25x the baseline's, and at most 12 MiB in absolute terms.

This module also holds what both persist benchmarks share (`PersistRig`: moto, the emulators
and the child process); bench/persist_walltime.py reuses it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from bench.harness import Benchmark, BenchmarkError, Outcome, Progress, compare, run_rounds
from local_stack.aws_emulator import LOCAL_AWS_ENVIRONMENT, AwsEmulator

if TYPE_CHECKING:
    from local_stack.ideogram import RunningEmulator

MiB = 1024 * 1024
IMAGE_BYTES = 32 * MiB
BUCKET = "bench-persist-images"
RATIO_TARGET = 0.25
BUDGET_BYTES = 12 * MiB
CANDIDATE, BASELINE = "persist_image", "naive"
CHILD_TIMEOUT_SECONDS = 120
_PROJECT_ROOT = Path(__file__).resolve().parents[1]
_LAYER_DIR = _PROJECT_ROOT / "layers" / "core"

# One persist in a fresh interpreter. argv: layer dir, arm, mode ("memory" | "time"), S3 endpoint,
# bucket, key, warm-up URL, URL, allowed hosts (comma-separated). The warm-up persists a small
# image the same way first, so lazily loaded code and models, connections and Powertools' logger
# are in place for both arms.
# Both arms upload without `Expect: 100-continue`: persist_image drops it from its own uploads,
# and the naive arm drops it from its put_object with the same kind of hook, so that neither
# side waits for a "100 Continue" (a delayed ACK against moto over TLS) and the comparison is
# about overlapping the download with the upload, not about that header.
# Memory: VmHWM is reset to the current RSS by writing 5 to /proc/self/clear_refs (Linux >= 4.0),
# then growth = VmHWM after the call - VmRSS before it. Where that file cannot be written,
# ru_maxrss (the peak since the process started) stands in for VmHWM.
_CHILD = """\
import gc, json, os, resource, sys, time
layer_dir, arm, mode, endpoint, bucket, key, warm_url, url, allowed = sys.argv[1:]
sys.path.insert(0, layer_dir)
import boto3, requests
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
metadata, tags = {"prompt": "benchmark"}, {"retention-class": "short"}
if arm == "persist_image":
    from ideogram_assets.observability import logger
    from ideogram_assets.storage import DownloadPolicy, persist_image
    logger.setLevel("WARNING")  # keep the child's stdout for its answer
    policy = DownloadPolicy(allowed_hosts=frozenset(allowed.split(",")))
    session = requests.Session()
    def persist(url, key):
        persist_image(url, bucket=bucket, key=key, metadata=metadata, tags=tags,
                      policy=policy, s3=s3, session=session)
else:
    from urllib.parse import urlencode
    def no_continue(request, **_):
        if "Expect" in request.headers:
            del request.headers["Expect"]
    s3.meta.events.register("request-created.s3.PutObject", no_continue)
    def persist(url, key):
        body = requests.get(url, timeout=60).content
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/png",
                      Metadata=metadata, Tagging=urlencode(tags))
def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field + ":"))
persist(warm_url, key + ".warm-up")
s3.delete_object(Bucket=bucket, Key=key + ".warm-up")
gc.collect()
if mode == "memory":
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        peak_source = "VmHWM"
    except OSError:
        peak_source = "ru_maxrss"
    before = status("VmRSS")
    persist(url, key)
    if peak_source == "VmHWM":
        peak = status("VmHWM")
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"value": peak - before, "peak_source": peak_source}))
else:
    start = time.perf_counter()
    persist(url, key)
    print(json.dumps({"value": time.perf_counter() - start}))
"""


def drop_expect_continue(request: Any, **_: object) -> None:
    """request-created hook: the same as the naive child's, for uploads made from this process."""
    if "Expect" in request.headers:
        del request.headers["Expect"]


@dataclass(frozen=True)
class PersistTarget:
    """Where a child persists: moto's endpoint (and its certificate), a bucket, allowed hosts."""

    endpoint_url: str
    ca_bundle: str | None
    bucket: str
    allowed_hosts: str  # comma-separated host:port of the emulators the images come from


def persist_in_child(
    target: PersistTarget, arm: str, mode: str, key: str, warm_url: str, url: str
) -> dict[str, Any]:
    """One persist (after a warm-up persist) in a fresh child; its JSON answer ({"value": ...})."""
    argv = [str(_LAYER_DIR), arm, mode, target.endpoint_url, target.bucket, key, warm_url, url]
    argv.append(target.allowed_hosts)
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **LOCAL_AWS_ENVIRONMENT}
    environment |= {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    if target.ca_bundle:  # moto over https: the child trusts its certificate
        environment["AWS_CA_BUNDLE"] = target.ca_bundle
    what = f"{arm} persisting an image ({mode})"
    try:
        completed = subprocess.run(  # our interpreter, a fixed script
            [sys.executable, "-I", "-c", _CHILD, *argv],
            capture_output=True,
            text=True,
            env=environment,
            timeout=CHILD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"{what}: no answer within {CHILD_TIMEOUT_SECONDS} s") from None
    if completed.returncode != 0:
        raise BenchmarkError(f"{what}: child exited {completed.returncode}: {completed.stderr[-2000:]}")
    try:
        answer: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        float(answer["value"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise BenchmarkError(f"{what}: unexpected child output {completed.stdout[-300:]!r}") from None
    return answer


def generate_url(emulator: RunningEmulator) -> str:
    # A fixed seed: the emulator renders each (prompt, seed) once and caches it, so no round
    # pays for a render inside its measurement.
    response = requests.post(
        f"{emulator.url}/v1/ideogram-v3/generate",
        headers={"Api-Key": emulator.settings.api_key},
        files={"prompt": (None, "a benchmark fox"), "seed": (None, "7")},
        timeout=30,
    )
    if response.status_code != 200:
        raise BenchmarkError(f"the Ideogram emulator answered {response.status_code}: {response.text[:200]}")
    url: str = response.json()["data"][0]["url"]
    return url


@dataclass
class PersistRig:
    """moto, an emulator serving the big image and one serving the small warm-up image."""

    aws: AwsEmulator
    big: RunningEmulator
    small: RunningEmulator
    s3: Any
    rounds_run: int = 0
    peak_sources: set[str] = field(default_factory=set)  # how the children read their peak RSS

    def persist_in_child(self, arm: str, mode: str) -> float:
        """One persist of the big image in a fresh child; the number it reports (bytes or seconds)."""
        self.rounds_run += 1
        key = f"images/bench-{arm}-{self.rounds_run}.png"
        hosts = ",".join(emulator.url.removeprefix("http://") for emulator in (self.big, self.small))
        ca_bundle = getattr(self.aws, "ca_bundle", None)
        target = PersistTarget(self.aws.endpoint_url, str(ca_bundle) if ca_bundle else None, BUCKET, hosts)
        try:
            answer = persist_in_child(
                target, arm, mode, key, generate_url(self.small), generate_url(self.big)
            )
        finally:
            self.s3.delete_object(Bucket=BUCKET, Key=key)  # moto holds objects in memory
        if "peak_source" in answer:
            self.peak_sources.add(str(answer["peak_source"]))
        return float(answer["value"])


@contextmanager
def persist_rig(progress: Progress) -> Iterator[PersistRig]:
    """Started once per benchmark run, not per round."""
    # Imported here: `python -m bench` imports every benchmark module, and the emulator pulls in
    # Pillow, werkzeug and the OpenAPI validator, which only these benchmarks need.
    from local_stack.ideogram import EmulatorSettings, start_emulator

    aws = AwsEmulator().start()
    emulators: list[RunningEmulator] = []
    try:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        emulators.append(start_emulator(EmulatorSettings(log_requests=False), port=0))
        emulators.append(
            start_emulator(EmulatorSettings(log_requests=False, huge_image_bytes=IMAGE_BYTES), port=0)
        )
        small, big = emulators
        progress(f"  moto at {aws.endpoint_url}; emulators at {big.url} (big image), {small.url} (warm-up)")
        yield PersistRig(aws=aws, big=big, small=small, s3=s3)
    finally:
        for emulator in emulators:
            emulator.stop()
        aws.stop()


def run(rounds: int, progress: Progress) -> Outcome:
    with persist_rig(progress) as rig:
        arms = {name: partial(rig.persist_in_child, name, "memory") for name in (CANDIDATE, BASELINE)}
        samples = run_rounds(arms, rounds, progress, unit="bytes")
    # "VmHWM": every child could reset its peak; "ru_maxrss" would mean some could not.
    what = f"peak RSS growth ({'/'.join(sorted(rig.peak_sources))}), {IMAGE_BYTES // MiB} MiB image"
    return Outcome(
        [
            compare(
                f"{what}: persist_image vs naive",
                samples[CANDIDATE],
                samples[BASELINE],
                RATIO_TARGET,
                "bytes",
            ),
            compare(
                f"{what}: persist_image vs {BUDGET_BYTES // MiB} MiB budget",
                samples[CANDIDATE],
                [BUDGET_BYTES],
                1.0,
                "bytes",
            ),
        ]
    )


BENCHMARK = Benchmark(
    name="persist_memory",
    title="Persist memory: peak RSS growth persisting a 32 MiB image",
    run=run,
)
