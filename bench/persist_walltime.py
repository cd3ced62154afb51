"""Persist wall time: persisting a 32 MiB image over a capped download, persist_image vs naive.

Both arms fetch the same image from the Ideogram emulator at the same download bandwidth and
store it in moto, each in a fresh child process (warm-up persist first, then the timed one;
see bench/persist_memory.py for the child). The naive baseline downloads the whole body, then
uploads it with one put_object: download time + upload time. persist_image uploads each 5 MiB
part while the next one downloads. Neither side waits for `Expect: 100-continue`.

The caps are calibrated at the start of each run from the time U of a put_object of the same
bytes to moto (no `Expect` either, the median of a few): the download is capped so that it
takes 0.5 U, U and 2 U. Overlap helps most at U (the realistic case for a Lambda function, whose
bandwidth to Ideogram and to S3 are of the same order) and less on either side. The three caps'
rounds are interleaved with each other. Target: ratio of medians <= 0.75 at every cap.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import requests

from bench.harness import Benchmark, Outcome, Progress, compare, run_rounds
from bench.persist_memory import (
    BASELINE,
    BUCKET,
    CANDIDATE,
    IMAGE_BYTES,
    MiB,
    PersistRig,
    drop_expect_continue,
    generate_url,
    persist_rig,
)

RATIO_TARGET = 0.75
DOWNLOAD_FACTORS = (0.5, 1.0, 2.0)  # download time as a multiple of the upload time
PART_BYTES = 5 * MiB  # DownloadPolicy's default part size
CALIBRATION_UPLOADS = 5


def caps_for(upload_seconds: float, image_bytes: int = IMAGE_BYTES) -> dict[float, int]:
    """Download caps (bytes per second) at which downloading takes each factor x the upload time."""
    if upload_seconds <= 0:
        raise ValueError("the upload time must be positive")
    return {factor: max(1, int(image_bytes / (factor * upload_seconds))) for factor in DOWNLOAD_FACTORS}


def upload_seconds(rig: PersistRig, uploads: int = CALIBRATION_UPLOADS) -> float:
    """Median time of a put_object of IMAGE_BYTES to moto from this process, without `Expect`."""
    rig.s3.meta.events.register(
        "request-created.s3.PutObject", drop_expect_continue, unique_id="bench-no-continue"
    )
    body = bytes(IMAGE_BYTES)
    samples = []
    for index in range(uploads + 1):  # the first one warms the connection and is dropped
        key = f"images/bench-calibration-{index}.png"
        start = time.perf_counter()
        rig.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/png")
        samples.append(time.perf_counter() - start)
        rig.s3.delete_object(Bucket=BUCKET, Key=key)
    return statistics.median(samples[1:])


def download_seconds(rig: PersistRig, cap: int) -> float:
    """One download of the big image at `cap`, alone: checks that the emulator keeps to the cap."""
    rig.big.settings.download_bandwidth_bps = cap
    url = generate_url(rig.big)
    start = time.perf_counter()
    with requests.get(url, stream=True, timeout=120) as response:
        response.raise_for_status()
        for _ in response.iter_content(chunk_size=1024 * 1024):
            pass
    return time.perf_counter() - start


def completion_seconds(rig: PersistRig, uploads: int = 3) -> float:
    """Median time moto takes to complete a multipart upload of IMAGE_BYTES in 5 MiB parts.

    Not part of the verdict: it is the part of persist_image's time that cannot overlap with
    anything (it starts after the last byte), recorded to explain the result.
    """
    part = bytes(PART_BYTES)
    samples = []
    for index in range(uploads):
        key = f"images/bench-completion-{index}.png"
        upload_id = rig.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        parts = []
        for number, offset in enumerate(range(0, IMAGE_BYTES, PART_BYTES), start=1):
            body = part[: min(PART_BYTES, IMAGE_BYTES - offset)]
            etag = rig.s3.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )["ETag"]
            parts.append({"ETag": etag, "PartNumber": number})
        start = time.perf_counter()
        rig.s3.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        samples.append(time.perf_counter() - start)
        rig.s3.delete_object(Bucket=BUCKET, Key=key)
    return statistics.median(samples)


def _capped(rig: PersistRig, cap: int, arm: str) -> Callable[[], float]:
    def measure() -> float:
        rig.big.settings.download_bandwidth_bps = cap  # rounds run one arm at a time
        return rig.persist_in_child(arm, "time")

    return measure


def arm_name(factor: float, arm: str) -> str:
    return f"{arm} @ download {factor:g}x upload"


def run(rounds: int, progress: Progress) -> Outcome:
    with persist_rig(progress) as rig:
        upload = upload_seconds(rig)
        completion = completion_seconds(rig)
        caps = caps_for(upload)
        downloads = {factor: download_seconds(rig, cap) for factor, cap in caps.items()}
        progress(
            f"  put_object of {IMAGE_BYTES // MiB} MiB to moto: {upload * 1000:.0f} ms; "
            f"CompleteMultipartUpload: {completion * 1000:.0f} ms; caps: "
            + ", ".join(
                f"{caps[f] / MiB:.0f} MiB/s (download alone {downloads[f] * 1000:.0f} ms)" for f in caps
            )
        )
        arms = {
            arm_name(factor, arm): _capped(rig, cap, arm)
            for factor, cap in caps.items()
            for arm in (CANDIDATE, BASELINE)
        }
        samples = run_rounds(arms, rounds, progress, unit="s")
    comparisons = []
    for factor, cap in caps.items():
        alone = downloads[factor]
        name = (
            f"{IMAGE_BYTES // MiB} MiB image, download {factor:g} x U: capped at {cap / MiB:.0f} MiB/s "
            f"(download alone {alone * 1000:.0f} ms = {alone / upload:.2f} U): persist_image vs naive"
        )
        candidate, baseline = samples[arm_name(factor, CANDIDATE)], samples[arm_name(factor, BASELINE)]
        comparisons.append(compare(name, candidate, baseline, RATIO_TARGET, "s"))
    note = (
        f"Calibration, this run: put_object of {IMAGE_BYTES // MiB} MiB to moto (no `Expect`) "
        f"{upload * 1000:.0f} ms (U); moto's CompleteMultipartUpload of {IMAGE_BYTES // MiB} MiB in "
        f"5 MiB parts {completion * 1000:.0f} ms (after the last byte: nothing can overlap it)."
    )
    return Outcome(comparisons, [note])


BENCHMARK = Benchmark(
    name="persist_walltime",
    title="Persist wall time: a 32 MiB image over a capped download, at three caps",
    run=run,
)
