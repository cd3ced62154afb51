"""`report` and `export` as a user runs them, against the local stack over real HTTP: the storage
report's tables and chart, and exports written by the export worker, waited for and saved."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from ideogram_assets_cli.exit_codes import ExitCode
from local_stack.stack import LocalStack
from tests.e2e._helpers import generate
from tests.e2e.test_cli import _run, _write_endpoints

pytestmark = pytest.mark.usefixtures("faults_cleared")


@pytest.fixture
def workdir(tmp_path: Path, stack: LocalStack) -> Path:
    _write_endpoints(tmp_path / ".local" / "endpoints.json", stack.endpoints())
    return tmp_path


def _tagged(stack: LocalStack, tag: str, prompt: str, count: int = 1) -> list[dict[str, Any]]:
    reply = generate(stack, prompt=prompt, tags=[tag], num_images=count)
    assert reply.status_code == 201, reply.text
    generations: list[dict[str, Any]] = reply.json()["generations"]
    return generations


def _json(result: Any) -> Any:
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def _row(rows: list[dict[str, Any]], value: str) -> dict[str, Any]:
    return next(row for row in rows if row["value"] == value)


def test_report_counts_a_new_tag_and_draws_the_months(stack: LocalStack, workdir: Path) -> None:
    tag = f"t{uuid.uuid4().hex[:12]}"
    stored = _tagged(stack, tag, "a reported orchard", count=2) + _tagged(stack, tag, "an unsafe scene")

    result = _run("report", "--json", cwd=workdir)

    assert result.returncode == ExitCode.OK, result.stderr
    report = _json(result)
    row = _row(report["byTag"], tag)
    assert (row["records"], row["images"], row["generated"], row["unsafe"]) == (3, 2, 3, 1)
    assert row["bytes"] == sum(g["sizeBytes"] for g in stored if g["status"] == "STORED")
    month = datetime.now(UTC).strftime("%Y-%m")
    assert _row(report["byMonth"], month)["images"] >= 2
    assert report["totals"]["images"] >= 2

    table = _run("report", cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    for title in ("by status", "by model", "by tag", "by month", "images per month"):
        assert title in table.stdout
    chart = next(line for line in table.stdout.splitlines() if line.startswith(month) and "█" in line)
    assert chart.split()[-1] == f"{_row(report['byMonth'], month)['images']:,}"


def test_export_waits_for_the_file_and_saves_it(stack: LocalStack, workdir: Path) -> None:
    tag = f"t{uuid.uuid4().hex[:12]}"
    generations = _tagged(stack, tag, "an exported lighthouse", count=2) + _tagged(
        stack, tag, "an unsafe scene"
    )

    out = workdir / "history.csv"
    saved = _run("export", "--format", "csv", "--tag", tag, "--out", str(out), "--json", cwd=workdir)

    assert saved.returncode == ExitCode.OK, saved.stderr
    view = _json(saved)
    assert (view["status"], view["format"], view["records"]) == ("DONE", "csv", 3)
    assert view["bytes"] == out.stat().st_size
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert sorted(row["id"] for row in rows) == sorted(g["id"] for g in generations)
    assert {row["status"] for row in rows} == {"STORED", "UNSAFE"}
    assert all(row["tags"] == tag for row in rows)

    again = _run("export", "--tag", tag, "--out", str(out), cwd=workdir)
    assert again.returncode == ExitCode.BAD_INPUT
    assert "--force" in again.stderr

    link = _json(_run("export", "--tag", tag, "-q", "lighthouse", "--json", cwd=workdir))
    lines = requests.get(link["url"], timeout=30, verify=stack.aws.ca_bundle).text.splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(
        g["id"] for g in generations if g["status"] == "STORED"
    )
    shown = _run("export", "--tag", tag, cwd=workdir)
    assert shown.returncode == ExitCode.OK, shown.stderr
    # the link on a line of its own, whole, to be copied
    assert any(line.startswith("http") and "X-Amz-Signature=" in line for line in shown.stdout.splitlines())
    assert "3" in next(line for line in shown.stdout.splitlines() if "records" in line)


def test_export_of_an_unknown_id_or_a_bad_filter_says_why(workdir: Path) -> None:
    missing = _run("export", "--id", "0" * 32, cwd=workdir)
    assert missing.returncode == ExitCode.NOT_FOUND
    bad = _run("export", "--from", "someday", cwd=workdir)
    assert bad.returncode == ExitCode.BAD_INPUT
    assert "from" in bad.stderr
