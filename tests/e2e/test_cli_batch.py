"""`ideogram-assets batch`, run as a user runs it (the console script in its own process) against
the local stack: a file checked line by line before anything is queued, a batch followed with its
live progress bar until every request has ended, resumed by id, and exit codes that say how it
ended."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from ideogram_assets_cli.exit_codes import ExitCode
from local_stack.stack import LocalStack
from tests.e2e._helpers import ideogram_calls, record, set_faults
from tests.e2e.test_cli import _run, _write_endpoints

pytestmark = pytest.mark.usefixtures("faults_cleared")


@pytest.fixture
def workdir(tmp_path: Path, stack: LocalStack) -> Path:
    _write_endpoints(tmp_path / ".local" / "endpoints.json", stack.endpoints())
    return tmp_path


def _tag() -> str:
    return f"cli-batch-{uuid.uuid4().hex[:8]}"


def _jsonl(path: Path, *bodies: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(body, ensure_ascii=False) + "\n" for body in bodies), encoding="utf-8")
    return path


def test_a_bad_line_is_named_and_nothing_is_queued(workdir: Path, stack: LocalStack) -> None:
    path = workdir / "requests.csv"
    path.write_text("prompt,seed,num_images\na fox,1,1\na hen,two,1\na cat,3,9\n", encoding="utf-8")
    result = _run("batch", str(path), cwd=workdir)
    assert result.returncode == ExitCode.BAD_INPUT, result.stderr
    assert "nothing was queued" in result.stderr
    assert "line 3: seed: 'two' is not a whole number" in result.stderr
    assert result.stdout == ""
    fixed = path.read_text().replace("two", "2")
    path.write_text(fixed, encoding="utf-8")
    result = _run("batch", str(path), cwd=workdir)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "line 4: num_images: Input should be less than or equal to 8" in result.stderr


def test_a_csv_batch_is_followed_to_its_end_and_printed_as_json(workdir: Path, stack: LocalStack) -> None:
    tag = _tag()
    path = workdir / "campaign.csv"
    path.write_text(
        "item_id,prompt,seed,tags,rendering_speed\n"
        f'fox,"a red fox logo, flat",11,{tag};brand,turbo\n'
        f"hen,a hen in a field,12,{tag},\n",
        encoding="utf-8",
    )
    result = _run("batch", str(path), "--json", cwd=workdir)
    assert result.returncode == ExitCode.OK, result.stderr
    view = json.loads(result.stdout)  # GET /batches/{id}'s body and nothing else
    assert view["complete"] is True
    assert view["counts"] == {"QUEUED": 0, "DONE": 2, "FAILED": 0}
    by_item = {entry["itemId"]: entry for entry in view["results"]}
    [fox_id] = by_item["fox"]["generationIds"]
    fox = record(stack, fox_id)
    assert fox["prompt"]["S"] == "a red fox logo, flat"
    assert fox["renderingSpeed"]["S"] == "TURBO"
    assert fox["batchId"]["S"] == view["batchId"]
    assert f"batch {view['batchId']}" in result.stderr  # where it can be followed again


def test_the_progress_bar_counts_the_requests_as_they_end(workdir: Path, stack: LocalStack) -> None:
    set_faults(stack, latency_seconds=0.5)  # long enough for the bar to be drawn a few times
    tag = _tag()
    path = _jsonl(
        workdir / "requests.jsonl",
        *({"prompt": f"a paper boat {n}", "seed": n, "tags": [tag]} for n in range(4)),
    )
    # A terminal as Rich recognises one (TTY_COMPATIBLE), so the bar is drawn on stderr.
    result = _run("batch", str(path), cwd=workdir, environment={"TTY_COMPATIBLE": "1", "COLUMNS": "160"})
    assert result.returncode == ExitCode.OK, result.stderr
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)
    assert re.search(r"batch [0-9a-f]{8}", frames)
    assert "0/4" in frames or "1/4" in frames
    assert "4/4" in frames
    assert re.search(r"4 done, 0 failed, 0 queued", frames)
    # The summary for people: every request with its generation.
    assert "complete" in result.stdout
    assert result.stdout.count("DONE") == 4


def test_a_failed_request_exits_3_with_its_reason(workdir: Path, stack: LocalStack) -> None:
    tag = _tag()
    original = {"prompt": f"a glass lantern, {tag}", "seed": 9, "tags": [tag]}
    first = _run("batch", str(_jsonl(workdir / "first.jsonl", original)), "--json", cwd=workdir)
    assert first.returncode == ExitCode.OK, first.stderr
    [stored_id] = json.loads(first.stdout)["results"][0]["generationIds"]
    second = _run(
        "batch",
        str(_jsonl(workdir / "second.jsonl", original, {**original, "seed": 10})),
        "--on-duplicate",
        "reject",
        cwd=workdir,
    )
    assert second.returncode == ExitCode.PARTIAL, second.stderr
    assert "failed items" in second.stdout
    assert stored_id in second.stdout  # the reason names the stored duplicate
    assert "1 item failed" in second.stderr


def test_no_wait_returns_once_queued_and_resume_follows_it(workdir: Path, stack: LocalStack) -> None:
    tag = _tag()
    path = _jsonl(workdir / "later.jsonl", {"prompt": "a windmill at noon", "seed": 5, "tags": [tag]})
    queued = _run("batch", str(path), "--no-wait", "--json", cwd=workdir)
    assert queued.returncode == ExitCode.OK, queued.stderr
    accepted = json.loads(queued.stdout)  # POST /batches' reply
    assert (accepted["status"], accepted["items"], accepted["enqueued"]) == ("QUEUED", 1, 1)
    batch_id = accepted["batchId"]

    followed = _run("batch", "--resume", batch_id, "--json", cwd=workdir)
    assert followed.returncode == ExitCode.OK, followed.stderr
    view = json.loads(followed.stdout)
    assert view["batchId"] == batch_id
    assert view["complete"] is True
    calls = ideogram_calls(stack)
    again = _run("batch", "--resume", batch_id, "--no-wait", cwd=workdir)
    assert again.returncode == ExitCode.OK, again.stderr
    assert f"batch {batch_id}: complete" in again.stdout
    assert ideogram_calls(stack) == calls  # following a batch never generates anything


def test_a_wait_that_runs_out_says_how_to_follow_again(workdir: Path, stack: LocalStack) -> None:
    set_faults(stack, latency_seconds=6)
    path = _jsonl(workdir / "slow.jsonl", {"prompt": "a slow snail", "seed": 1, "tags": [_tag()]})
    result = _run("batch", str(path), "--wait", "1", cwd=workdir)
    assert result.returncode == ExitCode.UNAVAILABLE, result.stderr
    assert "is not complete after 1 s" in result.stderr
    assert "ideogram-assets batch --resume" in result.stderr


def test_resume_of_an_unknown_batch_exits_5_and_a_file_with_resume_2(workdir: Path) -> None:
    missing = _run("batch", "--resume", "0" * 32, cwd=workdir)
    assert missing.returncode == ExitCode.NOT_FOUND
    assert "was not found" in missing.stderr
    both = _run("batch", "x.jsonl", "--resume", "0" * 32, cwd=workdir)
    assert both.returncode == ExitCode.BAD_INPUT
    assert "not both" in both.stderr
