"""Persist wall time: persisting a 32 MiB image over a capped download, persist_image vs naive.

Both arms fetch the same image from the Ideogram emulator at the same download bandwidth and
store it in moto, each in a fresh child process (warm-up persist first, then the timed one;
see bench/persist_memory.py for the child). The naive baseline downloads the whole body, then
uploads it with one put_object: download time + upload time. persist_image uploads each 5 MiB
part while the next one downloads, so it should take about the longer of the two plus one part.

The cap is calibrated at the start of each run so that downloading takes as long as uploading
the same bytes to moto with one put_object (the median of a few uploads on this machine): the
case where overlapping helps most, and the realistic one for a Lambda function, whose
bandwidth to Ideogram and to S3 are of the same order. Target: ratio of medians <= 0.7.
"""

from __future__ import annotations

import statistics
import time
from functools import partial

from bench.harness import Benchmark, Comparison, Progress, compare, run_rounds
from bench.persist_memory import BASELINE, BUCKET, CANDIDATE, IMAGE_BYTES, MiB, PersistRig, persist_rig

RATIO_TARGET = 0.7
PART_BYTES = 5 * MiB  # DownloadPolicy's default part size
CALIBRATION_UPLOADS = 5


def upload_seconds(rig: PersistRig, uploads: int = CALIBRATION_UPLOADS) -> float:
    """Median time of a put_object of IMAGE_BYTES to moto, from this process."""
    body = bytes(IMAGE_BYTES)
    samples = []
    for index in range(uploads + 1):  # the first one warms the connection and is dropped
        key = f"images/bench-calibration-{index}.png"
        start = time.perf_counter()
        rig.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/png")
        samples.append(time.perf_counter() - start)
        rig.s3.delete_object(Bucket=BUCKET, Key=key)
    return statistics.median(samples[1:])


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


def run(rounds: int, progress: Progress) -> list[Comparison]:
    with persist_rig(progress) as rig:
        seconds = upload_seconds(rig)
        completion = completion_seconds(rig)
        cap = int(IMAGE_BYTES / seconds)
        rig.big.settings.download_bandwidth_bps = cap
        progress(
            f"  put_object of {IMAGE_BYTES // MiB} MiB to moto: {seconds * 1000:.0f} ms, so the download is "
            f"capped at {cap / MiB:.0f} MiB/s; moto's CompleteMultipartUpload: {completion * 1000:.0f} ms"
        )
        arms = {name: partial(rig.persist_in_child, name, "time") for name in (CANDIDATE, BASELINE)}
        samples = run_rounds(arms, rounds, progress, unit="s")
    name = (
        f"wall time, {IMAGE_BYTES // MiB} MiB image, download capped at {cap / MiB:.0f} MiB/s "
        f"(put_object {seconds * 1000:.0f} ms, CompleteMultipartUpload {completion * 1000:.0f} ms): "
        "persist_image vs naive"
    )
    return [compare(name, samples[CANDIDATE], samples[BASELINE], RATIO_TARGET, "s")]


BENCHMARK = Benchmark(
    name="persist_walltime",
    title="Persist wall time: a 32 MiB image over a capped download",
    run=run,
)
