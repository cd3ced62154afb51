"""Reconciliation and retention on the whole local stack: a generation whose download broke is
rescued by the retention function (invoked through the local Lambda Invoke API, as `aws lambda
invoke` does in AWS), records that cannot be rescued are closed visibly, and images are pinned
or held over the API. Expiry and sweeping with a moved clock are in tests/integration.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack, StackOptions
from tests.e2e._helpers import (
    assert_stored_as_recorded,
    emulator_png,
    generate,
    object_bytes,
    record,
    set_faults,
)

pytestmark = pytest.mark.usefixtures("faults_cleared")


def invoke(stack: LocalStack, payload: dict[str, Any]) -> dict[str, Any]:
    client = boto3.client(
        "lambda",
        endpoint_url=stack.lambda_url,
        region_name=stack.options.region,
        aws_access_key_id=stack.caller.access_key_id,
        aws_secret_access_key=stack.caller.secret_access_key,
    )
    reply = client.invoke(FunctionName="RetentionFunction", Payload=json.dumps(payload).encode())
    body: dict[str, Any] = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    return body


def _table(stack: LocalStack) -> str:
    return str(stack.endpoints()["resources"]["AssetsTable"])


def _set(stack: LocalStack, generation_id: str, **values: str) -> None:
    """Arranges a record's state the clock would reach only after minutes or hours."""
    names = {f"#{name}": name for name in values}
    stack.aws.client("dynamodb").update_item(
        TableName=_table(stack),
        Key={"PK": {"S": f"GEN#{generation_id}"}, "SK": {"S": "META"}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": {"S": value} for name, value in values.items()},
    )


def _ago(**delta: float) -> str:
    moment = datetime.now(UTC) - timedelta(**delta)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_broken_download_is_rescued_by_reconcile_with_its_checksum_verified(stack: LocalStack) -> None:
    set_faults(stack, image_faults=[{"index": 0, "fault": "truncate", "times": 2}])
    reply = generate(stack, prompt="a rescued lighthouse", seed=501)
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert (generation["status"], generation["failureKind"]) == ("FAILED", "truncated")

    planned = invoke(stack, {"task": "reconcile", "dryRun": True})
    assert generation["id"] in planned["ids"]["rescued"]
    assert record(stack, generation["id"])["status"]["S"] == "FAILED"  # a dry run changes nothing

    summary = invoke(stack, {"task": "reconcile", "dryRun": False})
    assert generation["id"] in summary["ids"]["rescued"]
    shown = requests.get(
        f"{stack.api_url}/generations/{generation['id']}",
        auth=SigV4Auth(stack.caller, stack.options.region),
        timeout=30,
    ).json()
    stored = assert_stored_as_recorded(stack, shown)
    assert stored == emulator_png("a rescued lighthouse", 501)
    assert shown["expiresOn"] is not None  # standard retention, from its creation day
    # Rescued once: the next run has nothing left to do for it.
    assert generation["id"] not in json.dumps(invoke(stack, {"task": "reconcile", "dryRun": False})["ids"])


def test_a_pending_record_whose_object_exists_is_verified_and_stored(stack: LocalStack) -> None:
    assert stack.proxy is not None
    # The record writes after the upload fail: the image sits at the key of a PENDING record.
    # (the STORED write is the transaction that puts the record's index items, TOKEN#).
    stack.proxy.inject(FaultRule(method="POST", target=r"\.TransactWriteItems$", body="TOKEN#", status=400))
    reply = generate(stack, prompt="a verified harbour", seed=502)
    stack.proxy.clear()
    [generation] = reply.json()["generations"]
    assert generation["status"] == "PENDING"
    _set(stack, generation["id"], createdAt=_ago(minutes=10))  # settled: no generation still running

    summary = invoke(stack, {"task": "reconcile", "dryRun": False})

    assert generation["id"] in summary["ids"]["verified"]
    item = record(stack, generation["id"])
    assert item["status"]["S"] == "STORED"
    stored = object_bytes(stack, item["key"]["S"])
    assert hashlib.sha256(stored).hexdigest() == item["sha256"]["S"]
    assert len(stored) == int(item["sizeBytes"]["N"])


def test_an_image_whose_url_expired_is_lost_with_its_cost_kept(stack: LocalStack) -> None:
    set_faults(stack, image_faults=[{"index": 0, "fault": "wrong_content_type"}])
    [generation] = generate(stack, prompt="a vanished comet").json()["generations"]
    _set(stack, generation["id"], originalUrlExpiresAt=_ago(minutes=1))

    summary = invoke(stack, {"task": "reconcile", "dryRun": False})

    assert generation["id"] in summary["ids"]["lost"]
    item = record(stack, generation["id"])
    assert item["status"]["S"] == "LOST"
    assert "openStatus" not in item
    assert "originalUrl" not in item
    assert float(item["costUsd"]["N"]) > 0
    report = invoke(stack, {"task": "report", "dryRun": False})
    assert report["byStatus"]["LOST"]["images"] >= 1


def test_pinning_and_a_legal_hold_change_the_record_and_the_object_tag(stack: LocalStack) -> None:
    auth = SigV4Auth(stack.caller, stack.options.region)
    [generation] = generate(stack, prompt="a pinned poster").json()["generations"]
    url = f"{stack.api_url}/generations/{generation['id']}"
    bucket = stack.endpoints()["resources"]["AssetsBucket"]
    key = record(stack, generation["id"])["key"]["S"]

    def tag() -> str:
        tags = stack.aws.client("s3").get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        return str({item["Key"]: item["Value"] for item in tags}["retention-class"])

    assert (generation["retentionClass"], tag()) == ("standard", "standard")
    pinned = requests.patch(url, json={"retention_class": "permanent"}, auth=auth, timeout=30)
    assert pinned.status_code == 200, pinned.text
    assert (pinned.json()["retentionClass"], pinned.json()["expiresOn"], tag()) == (
        "permanent",
        None,
        "permanent",
    )
    assert "expiresOn" not in record(stack, generation["id"])  # out of the sweep's index

    held = requests.patch(url, json={"retention_class": "short", "legal_hold": True}, auth=auth, timeout=30)
    assert (held.json()["legalHold"], held.json()["expiresOn"], tag()) == (True, None, "legal-hold")

    released = requests.patch(url, json={"legal_hold": False}, auth=auth, timeout=30).json()
    assert (released["retentionClass"], released["legalHold"], tag()) == ("short", False, "short")
    assert (
        released["expiresOn"]
        == (datetime.fromisoformat(released["createdAt"]) + timedelta(days=30)).date().isoformat()
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"retention_class": "forever"}, 422),
        ({"legal_hold": "yes"}, 422),
        ({"retention_class": "permanent", "tags": ["x"]}, 422),
    ],
)
def test_a_bad_change_is_refused_with_the_field_named(
    stack: LocalStack, body: dict[str, Any], status: int
) -> None:
    auth = SigV4Auth(stack.caller, stack.options.region)
    reply = requests.patch(f"{stack.api_url}/generations/{'0' * 32}", json=body, auth=auth, timeout=30)
    assert reply.status_code == status, reply.text
    assert reply.json()["message"]


