"""POST /generations when things go wrong on the wire, end to end.

Each test sends a signed request through the local gateway to the real generate function, and
breaks one thing between it and its collaborators: the Ideogram emulator's fault switches
(/_emulator/faults) or the fault proxy in front of the AWS emulator. Nothing is patched in the
function's process. Each test then checks what the caller was told and what the table and the
bucket really hold, reading every stored object back and comparing it with its record.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack, StackOptions
from tests.conftest import MAX_IMAGE_BYTES_IN_TESTS
from tests.e2e._helpers import (
    abort_open_uploads,
    assert_stored_as_recorded,
    emulator_png,
    generate,
    generate_with_key,
    ideogram_calls,
    ideogram_inflight,
    object_bytes,
    object_keys,
    open_uploads,
    record,
    records_tagged,
    recycle_execution_environments,
    rotate_ideogram_key,
    set_faults,
    unreachable_listener,
)

pytestmark = pytest.mark.usefixtures("faults_cleared")

MiB = 1024 * 1024


def denied(**match: Any) -> FaultRule:
    """A failure the AWS SDK does not retry, for tests about what happens once the SDK gives up:
    a 500 ends the same way after the SDK's backoff (for Powertools' idempotency client, whose
    botocore uses the legacy DynamoDB policy of 10 attempts, about 25 s)."""
    return FaultRule(status=400, error_code="AccessDeniedException", **match)


@pytest.fixture
def tag() -> str:
    """A tag of this test's own, to find the records its requests left."""
    return f"case-{uuid.uuid4().hex[:12]}"


def _function_timeout(stack: LocalStack) -> int:
    """GenerateFunction's Timeout, from template.yaml."""
    return stack.runtimes["GenerateFunction"].spec.timeout_seconds


def _proxy(stack: LocalStack) -> Any:
    assert stack.proxy is not None
    return stack.proxy


# -- Ideogram decides how many images it returns ----------------------------------------------------


def test_fewer_images_than_asked_leave_no_record_for_the_missing_ones(stack: LocalStack, tag: str) -> None:
    set_faults(stack, return_images_delta=-1)
    before = object_keys(stack)
    reply = generate(stack, prompt="three paper lanterns", num_images=3, seed=41, tags=[tag])
    assert reply.status_code == 201, reply.text
    body = reply.json()
    generations = body["generations"]
    assert [g["indexInRequest"] for g in generations] == [0, 1]
    assert body["complete"] is True
    for generation in generations:
        assert_stored_as_recorded(stack, generation)
    # The third PENDING record, written before Ideogram was called, is gone with its image.
    records = records_tagged(stack, tag)
    assert [item["id"]["S"] for item in records] == [g["id"] for g in generations]
    assert object_keys(stack) - before == {g["storedUri"].split("/", 3)[3] for g in generations}


def test_no_image_at_all_is_a_502_and_leaves_no_record(stack: LocalStack, tag: str) -> None:
    set_faults(stack, return_images_delta=-2)
    before = object_keys(stack)
    reply = generate(stack, prompt="two empty frames", num_images=2, tags=[tag])
    assert reply.status_code == 502, reply.text
    assert "without any image" in reply.json()["message"]
    assert records_tagged(stack, tag) == []
    assert object_keys(stack) == before


def test_more_images_than_asked_each_get_a_record_and_an_object(stack: LocalStack, tag: str) -> None:
    set_faults(stack, return_images_delta=2)
    before = object_keys(stack)
    reply = generate(stack, prompt="two kites", num_images=2, seed=90, tags=[tag])
    assert reply.status_code == 201, reply.text
    generations = reply.json()["generations"]
    assert [g["indexInRequest"] for g in generations] == [0, 1, 2, 3]
    assert [g["seed"] for g in generations] == [90, 91, 92, 93]
    assert len({g["id"] for g in generations}) == 4
    for generation in generations:
        stored = assert_stored_as_recorded(stack, generation)
        assert stored == emulator_png("two kites", generation["seed"])
        assert generation["costUsd"] == pytest.approx(0.06)  # every image Ideogram returned is billed
    assert [item["id"]["S"] for item in records_tagged(stack, tag)] == [g["id"] for g in generations]
    assert len(object_keys(stack) - before) == 4


# -- DynamoDB failing after Ideogram answered -------------------------------------------------------


