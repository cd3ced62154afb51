"""The retention commands as a user runs them: the installed console script in its own process,
the retention function invoked through the local stack's Lambda Invoke API (SigV4 for `lambda`)
and pinning through the API's PATCH route, over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ideogram_assets_cli.exit_codes import ExitCode
from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack
from tests.e2e._helpers import generate, record, set_faults
from tests.e2e.test_cli import _run as _run_cli
from tests.e2e.test_cli import _write_endpoints

pytestmark = pytest.mark.usefixtures("faults_cleared")


@pytest.fixture
def workdir(tmp_path: Path, stack: LocalStack) -> Path:
    """A directory whose .local/endpoints.json names the running stack, as `make up` leaves it."""
    _write_endpoints(tmp_path / ".local" / "endpoints.json", stack.endpoints())
    return tmp_path


def _run(*arguments: str, cwd: Path, environment: dict[str, str] | None = None) -> Any:
    # An empty value is no value: never a function name from the machine running the tests.
    return _run_cli(
        *arguments, cwd=cwd, environment={"IDEOGRAM_ASSETS_RETENTION_FUNCTION": "", **(environment or {})}
    )


def _stored(stack: LocalStack, prompt: str) -> dict[str, Any]:
    reply = generate(stack, prompt=prompt)
    assert reply.status_code == 201, reply.text
    [generation] = reply.json()["generations"]
    assert generation["status"] == "STORED"
    return dict(generation)


def _json(result: Any) -> dict[str, Any]:
    assert "Traceback" not in result.stderr
    body: dict[str, Any] = json.loads(result.stdout)  # the reply and nothing else
    return body


def _set_expiry(stack: LocalStack, generation_id: str, day: str) -> None:
    """Moves a record's expiry day to `day`, as the clock would after its retention."""
    stack.aws.client("dynamodb").update_item(
        TableName=str(stack.endpoints()["resources"]["AssetsTable"]),
        Key={"PK": {"S": f"GEN#{generation_id}"}, "SK": {"S": "META"}},
        UpdateExpression="SET expiresOn = :day",
        ExpressionAttributeValues={":day": {"S": day}},
    )


