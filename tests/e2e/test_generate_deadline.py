"""The invocation's deadline holds under a slow, steady download: POST /generations answers inside
the function's timeout, every image it could not finish is FAILED with its URL kept, and nothing
is left PENDING or half uploaded.

The emulator trickles image bytes at a few hundred bytes a second, so no single socket read ever
times out: only an overall deadline ends the downloads in time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.stack import LocalStack

GENERATE_TIMEOUT_SECONDS = 29  # GenerateFunction's Timeout in template.yaml


@pytest.fixture(autouse=True)
def _clean_faults(stack: LocalStack) -> Iterator[None]:
    yield
    assert stack.emulator is not None
    stack.emulator.reset_faults()


def _record(stack: LocalStack, generation_id: str) -> dict[str, Any]:
    table = stack.endpoints()["resources"]["AssetsTable"]
    item = stack.aws.client("dynamodb").get_item(
        TableName=table, Key={"PK": {"S": f"GEN#{generation_id}"}, "SK": {"S": "META"}}
    )
    return item["Item"]  # type: ignore[no-any-return]


def test_a_slow_steady_download_ends_at_the_deadline_with_failed_records_and_a_202(stack: LocalStack) -> None:
    assert stack.emulator is not None
    stack.emulator.settings.latency_seconds = 15
    stack.emulator.settings.download_bandwidth_bps = 300
    auth = SigV4Auth(stack.caller, stack.options.region)

    started = time.monotonic()
    reply = requests.post(
        f"{stack.api_url}/generations",
        json={"prompt": "a slow river delta", "num_images": 2},
        auth=auth,
        timeout=90,
    )
    elapsed = time.monotonic() - started

    assert reply.status_code == 202, reply.text
    assert elapsed < GENERATE_TIMEOUT_SECONDS
    generations = reply.json()["generations"]
    assert [generation["status"] for generation in generations] == ["FAILED", "FAILED"]
    assert {generation["failureKind"] for generation in generations} == {"timeout"}
    for generation in generations:
        record = _record(stack, generation["id"])
        assert record["status"]["S"] == "FAILED"
        assert record["openStatus"]["S"] == "FAILED"
        # Kept for the reconciler, which can still fetch the image while the URL is valid.
        assert record["originalUrl"]["S"].startswith(stack.ideogram_url)
        assert "originalUrlExpiresAt" in record
    bucket = stack.endpoints()["resources"]["AssetsBucket"]
    s3 = stack.aws.client("s3")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    keys = {generation["id"] for generation in generations}
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="images/").get("Contents", [])
    assert not [item for item in listing if item["Key"].rsplit("/", 1)[-1].removesuffix(".png") in keys]