def test_the_result_transaction_failing_still_ends_with_stored_records(stack: LocalStack, tag: str) -> None:
    """The transaction that records Ideogram's answer (the only write that sets the URL's expiry)
    fails; the per-image writes still land, carrying the answer with them."""
    # The answer's transaction sets the URL's expiry and puts no index item (TOKEN#); the per-image
    # write that later carries the answer puts the image's index items.
    answer = r"^(?!.*TOKEN#).*originalUrlExpiresAt"
    result_write = _proxy(stack).inject(
        FaultRule(method="POST", target=r"\.TransactWriteItems$", body=answer)
    )
    reply = generate(stack, prompt="a windmill at noon", num_images=2, tags=[tag])
    assert result_write.failed >= 1  # the fault really hit the result transaction (and its retries)
    assert reply.status_code == 201, reply.text
    for generation in reply.json()["generations"]:
        assert_stored_as_recorded(stack, generation)


def test_the_table_failing_after_ideogram_answered_keeps_the_images_at_their_records_keys(
    stack: LocalStack, tag: str
) -> None:
    """Every write after the PENDING transaction fails: the paid images are stored anyway, under
    the keys the PENDING records already name, and the reply says PENDING as the table does
    (no link, no checksum: the record that would hold them was not written)."""
    proxy = _proxy(stack)
    proxy.inject(denied(method="POST", target=r"\.TransactWriteItems$", skip=1))
    proxy.inject(denied(method="POST", target=r"\.(PutItem|UpdateItem)$"))
    before = object_keys(stack)
    reply = generate(stack, prompt="a harbour crane", num_images=2, seed=300, tags=[tag])
    assert reply.status_code == 202, reply.text
    generations = reply.json()["generations"]
    assert [g["status"] for g in generations] == ["PENDING", "PENDING"]
    assert all(g["imageUrl"] is None and g["storedUri"] is None for g in generations)
    items = {item["id"]["S"]: item for item in records_tagged(stack, tag)}
    assert set(items) == {g["id"] for g in generations}
    bucket = stack.endpoints()["resources"]["AssetsBucket"]
    for generation in generations:
        item = items[generation["id"]]
        assert item["status"]["S"] == item["openStatus"]["S"] == "PENDING"
        key = item["key"]["S"]
        stored = object_bytes(stack, key)  # the reconciler finds the image where the record says
        seed = int(stack.aws.client("s3").head_object(Bucket=bucket, Key=key)["Metadata"]["seed"])
        assert stored == emulator_png("a harbour crane", seed)
    assert object_keys(stack) - before == {items[g["id"]]["key"]["S"] for g in generations}


# -- an unreadable answer from Ideogram -------------------------------------------------------------


@pytest.mark.parametrize("how", ["not_json", "breaks_schema"])
def test_an_unreadable_ideogram_reply_is_502_with_failed_records_and_nothing_stored(
    stack: LocalStack, tag: str, how: str
) -> None:
    set_faults(stack, unreadable_response=how)
    before_objects, before_calls = object_keys(stack), ideogram_calls(stack)
    reply = generate(stack, prompt="a radio tower", num_images=2, tags=[tag])
    assert reply.status_code == 502, reply.text
    assert "could not be understood" in reply.json()["message"]
    assert "Traceback" not in reply.text
    assert ideogram_calls(stack) - before_calls == 1  # a 200 may be billed: never retried
    records = records_tagged(stack, tag)
    assert len(records) == 2  # kept as the trace of a generation that may have been billed
    for item in records:
        assert item["status"]["S"] == "FAILED"
        assert item["failureKind"]["S"] == "ideogram_protocol"
        assert "originalUrl" not in item  # nothing readable to download
        assert "openStatus" not in item  # so nothing for the reconciler: closed, visible as FAILED
    assert object_keys(stack) == before_objects


# -- one image stored, one not ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("truncate", "truncated"), ("reset", "truncated"), ("wrong_content_type", "bad_content_type")],
)
def test_one_image_failing_its_download_does_not_cost_the_other(
    stack: LocalStack, tag: str, fault: str, kind: str
) -> None:
    set_faults(stack, image_faults=[{"index": 1, "fault": fault}])  # every download of image 1
    before = object_keys(stack)
    reply = generate(stack, prompt="two sailing boats", num_images=2, tags=[tag])
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["complete"] is False
    stored, failed = body["generations"]
    assert_stored_as_recorded(stack, stored)
    assert (failed["status"], failed["failureKind"]) == ("FAILED", kind)
    assert failed["imageUrl"] is None
    item = record(stack, failed["id"])
    assert item["status"]["S"] == item["openStatus"]["S"] == "FAILED"
    assert item["failureKind"]["S"] == kind
    # Kept for the reconciler: the signed URL and when it expires.
    assert item["originalUrl"]["S"].startswith(f"{stack.ideogram_url}/api/images/ephemeral/")
    assert "sig=" in item["originalUrl"]["S"]
    assert item["originalUrlExpiresAt"]["S"] > item["createdAt"]["S"]
    assert object_keys(stack) - before == {stored["storedUri"].split("/", 3)[3]}
    assert open_uploads(stack) == []


