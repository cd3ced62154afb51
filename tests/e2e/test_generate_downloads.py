"""Downloads inside the invocation's time: one overall deadline, and one retry when time allows.

A slow, steady download never lets a single socket read time out (the emulator trickles a few
hundred bytes a second), so only an overall deadline ends it in time: POST /generations then
answers inside the function's timeout, every unfinished image is FAILED with its URL kept, and
nothing is left PENDING or half uploaded. A one-off failure (a body cut short, a reset
connection) is retried once and the image is stored.
"""

from __future__ import annotations

import time

import pytest

from local_stack.stack import LocalStack
from tests.e2e._helpers import (
    assert_stored_as_recorded,
    generate,
    object_keys,
    open_uploads,
    record,
    set_faults,
)

pytestmark = pytest.mark.usefixtures("faults_cleared")

GENERATE_TIMEOUT_SECONDS = 29  # GenerateFunction's Timeout in template.yaml


def test_a_slow_steady_download_ends_at_the_deadline_with_failed_records_and_a_202(stack: LocalStack) -> None:
    set_faults(stack, latency_seconds=15, download_bandwidth_bps=300)
    before = object_keys(stack)

    started = time.monotonic()
    reply = generate(stack, prompt="a slow river delta", num_images=2)
    elapsed = time.monotonic() - started

    assert reply.status_code == 202, reply.text
    assert elapsed < GENERATE_TIMEOUT_SECONDS
    generations = reply.json()["generations"]
    assert [generation["status"] for generation in generations] == ["FAILED", "FAILED"]
    assert {generation["failureKind"] for generation in generations} == {"timeout"}
    for generation in generations:
        item = record(stack, generation["id"])
        assert item["status"]["S"] == item["openStatus"]["S"] == "FAILED"
        # Kept for the reconciler, which can still fetch the image while the URL is valid.
        assert item["originalUrl"]["S"].startswith(stack.ideogram_url)
        assert "originalUrlExpiresAt" in item
    assert open_uploads(stack) == []
    assert object_keys(stack) == before


@pytest.mark.parametrize("fault", ["truncate", "reset"])
def test_a_one_off_download_failure_is_retried_once_and_the_image_stored(
    stack: LocalStack, fault: str
) -> None:
    set_faults(stack, image_faults=[{"index": 0, "fault": fault, "times": 1}])

    reply = generate(stack, prompt="a lantern festival", num_images=2)

    assert reply.status_code == 201, reply.text
    for generation in reply.json()["generations"]:
        assert_stored_as_recorded(stack, generation)


def test_a_download_that_keeps_failing_is_tried_twice_then_failed(stack: LocalStack) -> None:
    set_faults(stack, image_faults=[{"index": 1, "fault": "truncate", "times": 2}])

    reply = generate(stack, prompt="a paper crane", num_images=2)

    assert reply.status_code == 202, reply.text
    first, second = reply.json()["generations"]
    assert_stored_as_recorded(stack, first)
    assert (second["status"], second["failureKind"]) == ("FAILED", "truncated")
    assert open_uploads(stack) == []
