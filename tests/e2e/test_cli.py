"""The `ideogram-assets` command, run as a user runs it: the installed console script in its own
process, against the local stack over real HTTP (signed with SigV4, as a deployed API is)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from ideogram_assets_cli.exit_codes import ExitCode
from local_stack.stack import LocalStack

pytestmark = pytest.mark.usefixtures("faults_cleared")

CLI = Path(sys.executable).with_name("ideogram-assets")
# Variables of the machine that would change what the command reads or how it prints.
_CLEARED = (
    "IDEOGRAM_ASSETS_ENDPOINTS",
    "IDEOGRAM_ASSETS_API",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def _run(
    *arguments: str, cwd: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    env.update(
        {
            "COLUMNS": "160",
            # Never a profile or file of the machine running the tests.
            "AWS_CONFIG_FILE": str(cwd / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(cwd / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(environment or {})
    return subprocess.run(
        [str(CLI), *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _write_endpoints(path: Path, endpoints: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(endpoints))
    path.chmod(0o600)
    return path


@pytest.fixture
def workdir(tmp_path: Path, stack: LocalStack) -> Path:
    """A directory whose .local/endpoints.json names the running stack, as `make up` leaves it."""
    _write_endpoints(tmp_path / ".local" / "endpoints.json", stack.endpoints())
    return tmp_path


def _assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def test_generate_json_returns_stored_records_that_show_returns(workdir: Path) -> None:
    generated = _run(
        "generate",
        "a red fox logo",
        "--num-images",
        "2",
        "--seed",
        "42",
        "--tag",
        "Brand",
        "--json",
        cwd=workdir,
    )
    assert generated.returncode == ExitCode.OK, generated.stderr
    body = json.loads(generated.stdout)  # the API's body and nothing else
    assert body["complete"] is True
    assert [g["status"] for g in body["generations"]] == ["STORED", "STORED"]
    assert sorted(g["seed"] for g in body["generations"]) == [42, 43]
    assert body["generations"][0]["tags"] == ["brand"]
    first = body["generations"][0]

    shown = _run("show", first["id"], "--json", cwd=workdir)
    assert shown.returncode == ExitCode.OK, shown.stderr
    record = json.loads(shown.stdout)
    assert (record["id"], record["sha256"], record["status"]) == (first["id"], first["sha256"], "STORED")
    assert requests.get(record["imageUrl"], timeout=30).status_code == 200


def test_generate_and_show_print_tables_for_people(workdir: Path) -> None:
    generated = _run(
        "generate", "a lighthouse at dusk", "--speed", "turbo", "--aspect-ratio", "16x9", cwd=workdir
    )
    assert generated.returncode == ExitCode.OK, generated.stderr
    lines = generated.stdout.splitlines()
    assert lines[0].split() == ["id", "status", "model", "seed", "size", "sha256", "link"]
    row = next(line for line in lines if "STORED" in line).split()
    generation_id = row[0]
    assert len(generation_id) == 32
    assert "request" in generated.stdout
    assert "complete" in generated.stdout

    shown = _run("show", generation_id, cwd=workdir)
    assert shown.returncode == ExitCode.OK, shown.stderr
    assert generation_id in shown.stdout
    assert "a lighthouse at dusk" in shown.stdout
    assert "TURBO" in shown.stdout


def test_the_endpoints_file_is_found_from_a_subdirectory_or_named_by_a_variable(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    nested = workdir / "src" / "assets"
    nested.mkdir(parents=True)
    missing = "0" * 32
    assert _run("show", missing, cwd=nested).returncode == ExitCode.NOT_FOUND
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    environment = {"IDEOGRAM_ASSETS_ENDPOINTS": str(workdir / ".local" / "endpoints.json")}
    assert _run("show", missing, cwd=elsewhere, environment=environment).returncode == ExitCode.NOT_FOUND


def test_an_unknown_id_exits_with_the_not_found_code(workdir: Path) -> None:
    result = _run("show", "0" * 32, cwd=workdir)
    assert result.returncode == ExitCode.NOT_FOUND
    assert "not found" in result.stderr
    assert result.stdout == ""
    malformed = _run("show", "not-an-id", cwd=workdir)
    assert malformed.returncode == ExitCode.BAD_INPUT
    assert "generation_id" in malformed.stderr


def test_a_bad_option_combination_exits_with_the_bad_input_code_and_the_apis_reason(workdir: Path) -> None:
    result = _run("generate", "a fox", "--aspect-ratio", "16x9", "--resolution", "1024x1024", cwd=workdir)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "the request is not valid (HTTP 422)" in result.stderr
    assert "aspect_ratio and resolution cannot be used together" in result.stderr
    assert result.stdout == ""
    _assert_no_traceback(result)

    as_json = _run(
        "generate", "a fox", "--aspect-ratio", "16x9", "--resolution", "1024x1024", "--json", cwd=workdir
    )
    assert as_json.returncode == ExitCode.BAD_INPUT
    assert json.loads(as_json.stdout)["errors"][0]["field"] == "body"


def test_a_usage_error_exits_with_the_bad_input_code(workdir: Path) -> None:
    result = _run("generate", "a fox", "--num-images", "9", cwd=workdir)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "--num-images" in result.stderr
    assert result.stdout == ""


def test_a_wrong_credential_exits_with_the_auth_code(stack: LocalStack, tmp_path: Path) -> None:
    endpoints = stack.endpoints()
    endpoints["credentials"] = {**endpoints["credentials"], "secret_access_key": "not-the-secret"}
    path = _write_endpoints(tmp_path / "wrong.json", endpoints)
    result = _run("generate", "a fox", "--endpoints", str(path), cwd=tmp_path)
    assert result.returncode == ExitCode.AUTH_CONFIG
    assert "signature" in result.stderr
    assert "HTTP 403" in result.stderr
    _assert_no_traceback(result)


def test_no_local_stack_exits_with_the_auth_code_and_says_how_to_start_one(tmp_path: Path) -> None:
    result = _run("show", "0" * 32, cwd=tmp_path)
    assert result.returncode == ExitCode.AUTH_CONFIG
    assert "no local stack found" in result.stderr
    assert "make up" in result.stderr
    _assert_no_traceback(result)


def test_a_partial_result_exits_with_the_partial_code(stack: LocalStack, workdir: Path) -> None:
    # On the wire, as a person would: the emulator now serves its images with the wrong content type.
    faults = requests.put(
        f"{stack.ideogram_url}/_emulator/faults", json={"wrong_content_type": True}, timeout=10
    )
    faults.raise_for_status()
    result = _run("generate", "a city skyline", "--json", cwd=workdir)
    assert result.returncode == ExitCode.PARTIAL, result.stderr
    body = json.loads(result.stdout)
    assert body["complete"] is False
    [generation] = body["generations"]
    assert (generation["status"], generation["failureKind"]) == ("FAILED", "bad_content_type")
    assert "not stored yet" in result.stderr

    table = _run("generate", "a city skyline at night", cwd=workdir)
    assert table.returncode == ExitCode.PARTIAL
    assert "bad_content_type" in table.stdout


def test_an_unavailable_ideogram_exits_with_the_unavailable_code_and_a_safe_retry(
    stack: LocalStack, workdir: Path
) -> None:
    # Out of credits: Ideogram answers 402, the API 503, and the key is not used up.
    faults = requests.put(
        f"{stack.ideogram_url}/_emulator/faults", json={"fail_next": [{"status": 402}]}, timeout=10
    )
    faults.raise_for_status()
    failed = _run("generate", "a green kite", cwd=workdir)
    assert failed.returncode == ExitCode.UNAVAILABLE
    assert "HTTP 503" in failed.stderr
    key = failed.stderr.split("--idempotency-key", 1)[1].split(":", 1)[0].strip()
    retried = _run("generate", "a green kite", "--idempotency-key", key, "--json", cwd=workdir)
    assert retried.returncode == ExitCode.OK, retried.stderr
    again = _run("generate", "a green kite", "--idempotency-key", key, "--json", cwd=workdir)
    assert json.loads(again.stdout)["requestId"] == json.loads(retried.stdout)["requestId"]


def test_api_signs_with_the_aws_credentials_in_the_environment(stack: LocalStack, tmp_path: Path) -> None:
    caller = stack.endpoints()["credentials"]
    environment = {
        "AWS_ACCESS_KEY_ID": caller["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": caller["secret_access_key"],
        "AWS_REGION": stack.options.region,
    }
    # No endpoints file anywhere: --api alone says where, the environment who.
    generated = _run(
        "generate", "a paper boat", "--api", stack.api_url, "--json", cwd=tmp_path, environment=environment
    )
    assert generated.returncode == ExitCode.OK, generated.stderr
    [generation] = json.loads(generated.stdout)["generations"]
    assert generation["status"] == "STORED"
    shown = _run(
        "show", generation["id"], "--api", stack.api_url, "--json", cwd=tmp_path, environment=environment
    )
    assert json.loads(shown.stdout)["sha256"] == generation["sha256"]

    wrong_region = _run(
        "show",
        generation["id"],
        "--api",
        stack.api_url,
        "--region",
        "eu-west-1",
        cwd=tmp_path,
        environment=environment,
    )
    assert wrong_region.returncode == ExitCode.AUTH_CONFIG
    no_credentials = _run(
        "show",
        generation["id"],
        "--api",
        stack.api_url,
        cwd=tmp_path,
        environment={"AWS_REGION": "us-east-1"},
    )
    assert no_credentials.returncode == ExitCode.AUTH_CONFIG
    assert "no AWS credentials" in no_credentials.stderr


def test_an_api_that_cannot_be_reached_exits_with_the_unavailable_code(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE000000001",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_REGION": "us-east-1",
    }
    result = _run(
        "show", "0" * 32, "--api", f"http://127.0.0.1:{port}", cwd=tmp_path, environment=environment
    )
    assert result.returncode == ExitCode.UNAVAILABLE
    assert "cannot reach" in result.stderr
    _assert_no_traceback(result)