# -- Idempotency-Key ----------------------------------------------------------------------------------


def test_a_second_request_with_the_key_while_the_first_runs_is_409(stack: LocalStack, tag: str) -> None:
    set_faults(stack, latency_seconds=8)
    key = f"concurrent-{uuid.uuid4().hex}"
    body: dict[str, Any] = {"prompt": "a slow glacier", "tags": [tag]}
    before_calls = ideogram_calls(stack)
    first: list[requests.Response] = []
    runner = threading.Thread(target=lambda: first.append(generate_with_key(stack, key, **body)))
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while ideogram_inflight(stack) == 0:  # the first request is at Ideogram: its key is taken
            assert time.monotonic() < deadline, "the first request never reached Ideogram"
            time.sleep(0.05)
        started = time.monotonic()
        second = generate_with_key(stack, key, **body)
        assert time.monotonic() - started < 6  # refused at once, not after waiting for the first
    finally:
        runner.join(timeout=60)
    assert second.status_code == 409, second.text
    assert "still running" in second.json()["message"]
    assert int(second.headers["Retry-After"]) > 0
    [done] = first
    assert done.status_code == 201, done.text
    assert ideogram_calls(stack) - before_calls == 1
    assert [item["id"]["S"] for item in records_tagged(stack, tag)] == [done.json()["generations"][0]["id"]]
    replay = generate_with_key(stack, key, **body)  # once finished, the key replays the first reply
    assert replay.status_code == 201
    assert replay.json()["requestId"] == done.json()["requestId"]
    assert ideogram_calls(stack) - before_calls == 1


@pytest.mark.parametrize("replay", [False, True], ids=["first-call", "replay"])
def test_the_idempotency_store_failing_is_503_and_ideogram_is_not_called(
    stack: LocalStack, tag: str, replay: bool
) -> None:
    """The key's item (PK=IDEMPOTENCY#generation) cannot be written. On a replay the conditional
    PutItem is also how the stored reply is read (the failed condition returns the item), so a
    failing PutItem covers both; no GetItem is made."""
    key, body = f"store-down-{uuid.uuid4().hex}", {"prompt": "a locked gate", "tags": [tag]}
    if replay:
        assert generate_with_key(stack, key, **body).status_code == 201
    records_before = records_tagged(stack, tag)
    save = _proxy(stack).inject(denied(method="POST", target=r"\.PutItem$", body="IDEMPOTENCY#"))
    before_calls = ideogram_calls(stack)
    reply = generate_with_key(stack, key, **body)
    assert save.failed >= 1
    assert reply.status_code == 503, reply.text
    assert int(reply.headers["Retry-After"]) > 0
    assert "unavailable" in reply.json()["message"]
    assert ideogram_calls(stack) == before_calls
    assert records_tagged(stack, tag) == records_before


def test_a_key_store_answering_5xx_is_retried_briefly_not_for_most_of_the_invocation(
    stack: LocalStack, tag: str
) -> None:
    """Retries of the idempotency store are those of every client here (3 attempts), so a store
    that keeps failing gets its 503 early, not after botocore's legacy 10 attempts."""
    save = _proxy(stack).inject(FaultRule(method="POST", target=r"\.PutItem$", body="IDEMPOTENCY#"))
    reply = generate_with_key(stack, f"store-5xx-{uuid.uuid4().hex}", prompt="a rusty hinge", tags=[tag])
    assert reply.status_code == 503, reply.text
    assert save.failed < 10  # a few attempts (3 per call), not botocore's legacy ten per call
    assert records_tagged(stack, tag) == []


# -- timeouts while downloading an image ------------------------------------------------------------


