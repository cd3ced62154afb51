"""`ideogram-assets reproduce ID` and `generate --on-duplicate`, run as a user runs them (the
installed console script) against the local stack, with Ideogram's calls counted at the emulator."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ideogram_assets_cli.exit_codes import ExitCode
from local_stack.stack import LocalStack
from tests.e2e._helpers import ideogram_calls, record
from tests.e2e.test_cli import _run, _write_endpoints

pytestmark = pytest.mark.usefixtures("faults_cleared")


@pytest.fixture
def workdir(tmp_path: Path, stack: LocalStack) -> Path:
    _write_endpoints(tmp_path / ".local" / "endpoints.json", stack.endpoints())
    return tmp_path


def _generated(workdir: Path, prompt: str, *options: str) -> list[str]:
    result = _run(
        "generate", prompt, "--seed", "4242", "--magic-prompt", "OFF", *options, "--json", cwd=workdir
    )
    assert result.returncode == ExitCode.OK, result.stderr
    return [generation["id"] for generation in json.loads(result.stdout)["generations"]]


def test_reproduce_stores_the_same_image_and_says_the_bytes_match(workdir: Path, stack: LocalStack) -> None:
    [original] = _generated(workdir, f"a tin robot {uuid.uuid4().hex[:8]}")
    calls = ideogram_calls(stack)

    result = _run("reproduce", original, cwd=workdir)
    assert result.returncode == ExitCode.OK, result.stderr
    assert "bytes match the original: yes" in result.stdout
    assert f"reproduction of {original}" in result.stdout
    assert "Traceback" not in result.stderr
    assert ideogram_calls(stack) == calls + 1

    scripted = _run("reproduce", original, "--json", cwd=workdir)
    assert scripted.returncode == ExitCode.OK, scripted.stderr
    [child] = json.loads(scripted.stdout)["generations"]
    assert (child["parentId"], child["matchesParent"], child["source"]) == (original, True, "reproduce")
    assert "reproduced" in child["tags"]
    assert record(stack, child["id"])["parentSha256"]["S"] == record(stack, original)["sha256"]["S"]


def test_reproduce_with_the_same_key_calls_ideogram_once(workdir: Path, stack: LocalStack) -> None:
    [original] = _generated(workdir, f"a felt owl {uuid.uuid4().hex[:8]}")
    key = f"cli-reproduce-{uuid.uuid4().hex}"
    calls = ideogram_calls(stack)
    first = _run("reproduce", original, "--idempotency-key", key, "--json", cwd=workdir)
    again = _run("reproduce", original, "--idempotency-key", key, "--json", cwd=workdir)
    assert first.returncode == again.returncode == ExitCode.OK, (first.stderr, again.stderr)
    assert [g["id"] for g in json.loads(first.stdout)["generations"]] == [
        g["id"] for g in json.loads(again.stdout)["generations"]
    ]
    assert ideogram_calls(stack) == calls + 1


@pytest.mark.parametrize(
    ("generation_id", "code", "says"),
    [
        ("0" * 32, ExitCode.NOT_FOUND, "was not found (HTTP 404)"),
        ("not-an-id", ExitCode.BAD_INPUT, "(HTTP 422)"),
    ],
)
def test_reproduce_of_what_cannot_be_reproduced_exits_with_its_reason(
    workdir: Path, generation_id: str, code: ExitCode, says: str
) -> None:
    result = _run("reproduce", generation_id, cwd=workdir)
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_on_duplicate_reject_names_the_stored_images_and_reuse_returns_them(
    workdir: Path, stack: LocalStack
) -> None:
    prompt = f"a brass key {uuid.uuid4().hex[:8]}"
    stored = _generated(workdir, prompt, "--num-images", "2")
    calls = ideogram_calls(stack)

    rejected = _run(
        "generate",
        prompt,
        "--seed",
        "4242",
        "--magic-prompt",
        "OFF",
        "--num-images",
        "2",
        "--on-duplicate",
        "reject",
        cwd=workdir,
    )
    assert rejected.returncode == ExitCode.BAD_INPUT, rejected.stderr
    assert "(HTTP 409)" in rejected.stderr
    for generation_id in stored:
        assert f"existing: {generation_id}" in rejected.stderr
    assert "--on-duplicate reuse" in rejected.stderr

    as_json = _run(
        "generate",
        prompt,
        "--seed",
        "4242",
        "--magic-prompt",
        "OFF",
        "--num-images",
        "2",
        "--on-duplicate",
        "reject",
        "--json",
        cwd=workdir,
    )
    assert as_json.returncode == ExitCode.BAD_INPUT
    assert sorted(json.loads(as_json.stdout)["existing"]) == sorted(stored)

    reused = _run(
        "generate",
        prompt,
        "--seed",
        "4242",
        "--magic-prompt",
        "OFF",
        "--num-images",
        "2",
        "--on-duplicate",
        "reuse",
        cwd=workdir,
    )
    assert reused.returncode == ExitCode.OK, reused.stderr
    assert "reused 2 stored images" in reused.stdout
    for generation_id in stored:
        assert generation_id in reused.stdout
    assert ideogram_calls(stack) == calls  # neither called Ideogram

    generated = _run(
        "generate",
        prompt,
        "--seed",
        "4242",
        "--magic-prompt",
        "OFF",
        "--num-images",
        "2",
        "--on-duplicate",
        "generate",
        "--json",
        cwd=workdir,
    )
    assert generated.returncode == ExitCode.OK, generated.stderr
    assert json.loads(generated.stdout)["reused"] is False
    assert ideogram_calls(stack) == calls + 1
