"""End-to-end overhead: POST /generations through the local stack, against persisting one image.

The whole local stack runs as `make up` runs it (moto over TLS, the Ideogram emulator, the
SigV4 gateway, the generate function in its own execution-environment process). The emulator
answers every generate call after a fixed latency L and serves every image at a capped
download bandwidth. A request for n images then takes L, plus persisting its images, plus the
function's own work (records, the gateway, links). If the images persist in parallel, the
reply time minus L stays close to the time one image takes to persist, whatever n is.

Candidate, per n in 1, 4, 8: the reply time of a signed POST /generations minus L (the reply
must be a 201 with n stored images). Baseline: persisting one of the same images alone with
persist_image, in a fresh child process (after a warm-up persist), to the same moto, at the
same cap. Rounds interleave the four arms. Target: candidate <= 1.5 x baseline for every n.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from bench.harness import Benchmark, BenchmarkError, Outcome, Progress, compare, run_rounds
from bench.persist_memory import MiB, PersistTarget, drop_expect_continue, generate_url, persist_in_child

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

LATENCY_SECONDS = 2.0  # L: Ideogram's time to generate, fixed by the emulator
IMAGE_BYTES = 2 * MiB  # about a 1024x1024 PNG as Ideogram serves it
DOWNLOAD_SECONDS = 1.0  # the cap makes one image's download take this long
IMAGE_COUNTS = (1, 4, 8)  # 8 stays under the emulator's in-flight limit (10 images)
RATIO_TARGET = 1.5
PERSIST_ALONE = "persist one image alone"
REPLY_TIMEOUT_SECONDS = 60


def cap_bps(image_bytes: int = IMAGE_BYTES, download_seconds: float = DOWNLOAD_SECONDS) -> int:
    return int(image_bytes / download_seconds)


def arm_name(count: int) -> str:
    return f"POST /generations num_images={count}"


def stored_images(body: Any, count: int) -> list[str]:
    """The stored URIs of a 201 reply with `count` stored images; BenchmarkError for anything else."""
    generations = body.get("generations") if isinstance(body, dict) else None
    if not isinstance(generations, list) or len(generations) != count or body.get("complete") is not True:
        raise BenchmarkError(f"expected a complete reply with {count} generations, got {str(body)[:300]}")
    uris = [g.get("storedUri") for g in generations if isinstance(g, dict) and g.get("status") == "STORED"]
    if len(uris) != count or not all(isinstance(uri, str) for uri in uris):
        raise BenchmarkError(f"expected {count} stored images, got {str(generations)[:300]}")
    return [str(uri) for uri in uris]


class E2ERig:
    """The running stack, and the measurements made against it."""

    def __init__(self, stack: LocalStack) -> None:
        from local_stack.client import SigV4Auth

        self.stack = stack
        self.auth = SigV4Auth(stack.caller, stack.options.region)
        self.s3 = stack.aws.client("s3")
        self.bucket = str(stack.endpoints()["resources"]["AssetsBucket"])
        self.samples_taken = 0

    def _delete(self, uris: list[str]) -> None:
        # moto keeps objects in memory: 13 images a round would add up.
        for uri in uris:
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            self.s3.delete_object(Bucket=bucket, Key=key)

    def reply_overhead(self, count: int) -> float:
        """Seconds from sending POST /generations to the whole reply, minus L."""
        body = {"prompt": "a benchmark lighthouse", "num_images": count, "seed": 7}
        start = time.perf_counter()
        reply = requests.post(
            f"{self.stack.api_url}/generations", json=body, auth=self.auth, timeout=REPLY_TIMEOUT_SECONDS
        )
        elapsed = time.perf_counter() - start
        if reply.status_code != 201:
            raise BenchmarkError(f"POST /generations answered {reply.status_code}: {reply.text[:300]}")
        self._delete(stored_images(reply.json(), count))
        return elapsed - LATENCY_SECONDS

    def persist_alone(self) -> float:
        """One image, same emulator and cap, to the same moto, with persist_image in a fresh child."""
        emulator = self.stack.emulator
        if emulator is None:
            raise BenchmarkError("the end-to-end benchmark needs the embedded Ideogram emulator")
        self.samples_taken += 1
        key = f"images/bench-alone-{self.samples_taken}.png"
        url = generate_url(emulator)  # pays L, outside the measurement; reused by the warm-up
        target = PersistTarget(
            self.stack.aws.endpoint_url,
            str(self.stack.aws.ca_bundle),
            self.bucket,
            emulator.url.removeprefix("http://"),
        )
        try:
            answer = persist_in_child(target, "persist_image", "time", key, url, url)
        finally:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        return float(answer["value"])


def parallel_seconds(task: Callable[[int], object], count: int, repeats: int = 3) -> float:
    """Median time for `count` calls of task(i) started together to all finish."""
    samples = []
    with ThreadPoolExecutor(max_workers=count) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            list(pool.map(task, range(count)))
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def contention(rig: E2ERig, counts: tuple[int, ...] = (1, max(IMAGE_COUNTS))) -> str:
    """How the emulator's downloads and moto's uploads alone scale from 1 to 8 at once.

    Not part of the verdict: it says which side of the stack (all of it on this machine's two
    cores) a slower num_images=8 comes from.
    """
    emulator = rig.stack.emulator
    assert emulator is not None
    url = generate_url(emulator)
    body = bytes(IMAGE_BYTES)
    rig.s3.meta.events.register("request-created.s3.PutObject", drop_expect_continue, unique_id="bench-e2e")

    def download(_: int) -> None:
        with requests.get(url, stream=True, timeout=REPLY_TIMEOUT_SECONDS) as response:
            response.raise_for_status()
            for _chunk in response.iter_content(chunk_size=256 * 1024):
                pass

    def upload(index: int) -> None:
        key = f"images/bench-contention-{index}.png"
        rig.s3.put_object(Bucket=rig.bucket, Key=key, Body=body, ContentType="image/png")
        rig.s3.delete_object(Bucket=rig.bucket, Key=key)

    downloads = {n: parallel_seconds(download, n) for n in counts}
    uploads = {n: parallel_seconds(upload, n) for n in counts}
    return (
        "Alone, from the benchmark's process (median of 3): "
        + ", ".join(f"{n} download(s) at once {downloads[n] * 1000:.0f} ms" for n in counts)
        + "; "
        + ", ".join(
            f"{n} put_object(s) of {IMAGE_BYTES / MiB:g} MiB (and a delete each) to moto at once "
            f"{uploads[n] * 1000:.0f} ms"
            for n in counts
        )
        + "."
    )


def run(rounds: int, progress: Progress) -> Outcome:
    # Imported here: the stack pulls in moto's launcher, the emulator and the gateway.
    from local_stack.ideogram import EmulatorSettings
    from local_stack.stack import LocalStack, StackOptions

    cap = cap_bps()
    settings = EmulatorSettings(
        log_requests=False,
        latency_seconds=LATENCY_SECONDS,
        download_bandwidth_bps=cap,
        huge_image_bytes=IMAGE_BYTES,
    )
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as logs:
        options = StackOptions(
            log_dir=Path(logs),
            ideogram_base_url=None,
            ideogram_api_key=None,
            emulator_settings=settings,
            progress=lambda message: progress(f"  {message}"),
        )
        with LocalStack(options) as stack:
            rig = E2ERig(stack)
            arms: dict[str, Callable[[], float]] = {PERSIST_ALONE: rig.persist_alone}
            arms |= {arm_name(n): partial(rig.reply_overhead, n) for n in IMAGE_COUNTS}
            samples = run_rounds(arms, rounds, progress, unit="s")
            scaling = contention(rig)
            progress(f"  {scaling}")
    comparisons = [
        compare(
            f"{arm_name(n)}: reply time - L vs persisting one image alone",
            samples[arm_name(n)],
            samples[PERSIST_ALONE],
            RATIO_TARGET,
            "s",
        )
        for n in IMAGE_COUNTS
    ]
    note = (
        f"Setup: L = {LATENCY_SECONDS:g} s (emulator latency), images of {IMAGE_BYTES / MiB:g} MiB, "
        f"download capped at {cap / MiB:g} MiB/s per download (one image downloads in "
        f"~{DOWNLOAD_SECONDS:g} s). Serial persisting would make num_images=8 about 8 x the baseline."
    )
    return Outcome(comparisons, [note, scaling])


BENCHMARK = Benchmark(
    name="e2e_overhead",
    title="End-to-end overhead: POST /generations through the local stack vs persisting one image",
    run=run,
)