def test_a_connect_timeout_on_a_download_fails_that_image_in_time(stack: LocalStack, tag: str) -> None:
    assert stack.emulator is not None
    before = object_keys(stack)
    with unreachable_listener() as silent_host:
        # Ideogram's image URLs point at a host that never completes a connection.
        stack.emulator.settings.public_base_url = silent_host
        started = time.monotonic()
        reply = generate(stack, prompt="a foggy pier", tags=[tag])
        elapsed = time.monotonic() - started
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert (generation["status"], generation["failureKind"]) == ("FAILED", "timeout")
    assert elapsed < _function_timeout(stack)
    item = record(stack, generation["id"])
    assert "connect" in item["failureMessage"]["S"]
    assert item["originalUrl"]["S"].startswith(silent_host)  # kept: the reconciler may try again
    assert object_keys(stack) == before
    assert open_uploads(stack) == []


def test_a_download_stalling_mid_body_times_out_and_leaves_no_parts(stack: LocalStack, tag: str) -> None:
    # Two parts' worth: the multipart upload is open and part 1 sent when the body stalls.
    set_faults(
        stack,
        huge_image_bytes=7 * MiB,
        image_faults=[{"index": 0, "fault": "stall", "after_bytes": 6 * MiB, "stall_seconds": 60}],
    )
    watch_first_part = FaultRule(method="PUT", path=r"partNumber=1(&|$)", skip=10**6)  # never fails
    first_part = _proxy(stack).inject(watch_first_part)
    before = object_keys(stack)
    started = time.monotonic()
    reply = generate(stack, prompt="a long scroll", tags=[tag])
    elapsed = time.monotonic() - started
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert (generation["status"], generation["failureKind"]) == ("FAILED", "timeout")
    assert elapsed < _function_timeout(stack)
    assert first_part.seen == 1  # the upload was under way, so its abort is what left no parts
    item = record(stack, generation["id"])
    assert "read" in item["failureMessage"]["S"]
    assert item["originalUrl"]["S"]
    assert object_keys(stack) == before
    assert open_uploads(stack) == []


# -- a multipart abort that fails too ---------------------------------------------------------------