def test_retention_report_counts_stored_images_by_status_class_and_expiry(
    stack: LocalStack, workdir: Path
) -> None:
    generation = _stored(stack, "a reported harbour")

    result = _run("retention", "report", "--json", cwd=workdir)

    assert result.returncode == ExitCode.OK, result.stderr
    report = _json(result)
    assert (report["task"], report["dryRun"], report["complete"]) == ("report", False, True)
    assert report["byStatus"]["STORED"]["images"] >= 1
    assert report["byStatus"]["STORED"]["bytes"] >= generation["sizeBytes"]
    assert report["byRetentionClass"]["standard"]["images"] >= 1
    assert set(report["expiring"]) == {"next7Days", "next30Days"}

    table = _run("retention", "report", cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    assert "by status" in table.stdout
    assert "STORED" in table.stdout
    assert "next 30 days" in table.stdout


def test_reconcile_dry_run_lists_the_rescue_and_changes_nothing(stack: LocalStack, workdir: Path) -> None:
    # Both downloads of the image fail: the generation answers 202 with a FAILED record.
    set_faults(stack, image_faults=[{"index": 0, "fault": "truncate", "times": 2}])
    reply = generate(stack, prompt="a dry-run lighthouse", seed=601)
    assert reply.status_code == 202, reply.text
    [generation] = reply.json()["generations"]
    assert generation["status"] == "FAILED"

    result = _run("reconcile", "--dry-run", "--json", cwd=workdir)

    assert result.returncode == ExitCode.OK, result.stderr
    summary = _json(result)
    assert (summary["task"], summary["dryRun"], summary["complete"]) == ("reconcile", True, True)
    assert generation["id"] in summary["ids"]["rescued"]
    assert summary["counts"]["rescued"] >= 1
    assert record(stack, generation["id"])["status"]["S"] == "FAILED"  # a dry run changes nothing

    table = _run("reconcile", "--dry-run", cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    assert "dry run: nothing was changed" in table.stdout
    rescued = next(line.split() for line in table.stdout.splitlines() if line.startswith("rescued"))
    assert rescued[1] == str(summary["counts"]["rescued"])
    assert "complete" in table.stdout


def test_retention_run_dry_run_lists_what_expired_and_pinning_takes_it_out(
    stack: LocalStack, workdir: Path
) -> None:
    generation = _stored(stack, "an expiring poster")
    _set_expiry(stack, generation["id"], datetime.now(UTC).date().isoformat())

    result = _run("retention", "run", "--dry-run", "--json", cwd=workdir)

    assert result.returncode == ExitCode.OK, result.stderr
    summary = _json(result)
    assert (summary["task"], summary["dryRun"]) == ("sweep", True)
    assert generation["id"] in summary["ids"]["would_delete"]
    assert summary["bytes"]["would_delete"] >= generation["sizeBytes"]
    assert summary["sweptThrough"] == datetime.now(UTC).date().isoformat()
    assert record(stack, generation["id"])["status"]["S"] == "STORED"  # still there

    table = _run("retention", "run", "--dry-run", cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    would_delete = next(line.split() for line in table.stdout.splitlines() if line.startswith("would_delete"))
    assert would_delete[1] == str(summary["counts"]["would_delete"])

    # Pinned, it has no expiry any more: the sweep no longer reads it.
    assert _run("pin", generation["id"], cwd=workdir).returncode == ExitCode.OK
    again = _json(_run("retention", "run", "--dry-run", "--json", cwd=workdir))
    assert generation["id"] not in again["ids"].get("would_delete", [])


def test_pin_makes_an_image_permanent_and_unpin_gives_its_expiry_back(
    stack: LocalStack, workdir: Path
) -> None:
    generation = _stored(stack, "a pinned logo")
    assert generation["retentionClass"] == "standard"

    pinned = _run("pin", generation["id"], "--json", cwd=workdir)
    assert pinned.returncode == ExitCode.OK, pinned.stderr
    assert (_json(pinned)["retentionClass"], _json(pinned)["expiresOn"]) == ("permanent", None)
    shown = _json(_run("show", generation["id"], "--json", cwd=workdir))
    assert (shown["retentionClass"], shown["expiresOn"], shown["status"]) == ("permanent", None, "STORED")

    table = _run("pin", generation["id"], cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    assert "never (permanent)" in table.stdout

    unpinned = _json(_run("unpin", generation["id"], "--json", cwd=workdir))
    assert unpinned["retentionClass"] == "standard"
    assert generation["expiresOn"] is not None
    assert unpinned["expiresOn"] == generation["expiresOn"]  # counted from its generation day again

    short = _run("pin", generation["id"], "--class", "SHORT", cwd=workdir)  # any case, as --help says
    assert short.returncode == ExitCode.OK, short.stderr
    assert "short" in short.stdout
    assert "the retention sweep deletes it that day" in short.stdout


def test_hold_keeps_an_image_whatever_its_class_until_released(stack: LocalStack, workdir: Path) -> None:
    generation = _stored(stack, "a held contract")

    held = _run("hold", generation["id"], cwd=workdir)
    assert held.returncode == ExitCode.OK, held.stderr
    assert "never while the legal hold lasts" in held.stdout
    shown = _json(_run("show", generation["id"], "--json", cwd=workdir))
    assert (shown["legalHold"], shown["expiresOn"], shown["retentionClass"]) == (True, None, "standard")

    released = _json(_run("release", generation["id"], "--json", cwd=workdir))
    assert released["legalHold"] is False
    assert released["expiresOn"] == generation["expiresOn"]


def test_an_unknown_id_an_invalid_class_and_an_unsafe_image_get_their_exit_codes(
    stack: LocalStack, workdir: Path
) -> None:
    unknown = _run("pin", "a" * 32, cwd=workdir)
    assert unknown.returncode == ExitCode.NOT_FOUND
    assert "not found" in unknown.stderr
    assert unknown.stdout == ""

    invalid = _run("pin", "a" * 32, "--class", "forever", cwd=workdir)
    assert invalid.returncode == ExitCode.BAD_INPUT
    assert "--class" in invalid.stderr
    assert invalid.stdout == ""

    malformed = _run("hold", "not-an-id", cwd=workdir)
    assert malformed.returncode == ExitCode.BAD_INPUT
    assert "generation_id" in malformed.stderr

    [unsafe] = generate(stack, prompt="an unsafe banner").json()["generations"]
    assert unsafe["status"] == "UNSAFE"
    refused = _run("hold", unsafe["id"], cwd=workdir)  # 409: no image to keep; asking again won't help
    assert refused.returncode == ExitCode.BAD_INPUT
    assert "HTTP 409" in refused.stderr


def test_a_function_error_is_one_line_and_the_unavailable_code(stack: LocalStack, workdir: Path) -> None:
    assert stack.proxy is not None
    # The table refuses the report's reads (on the wire, between the function and the AWS emulator).
    stack.proxy.inject(
        FaultRule(method="POST", target=r"\.Query$", status=400, error_code="ResourceNotFoundException")
    )

    result = _run("retention", "report", cwd=workdir)

    assert result.returncode == ExitCode.UNAVAILABLE
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: RetentionFunction failed: ")
    assert "again is safe" in result.stderr
    assert result.stdout == ""

    as_json = _run("retention", "report", "--json", cwd=workdir)
    assert as_json.returncode == ExitCode.UNAVAILABLE
    assert set(_json(as_json)) >= {"errorMessage", "errorType"}  # Lambda's error, as it returned it


def test_a_deployed_stack_is_invoked_by_the_functions_name_with_the_aws_credentials(
    stack: LocalStack, tmp_path: Path
) -> None:
    caller = stack.endpoints()["credentials"]
    environment = {
        "AWS_ACCESS_KEY_ID": caller["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": caller["secret_access_key"],
        "AWS_REGION": stack.options.region,
        # The standard AWS setting that points Lambda clients elsewhere: here, the local stack's.
        "AWS_ENDPOINT_URL_LAMBDA": stack.lambda_url,
    }
    unnamed = _run("retention", "report", "--api", stack.api_url, cwd=tmp_path, environment=environment)
    assert unnamed.returncode == ExitCode.AUTH_CONFIG
    assert "--function" in unnamed.stderr
    assert "RetentionFunctionName" in unnamed.stderr

    named = _run(
        "retention",
        "report",
        "--json",
        "--api",
        stack.api_url,
        cwd=tmp_path,
        environment={**environment, "IDEOGRAM_ASSETS_RETENTION_FUNCTION": "RetentionFunction"},
    )
    assert named.returncode == ExitCode.OK, named.stderr
    assert _json(named)["task"] == "report"

    wrong = _run(
        "reconcile",
        "--dry-run",
        "--api",
        stack.api_url,
        "--function",
        "NoSuchFunction",
        cwd=tmp_path,
        environment=environment,
    )
    assert wrong.returncode == ExitCode.AUTH_CONFIG
    assert "ResourceNotFoundException" in wrong.stderr
    assert "--function" in wrong.stderr
