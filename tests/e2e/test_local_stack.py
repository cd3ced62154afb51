"""The local stack end to end: signed HTTP through the gateway to the real query function."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import requests

from local_stack.client import SigV4Auth
from local_stack.ideogram import EmulatorSettings, start_emulator
from local_stack.sigv4 import CallerCredentials
from local_stack.stack import LocalStack, StackOptions
from local_stack.template import PROJECT_ROOT


def test_health_reports_the_table_and_bucket_created_from_the_template(stack: LocalStack) -> None:
    reply = requests.get(
        f"{stack.api_url}/health", auth=SigV4Auth(stack.caller, stack.options.region), timeout=60
    )
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["status"] == "ok"
    assert {dependency["name"]: dependency["ok"] for dependency in report["dependencies"]} == {
        "table": True,
        "bucket": True,
    }


def test_health_is_not_anonymous(stack: LocalStack) -> None:
    assert requests.get(f"{stack.api_url}/health", timeout=30).status_code == 403


def test_health_degrades_with_a_clear_status_when_a_dependency_is_gone(tmp_path: Path) -> None:
    with LocalStack(StackOptions(log_dir=tmp_path, ideogram_base_url=None)) as own_stack:
        s3 = own_stack.aws.client("s3")
        bucket = own_stack.endpoints()["resources"]["AssetsBucket"]
        s3.delete_bucket(Bucket=bucket)
        auth = SigV4Auth(own_stack.caller, own_stack.options.region)
        reply = requests.get(f"{own_stack.api_url}/health", auth=auth, timeout=60)
    assert reply.status_code == 503
    report = reply.json()
    assert report["status"] == "degraded"
    assert {d["name"]: d["ok"] for d in report["dependencies"]} == {"table": True, "bucket": False}
    assert bucket not in reply.text  # names the failing dependency, not resource details


def test_endpoints_file_is_private(stack: LocalStack, tmp_path: Path) -> None:
    path = stack.write_endpoints(tmp_path / "endpoints.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    endpoints = json.loads(path.read_text())
    assert {"api", "aws", "ideogram", "credentials", "region"} <= set(endpoints)
    assert endpoints["credentials"]["access_key_id"] == stack.caller.access_key_id


def test_make_up_serves_until_interrupted_and_then_stops_cleanly(tmp_path: Path) -> None:
    """`python -m local_stack up` writes endpoints.json when ready and exits 0 on Ctrl-C."""
    endpoints_file = PROJECT_ROOT / ".local" / "endpoints.json"
    endpoints_file.unlink(missing_ok=True)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("IDEOGRAM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack", "up"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not endpoints_file.exists():
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the stack did not become ready"
            time.sleep(0.2)
        endpoints = json.loads(endpoints_file.read_text())
        caller = CallerCredentials(
            endpoints["credentials"]["access_key_id"],
            endpoints["credentials"]["secret_access_key"],
            "123456789012",
            "arn:aws:iam::123456789012:user/local-developer",
        )
        reply = requests.get(
            f"{endpoints['api']}/health", auth=SigV4Auth(caller, endpoints["region"]), timeout=60
        )
        assert reply.json()["status"] == "ok"
        generated = requests.post(
            f"{endpoints['ideogram']}/v1/ideogram-v3/generate",
            headers={"Api-Key": endpoints["ideogram_api_key"]},
            files={"prompt": (None, "a lighthouse at dusk")},
            timeout=60,
        )
        assert generated.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopped" in output
    assert not endpoints_file.exists()
    for port_url in (endpoints["api"], endpoints["aws"], endpoints["ideogram"]):
        try:
            requests.get(port_url, timeout=2)
        except requests.ConnectionError:
            continue
        raise AssertionError(f"{port_url} still answers after the stack stopped")


def test_ideogram_base_url_points_the_stack_at_another_ideogram(tmp_path: Path) -> None:
    """IDEOGRAM_BASE_URL and IDEOGRAM_API_KEY replace the embedded emulator (here: a second one)."""
    other = start_emulator(EmulatorSettings(api_key="another-key", log_requests=False))
    try:
        options = StackOptions(log_dir=tmp_path, ideogram_base_url=other.url, ideogram_api_key="another-key")
        with LocalStack(options) as stack:
            assert stack.emulator is None
            assert "ideogram_api_key" not in stack.endpoints()  # a configured key is never written out
            auth = SigV4Auth(stack.caller, stack.options.region)
            reply = requests.post(
                f"{stack.api_url}/generations", json={"prompt": "a harbour"}, auth=auth, timeout=90
            )
    finally:
        other.stop()
    assert reply.status_code == 201, reply.text
    assert reply.json()["generations"][0]["status"] == "STORED"