def test_changing_an_unknown_generation_is_404_and_an_unsafe_one_409(stack: LocalStack) -> None:
    auth = SigV4Auth(stack.caller, stack.options.region)
    missing = requests.patch(
        f"{stack.api_url}/generations/{'a' * 32}", json={"legal_hold": True}, auth=auth, timeout=30
    )
    assert missing.status_code == 404, missing.text
    [unsafe] = generate(stack, prompt="an unsafe mural").json()["generations"]
    assert unsafe["status"] == "UNSAFE"
    refused = requests.patch(
        f"{stack.api_url}/generations/{unsafe['id']}", json={"legal_hold": True}, auth=auth, timeout=30
    )
    assert refused.status_code == 409, refused.text
    assert "no image to keep" in refused.json()["message"]


def test_an_invalid_task_is_a_function_error_that_says_what_is_expected(stack: LocalStack) -> None:
    client = boto3.client(
        "lambda",
        endpoint_url=stack.lambda_url,
        region_name=stack.options.region,
        aws_access_key_id=stack.caller.access_key_id,
        aws_secret_access_key=stack.caller.secret_access_key,
    )
    reply = client.invoke(FunctionName="RetentionFunction", Payload=b'{"task": "purge"}')
    assert reply["FunctionError"] == "Unhandled"
    error = json.loads(reply["Payload"].read())
    assert error["errorType"] == "InvalidRetentionRequest"
    assert "reconcile" in error["errorMessage"]


