"""POST /generations end to end: gateway → generate function → Ideogram emulator → S3 and DynamoDB.

Every test goes over real HTTP: the signed request through the local gateway, the function in
its own process, Ideogram's emulator, and moto (through the fault proxy when a test breaks it).
Each one checks both what the caller is told and what is really stored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack, StackOptions
from tests.conftest import MAX_IMAGE_BYTES_IN_TESTS

pytestmark = pytest.mark.usefixtures("faults_cleared")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _generate(stack: LocalStack, **body: Any) -> requests.Response:
    auth = SigV4Auth(stack.caller, stack.options.region)
    return requests.post(f"{stack.api_url}/generations", json=body, auth=auth, timeout=90)


def _record(stack: LocalStack, generation_id: str) -> dict[str, Any]:
    table = stack.endpoints()["resources"]["AssetsTable"]
    item = stack.aws.client("dynamodb").get_item(
        TableName=table, Key={"PK": {"S": f"GEN#{generation_id}"}, "SK": {"S": "META"}}
    )
    return item.get("Item", {})  # type: ignore[no-any-return]


def _objects(stack: LocalStack) -> dict[str, Any]:
    bucket = stack.endpoints()["resources"]["AssetsBucket"]
    listing = stack.aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="images/")
    return {item["Key"]: item for item in listing.get("Contents", [])}


def _open_uploads(stack: LocalStack) -> list[Any]:
    bucket = stack.endpoints()["resources"]["AssetsBucket"]
    return stack.aws.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])  # type: ignore[no-any-return]


def _object_bytes(stack: LocalStack, stored_uri: str) -> tuple[bytes, dict[str, Any]]:
    bucket, key = stored_uri.removeprefix("s3://").split("/", 1)
    s3 = stack.aws.client("s3")
    head = s3.head_object(Bucket=bucket, Key=key)
    tags = {tag["Key"]: tag["Value"] for tag in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read(), {"metadata": head["Metadata"], "tags": tags}


def test_every_image_of_a_request_is_stored_with_its_record(stack: LocalStack) -> None:
    reply = _generate(stack, prompt="a lighthouse at dusk", num_images=4, seed=7, tags=["Campaign", "dusk"])
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["complete"] is True
    generations = body["generations"]
    assert [g["indexInRequest"] for g in generations] == [0, 1, 2, 3]
    assert {g["requestId"] for g in generations} == {body["requestId"]}
    for generation in generations:
        assert generation["status"] == "STORED"
        assert generation["tags"] == ["campaign", "dusk"]
        assert generation["costUsd"] == pytest.approx(0.06)
        stored, details = _object_bytes(stack, generation["storedUri"])
        assert stored.startswith(PNG_SIGNATURE)
        assert hashlib.sha256(stored).hexdigest() == generation["sha256"]
        assert len(stored) == generation["sizeBytes"]
        assert details["metadata"]["generation-id"] == generation["id"]
        assert details["metadata"]["seed"] == str(generation["seed"])
        assert details["tags"] == {"retention-class": "standard"}
        fetched = requests.get(generation["imageUrl"], timeout=30)
        assert hashlib.sha256(fetched.content).hexdigest() == generation["sha256"]
        record = _record(stack, generation["id"])
        assert record["status"]["S"] == "STORED"
        assert record["sha256"]["S"] == generation["sha256"]
        assert "openStatus" not in record  # closed: the reconciler's index no longer lists it
    assert sorted(g["seed"] for g in generations) == [7, 8, 9, 10]


def test_get_generation_returns_the_record_with_a_fresh_link(stack: LocalStack) -> None:
    created = _generate(stack, prompt="a red fox in snow").json()["generations"][0]
    auth = SigV4Auth(stack.caller, stack.options.region)
    reply = requests.get(f"{stack.api_url}/generations/{created['id']}", auth=auth, timeout=30)
    assert reply.status_code == 200
    fetched = reply.json()
    assert fetched["sha256"] == created["sha256"]
    assert (
        hashlib.sha256(requests.get(fetched["imageUrl"], timeout=30).content).hexdigest() == created["sha256"]
    )
    missing = requests.get(f"{stack.api_url}/generations/{'0' * 32}", auth=auth, timeout=30)
    assert missing.status_code == 404
    malformed = requests.get(f"{stack.api_url}/generations/not-an-id", auth=auth, timeout=30)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"].endswith("generation_id")


def test_an_unsafe_image_is_recorded_billed_and_not_stored(stack: LocalStack) -> None:
    before = set(_objects(stack))
    reply = _generate(stack, prompt="an unsafe scene", rendering_speed="TURBO")
    assert reply.status_code == 201, reply.text
    [generation] = reply.json()["generations"]
    assert generation["status"] == "UNSAFE"
    assert generation["isSafe"] is False
    assert generation["imageUrl"] is None
    assert generation["storedUri"] is None
    assert generation["costUsd"] == pytest.approx(0.03)
    assert _record(stack, generation["id"])["status"]["S"] == "UNSAFE"
    assert set(_objects(stack)) == before


def test_ideogram_429_then_5xx_are_retried(stack: LocalStack) -> None:
    assert stack.emulator is not None
    stack.emulator.settings.fail_next = [{"status": 429}, {"status": 503}]
    reply = _generate(stack, prompt="a mountain lake")
    assert reply.status_code == 201, reply.text
    assert reply.json()["generations"][0]["status"] == "STORED"
    assert stack.emulator.settings.fail_next == []


def test_a_safety_rejection_is_the_callers_error_and_leaves_nothing(stack: LocalStack) -> None:
    reply = _generate(stack, prompt="a forbidden scene")
    assert reply.status_code == 422
    assert "safety" in reply.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "num_images": 9}, "num_images"),
        ({"prompt": "x", "colour": "red"}, "colour"),
        ({"prompt": "x", "tags": ["no spaces allowed"]}, "tags"),
        ({"prompt": "x", "aspect_ratio": "16x9", "resolution": "1024x1024"}, "body"),
        ({"prompt": "x" * 4001}, "prompt"),
        ({"prompt": "x", "model": "V_2", "rendering_speed": "QUALITY"}, "body"),
    ],
)
def test_bad_input_gets_a_field_level_error(stack: LocalStack, body: dict[str, Any], field: str) -> None:
    reply = _generate(stack, **body)
    assert reply.status_code == 422, reply.text
    errors = reply.json()["errors"]
    assert any(error["field"].startswith(field) for error in errors), errors
    assert "Traceback" not in reply.text


def test_an_expired_image_url_leaves_a_failed_record_and_no_object(stack: LocalStack) -> None:
    assert stack.emulator is not None
    stack.emulator.settings.url_ttl_seconds = 0
    before = set(_objects(stack))
    reply = _generate(stack, prompt="a harbour at night")
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert generation["status"] == "FAILED"
    assert generation["failureKind"] == "expired_or_forbidden"
    record = _record(stack, generation["id"])
    assert record["openStatus"]["S"] == "FAILED"
    assert record["originalUrl"]["S"].startswith(stack.ideogram_url)
    assert "originalUrlExpiresAt" in record
    assert set(_objects(stack)) == before


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"truncate_download": True}, "truncated"),
        ({"wrong_content_type": True}, "bad_content_type"),
        ({"huge_image_bytes": MAX_IMAGE_BYTES_IN_TESTS + 1024 * 1024}, "too_large"),
    ],
)
def test_a_bad_download_is_failed_not_stored(stack: LocalStack, fault: dict[str, Any], kind: str) -> None:
    assert stack.emulator is not None
    for name, value in fault.items():
        setattr(stack.emulator.settings, name, value)
    before = set(_objects(stack))
    reply = _generate(stack, prompt="a city skyline")
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert (generation["status"], generation["failureKind"]) == ("FAILED", kind)
    assert _record(stack, generation["id"])["originalUrl"]["S"]  # kept for the reconciler
    assert set(_objects(stack)) == before
    assert _open_uploads(stack) == []


def test_a_large_image_streams_through_multipart(stack: LocalStack) -> None:
    assert stack.emulator is not None
    stack.emulator.settings.huge_image_bytes = 7 * 1024 * 1024
    reply = _generate(stack, prompt="a very detailed map")
    assert reply.status_code == 201, reply.text
    [generation] = reply.json()["generations"]
    stored, _ = _object_bytes(stack, generation["storedUri"])
    assert len(stored) == 7 * 1024 * 1024 == generation["sizeBytes"]
    assert hashlib.sha256(stored).hexdigest() == generation["sha256"]


def test_s3_failing_mid_upload_leaves_a_failed_record_and_no_parts(stack: LocalStack) -> None:
    assert stack.emulator is not None
    assert stack.proxy is not None
    stack.emulator.settings.huge_image_bytes = 7 * 1024 * 1024  # two parts
    stack.proxy.inject(FaultRule(method="PUT", path=r"partNumber=2", status=500))
    before = set(_objects(stack))
    reply = _generate(stack, prompt="a detailed street plan")
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert (generation["status"], generation["failureKind"]) == ("FAILED", "s3")
    assert set(_objects(stack)) == before
    assert _open_uploads(stack) == []


def test_dynamodb_failing_after_the_upload_leaves_a_pending_record_for_reconciliation(
    stack: LocalStack,
) -> None:
    assert stack.proxy is not None
    # The final record write is the transaction that also puts the record's index items (TOKEN#).
    stack.proxy.inject(FaultRule(method="POST", target=r"\.TransactWriteItems$", body="TOKEN#", status=500))
    reply = _generate(stack, prompt="a quiet forest path")
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert generation["status"] == "PENDING"
    assert generation["imageUrl"] is None
    record = _record(stack, generation["id"])
    assert record["status"]["S"] == "PENDING"
    assert record["openStatus"]["S"] == "PENDING"
    # The object is in S3 under the key the record names: the reconciler can complete it.
    assert record["key"]["S"] in _objects(stack)
    assert record["originalUrl"]["S"]


def test_ideogram_timing_out_gets_503_and_leaves_a_failed_record_as_the_trace_of_a_possible_cost(
    stack: LocalStack,
) -> None:
    assert stack.emulator is not None
    stack.emulator.settings.latency_seconds = 40
    reply = _generate(stack, prompt="a slow sunrise", tags=["timeout-case"])
    assert reply.status_code == 503, reply.text
    assert int(reply.headers["Retry-After"]) > 0
    table = stack.endpoints()["resources"]["AssetsTable"]
    items = stack.aws.client("dynamodb").scan(
        TableName=table,
        FilterExpression="contains(tags, :tag)",
        ExpressionAttributeValues={":tag": {"S": "timeout-case"}},
    )["Items"]
    [record] = items
    assert record["status"]["S"] == "FAILED"
    assert record["failureKind"]["S"] == "ideogram_unavailable"
    assert "originalUrl" not in record  # Ideogram never answered: nothing to download


def test_a_refused_request_leaves_no_record(stack: LocalStack) -> None:
    table = stack.endpoints()["resources"]["AssetsTable"]
    reply = _generate(stack, prompt="a forbidden lighthouse", tags=["refused-case"])
    assert reply.status_code == 422
    items = stack.aws.client("dynamodb").scan(
        TableName=table,
        FilterExpression="contains(tags, :tag)",
        ExpressionAttributeValues={":tag": {"S": "refused-case"}},
    )["Items"]
    assert items == []


def _generate_with_key(stack: LocalStack, key: str, **body: Any) -> requests.Response:
    auth = SigV4Auth(stack.caller, stack.options.region)
    headers = {"Idempotency-Key": key}
    return requests.post(f"{stack.api_url}/generations", json=body, headers=headers, auth=auth, timeout=90)


def test_a_retried_request_with_the_same_idempotency_key_is_not_generated_twice(stack: LocalStack) -> None:
    table = stack.endpoints()["resources"]["AssetsTable"]
    first = _generate_with_key(stack, "retry-key-0001", prompt="a paper boat", num_images=2)
    assert first.status_code == 201, first.text
    records_after_first = stack.aws.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]
    again = _generate_with_key(stack, "retry-key-0001", prompt="a paper boat", num_images=2)
    assert again.status_code == 201, again.text
    assert again.json()["requestId"] == first.json()["requestId"]
    assert [g["sha256"] for g in again.json()["generations"]] == [
        g["sha256"] for g in first.json()["generations"]
    ]
    assert stack.aws.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"] == records_after_first


def test_an_idempotency_key_reused_for_another_request_is_refused(stack: LocalStack) -> None:
    assert _generate_with_key(stack, "reused-key-0001", prompt="a red kite").status_code == 201
    reused = _generate_with_key(stack, "reused-key-0001", prompt="a blue kite")
    assert reused.status_code == 422
    assert "different request" in reused.json()["message"]


def test_a_malformed_idempotency_key_is_refused(stack: LocalStack) -> None:
    reply = _generate_with_key(stack, "short", prompt="a kite")
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "header.idempotency-key"


def test_a_failed_attempt_does_not_burn_the_idempotency_key(stack: LocalStack) -> None:
    assert stack.emulator is not None
    stack.emulator.settings.fail_next = [{"status": 402}]
    failed = _generate_with_key(stack, "credits-key-0001", prompt="a green kite")
    assert failed.status_code == 503
    assert "credits" in failed.json()["message"]
    retried = _generate_with_key(stack, "credits-key-0001", prompt="a green kite")
    assert retried.status_code == 201, retried.text


@pytest.mark.parametrize(
    ("environment", "secret"),
    [
        ({"PRICING_OVERRIDES": '{"V_3": 5}'}, None),
        ({"IDEOGRAM_API_KEY": "line-one\nline-two-of-the-key"}, "line-two-of-the-key"),
    ],
    ids=["bad-pricing-overrides", "malformed-api-key"],
)
def test_a_misconfigured_deployment_answers_503_without_details(
    tmp_path: Path, environment: dict[str, str], secret: str | None
) -> None:
    options = StackOptions(log_dir=tmp_path, ideogram_base_url=None, extra_environment=environment)
    with LocalStack(options) as misconfigured:
        reply = _generate(misconfigured, prompt="a lighthouse")
        logs = (tmp_path / "functions.log").read_text()
    assert reply.status_code == 503, reply.text
    assert "not configured correctly" in reply.json()["message"]
    if secret is not None:
        assert secret not in reply.text
        assert secret not in logs