def test_a_failing_multipart_abort_leaves_a_failed_record_and_one_incomplete_upload(
    stack: LocalStack, tag: str
) -> None:
    """S3 fails part 2, then fails the abort: the record is FAILED and the reply sane. The upload
    stays open, its part 1 stored (and billed), until the bucket's abort-incomplete-multipart-uploads
    lifecycle rule removes it a day later; it is listed under the record's own key meanwhile."""
    assert 7 * MiB < MAX_IMAGE_BYTES_IN_TESTS
    set_faults(stack, huge_image_bytes=7 * MiB)
    proxy = _proxy(stack)
    proxy.inject(FaultRule(method="PUT", path=r"partNumber=2"))
    # As when the function's role lacks s3:AbortMultipartUpload (403, not retried).
    abort = proxy.inject(FaultRule(method="DELETE", path=r"uploadId=", status=403, error_code="AccessDenied"))
    before = object_keys(stack)
    try:
        reply = generate(stack, prompt="a very long map", tags=[tag])
        assert abort.failed >= 1
        assert reply.status_code == 202, reply.text
        [generation] = reply.json()["generations"]
        assert (generation["status"], generation["failureKind"]) == ("FAILED", "s3")
        assert "Traceback" not in reply.text
        item = record(stack, generation["id"])
        assert item["status"]["S"] == item["openStatus"]["S"] == "FAILED"
        assert item["originalUrl"]["S"]
        assert object_keys(stack) == before
        assert [upload["Key"] for upload in open_uploads(stack)] == [item["key"]["S"]]
        rules = stack.aws.client("s3").get_bucket_lifecycle_configuration(Bucket=item["bucket"]["S"])["Rules"]
        [backstop] = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
        assert backstop["Status"] == "Enabled"
        assert backstop["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    finally:
        abort_open_uploads(stack)  # other tests expect no open upload


# -- the Ideogram key from Secrets Manager ----------------------------------------------------------


@pytest.fixture(scope="module")
def secret_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack whose functions read the Ideogram key from Secrets Manager, as in AWS."""
    options = StackOptions(
        log_dir=tmp_path_factory.mktemp("secret-stack-logs"),
        ideogram_base_url=None,
        fault_proxy=True,
        ideogram_key_from_secret=True,
        concurrency=1,
    )
    with LocalStack(options) as running:
        yield running


@pytest.fixture
def _clean_secret_stack(secret_stack: LocalStack) -> Iterator[None]:
    yield
    assert secret_stack.proxy is not None
    secret_stack.proxy.clear()
    secret_stack.put_ideogram_key_secret(secret_stack.ideogram_api_key)


def test_the_ideogram_key_is_read_from_secrets_manager(secret_stack: LocalStack) -> None:
    assert "IDEOGRAM_API_KEY" not in secret_stack.function_environment()
    recycle_execution_environments(secret_stack)
    read = _proxy(secret_stack).inject(FaultRule(target=r"secretsmanager\.GetSecretValue$", skip=10**6))
    reply = generate(secret_stack, prompt="a key under a doormat")
    assert reply.status_code == 201, reply.text
    assert read.seen == 1  # watched, not failed: the function asked Secrets Manager for the key
    [generation] = reply.json()["generations"]
    assert_stored_as_recorded(secret_stack, generation)


@pytest.mark.usefixtures("_clean_secret_stack")
@pytest.mark.parametrize("how", ["missing", "unreadable"])
def test_a_missing_or_unreadable_secret_is_503_without_the_name_or_the_key(
    secret_stack: LocalStack, how: str, tag: str
) -> None:
    recycle_execution_environments(secret_stack)  # no key cached from an earlier call
    if how == "missing":
        secret_stack.aws.client("secretsmanager").delete_secret(
            SecretId=secret_stack.ideogram_key_secret_name, ForceDeleteWithoutRecovery=True
        )
    else:
        _proxy(secret_stack).inject(denied(target=r"secretsmanager\.GetSecretValue$"))
    before_calls = ideogram_calls(secret_stack)
    reply = generate(secret_stack, prompt="a key under a doormat", tags=[tag])
    assert reply.status_code == 503, reply.text
    assert records_tagged(secret_stack, tag) == []  # the key is read before any record is written
    assert "not configured correctly" in reply.json()["message"]
    for secret in (secret_stack.ideogram_key_secret_name, secret_stack.ideogram_api_key):
        assert secret not in reply.text
    assert ideogram_calls(secret_stack) == before_calls
    assert secret_stack.options.log_dir is not None
    logs = (Path(secret_stack.options.log_dir) / "functions.log").read_text()
    assert secret_stack.ideogram_api_key not in logs


@pytest.mark.usefixtures("_clean_secret_stack")
def test_a_rotated_key_is_what_a_fresh_execution_environment_uses(secret_stack: LocalStack) -> None:
    old_key = secret_stack.ideogram_api_key
    rotate_ideogram_key(secret_stack, f"rotated-{uuid.uuid4().hex}")
    refused = requests.post(
        f"{secret_stack.ideogram_url}/v1/ideogram-v3/generate",
        files={"prompt": (None, "a fox")},
        headers={"Api-Key": old_key},
        timeout=10,
    )
    assert refused.status_code == 401  # Ideogram no longer takes the old key
    recycle_execution_environments(secret_stack)
    reply = generate(secret_stack, prompt="a new key on the ring")
    assert reply.status_code == 201, reply.text
    assert_stored_as_recorded(secret_stack, reply.json()["generations"][0])


@pytest.mark.usefixtures("_clean_secret_stack")
def test_a_rotated_key_is_read_again_when_ideogram_refuses_the_cached_one(secret_stack: LocalStack) -> None:
    """A warm environment caches the key for five minutes; after a rotation Ideogram refuses the
    cached key (401, not billed), and the function reads the secret again at once and succeeds."""
    recycle_execution_environments(secret_stack)
    assert generate(secret_stack, prompt="a brass key").status_code == 201  # caches the old key
    old_key = secret_stack.ideogram_api_key
    rotate_ideogram_key(secret_stack, "rotated-" + uuid.uuid4().hex)
    try:
        reads = _proxy(secret_stack).inject(FaultRule(target=r"secretsmanager\.GetSecretValue$", skip=10**6))
        reply = generate(secret_stack, prompt="a brass key")
        assert reply.status_code == 201, reply.text
        assert reads.seen == 1  # one fresh read after the refusal, not one per request
        assert_stored_as_recorded(secret_stack, reply.json()["generations"][0])
        again = generate(secret_stack, prompt="a brass key")
        assert again.status_code == 201, again.text
        assert reads.seen == 1  # the new key is cached now
    finally:
        rotate_ideogram_key(secret_stack, old_key)