def test_the_templates_schedules_invoke_the_retention_function(tmp_path: Path) -> None:
    options = StackOptions(
        log_dir=tmp_path, ideogram_base_url=None, schedules=True, schedule_interval_seconds=1.0
    )
    with LocalStack(options) as scheduled:
        table = scheduled.endpoints()["resources"]["AssetsTable"]
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        checkpoints: list[dict[str, Any]] = []
        while datetime.now(UTC) < deadline and len(checkpoints) < 2:
            checkpoints = scheduled.aws.client("dynamodb").query(
                TableName=table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": "CHECKPOINT"}},
            )["Items"]
    # The sweep and the reconciler's audit each leave their checkpoint when they run.
    assert {item["SK"]["S"] for item in checkpoints} == {"sweep", "reconcile-audit"}


def test_with_a_zero_day_short_retention_the_sweep_removes_exactly_what_expired(tmp_path: Path) -> None:
    """`make up PARAMS="ShortRetentionDays=0"`: a short image expires the day it is generated."""
    options = StackOptions(
        log_dir=tmp_path, ideogram_base_url=None, parameter_overrides={"ShortRetentionDays": "0"}
    )
    with LocalStack(options) as short:
        auth = SigV4Auth(short.caller, short.options.region)
        made = generate(short, prompt="three posters", num_images=3).json()["generations"]
        expiring, pinned, kept = (generation["id"] for generation in made)
        for generation_id, change in (
            (expiring, {"retention_class": "short"}),
            (pinned, {"legal_hold": True}),
        ):
            requests.patch(f"{short.api_url}/generations/{generation_id}", json=change, auth=auth, timeout=30)
        requests.patch(
            f"{short.api_url}/generations/{pinned}", json={"retention_class": "short"}, auth=auth, timeout=30
        )
        keys = {
            generation_id: record(short, generation_id)["key"]["S"]
            for generation_id in (expiring, pinned, kept)
        }

        planned = invoke(short, {"task": "sweep", "dryRun": True})
        assert planned["ids"] == {"would_delete": [expiring]}
        assert record(short, expiring)["status"]["S"] == "STORED"  # the dry run changed nothing

        swept = invoke(short, {"task": "sweep", "dryRun": False})

        assert swept["ids"] == {"deleted": [expiring]}
        assert swept["bytes"]["deleted"] > 0
        assert record(short, expiring) == {}
        bucket = short.endpoints()["resources"]["AssetsBucket"]
        listed = {
            item["Key"]
            for item in short.aws.client("s3")
            .list_objects_v2(Bucket=bucket, Prefix="images/")
            .get("Contents", [])
        }
        assert keys[expiring] not in listed
        assert {keys[pinned], keys[kept]} <= listed  # held (though short) and standard: kept
        assert invoke(short, {"task": "sweep", "dryRun": False})["counts"] == {}  # nothing twice
        report = invoke(short, {"task": "report", "dryRun": False})
        assert report["byStatus"]["STORED"]["images"] == 2
