"""Exports end to end: POST /exports through the gateway, the exports function starting the
worker through the Lambda Invoke API, the worker streaming the file into S3, and GET
/exports/{id} handing out a link that downloads it. Contents are checked against the records
DynamoDB really holds; failures are injected on the wire (fault proxy, a worker that is not there).
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from ideogram_assets.exports.jobs import STALE_MESSAGE
from ideogram_assets.exports.rows import FIELDS
from local_stack.client import SigV4Auth
from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack, StackOptions
from tests.e2e._helpers import generate, object_keys, open_uploads, record

pytestmark = pytest.mark.usefixtures("faults_cleared")

EXPORT_ID = r"^[0-9a-f]{32}$"


def _auth(stack: LocalStack) -> SigV4Auth:
    return SigV4Auth(stack.caller, stack.options.region)


def _start(stack: LocalStack, body: Any) -> requests.Response:
    return requests.post(f"{stack.api_url}/exports", json=body, auth=_auth(stack), timeout=30)


def _get(stack: LocalStack, path: str) -> requests.Response:
    return requests.get(f"{stack.api_url}{path}", auth=_auth(stack), timeout=30)


def _finished(stack: LocalStack, location: str, timeout: float = 60) -> dict[str, Any]:
    """Polls the job until it is no longer RUNNING, as a caller would."""
    deadline = time.monotonic() + timeout
    while True:
        reply = _get(stack, location)
        assert reply.status_code == 200, reply.text
        job: dict[str, Any] = reply.json()
        if job["status"] != "RUNNING" or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def _export(stack: LocalStack, body: Any) -> tuple[dict[str, Any], requests.Response]:
    """Starts an export, waits for it to be DONE, downloads the file through its link."""
    started = _start(stack, body)
    assert started.status_code == 202, started.text
    job = _finished(stack, started.headers["Location"])
    assert job["status"] == "DONE", job
    download = requests.get(job["url"], timeout=30)
    assert download.status_code == 200
    return job, download


def _generated(stack: LocalStack, prompt: str, tags: list[str], **body: Any) -> list[dict[str, Any]]:
    reply = generate(stack, prompt=prompt, tags=tags, **body)
    assert reply.status_code == 201, reply.text
    generations: list[dict[str, Any]] = reply.json()["generations"]
    return generations


def _tag() -> str:
    return f"export-{uuid.uuid4().hex[:10]}"


def _newest_first(generations: list[dict[str, Any]]) -> list[str]:
    return [g["id"] for g in sorted(generations, key=lambda g: (g["createdAt"], g["id"]), reverse=True)]


def test_a_jsonl_export_holds_every_matching_record_newest_first(stack: LocalStack) -> None:
    tag = _tag()
    generations = _generated(stack, "a red fox logo, flat", [tag, "brand"], num_images=2, seed=11)
    generations += _generated(stack, "a café sign in Kyōto, 狐", [tag], seed=12)

    started = _start(stack, {"format": "jsonl", "filters": {"tags": [tag]}})
    assert started.status_code == 202, started.text
    running = started.json()
    assert started.headers["Location"] == f"/exports/{running['id']}"
    assert running["status"] == "RUNNING"
    assert (running["format"], running["filters"]) == ("jsonl", {"tags": [tag]})
    assert running["url"] is None

    job = _finished(stack, started.headers["Location"])
    assert job["status"] == "DONE", job
    assert job["records"] == 3
    assert job["urlExpiresIn"] == 900
    assert job["finishedAt"] >= job["createdAt"]
    download = requests.get(job["url"], timeout=30)
    assert download.headers["Content-Type"] == "application/x-ndjson"
    assert f'filename="generations-{job["id"]}.jsonl"' in download.headers["Content-Disposition"]
    assert len(download.content) == job["bytes"]

    lines = download.content.decode("utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["id"] for row in rows] == _newest_first(generations)
    for row in rows:
        assert list(row) == list(FIELDS)
        item = record(stack, row["id"])
        assert row["stored"] is True
        assert row["status"] == "STORED"
        assert row["storedUri"] == f"s3://{item['bucket']['S']}/{item['key']['S']}"
        assert row["sha256"] == item["sha256"]["S"]
        assert row["sizeBytes"] == int(item["sizeBytes"]["N"])
        assert row["prompt"] == item["prompt"]["S"]
        assert row["expandedPrompt"] == item.get("expandedPrompt", {}).get("S")
        assert row["seed"] == int(item["seed"]["N"])
        assert row["createdAt"] == item["createdAt"]["S"]
        assert row["costUsd"] == pytest.approx(float(item["costUsd"]["N"]))
        assert tag in row["tags"]
        assert row["starred"] is False
        assert row["note"] is None
    assert {row["prompt"] for row in rows} == {"a red fox logo, flat", "a café sign in Kyōto, 狐"}


def test_a_csv_export_reads_back_with_any_csv_reader(stack: LocalStack) -> None:
    tag = _tag()
    tricky = 'a "quoted" fox, with commas\nand a second line, café 狐'
    generations = _generated(stack, tricky, [tag, "brand"], seed=21)
    generations += _generated(stack, "plain fox", [tag], seed=22)

    job, download = _export(stack, {"format": "csv", "filters": {"tags": [tag]}})
    assert download.headers["Content-Type"] == "text/csv"
    assert job["records"] == 2
    header, *rows = list(csv.reader(io.StringIO(download.content.decode("utf-8"), newline="")))
    assert header == list(FIELDS)
    values = [dict(zip(header, row, strict=True)) for row in rows]
    assert [row["id"] for row in values] == _newest_first(generations)
    by_id = {row["id"]: row for row in values}
    first = by_id[generations[0]["id"]]
    assert first["prompt"] == tricky
    assert first["tags"] == ";".join(sorted(["brand", tag]))
    assert first["stored"] == "true"
    assert first["starred"] == "false"
    assert first["seed"] == "21"
    assert first["sha256"] == generations[0]["sha256"]
    assert first["note"] == ""


def test_filters_narrow_an_export_like_a_search(stack: LocalStack) -> None:
    tag = _tag()
    fox = _generated(stack, "an orange fox in snow", [tag], seed=31)
    _generated(stack, "a grey wolf in snow", [tag], seed=32)
    _generated(stack, "an orange fox in the desert", [_tag()], seed=33)  # not tagged: left out

    job, download = _export(stack, {"filters": {"q": "FOX", "tags": [tag]}})
    rows = [json.loads(line) for line in download.text.splitlines()]
    assert [row["id"] for row in rows] == [fox[0]["id"]]
    assert job["filters"] == {"q": "FOX", "tags": [tag]}

    by_seed, download = _export(stack, {"filters": {"seed": 32, "tags": [tag]}})
    assert [json.loads(line)["seed"] for line in download.text.splitlines()] == [32]
    assert by_seed["records"] == 1


def test_an_export_matching_nothing_is_done_and_empty(stack: LocalStack) -> None:
    job, download = _export(stack, {"format": "csv", "filters": {"tags": [_tag()]}})
    assert job["records"] == 0
    assert download.content.decode() == ",".join(FIELDS) + "\r\n"  # the header row alone
    _, empty = _export(stack, {"filters": {"tags": [_tag()]}})
    assert empty.content == b""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"filters": {"colour": "red"}}, "filters.colour"),
        ({"filters": {"seed": -1}}, "filters.seed"),
        ({"filters": {"from": "2026-12-01", "to": "2026-11-01"}}, "filters"),
        ({"filters": {"from": "yesterday"}}, "filters.from"),
        ({"filters": {"tags": "a,b"}}, "filters.tags"),
        ({"format": "csv", "extra": True}, "extra"),
    ],
)
def test_a_bad_request_names_its_field_and_starts_nothing(stack: LocalStack, body: Any, field: str) -> None:
    reply = _start(stack, body)
    assert reply.status_code == 422, reply.text
    answer = reply.json()
    assert answer["message"] == "the request is not valid"
    assert any(
        error["field"] == field or error["field"].startswith(f"{field}.") for error in answer["errors"]
    ), answer


def test_a_body_that_is_not_json_is_refused_before_validation(stack: LocalStack) -> None:
    reply = requests.post(
        f"{stack.api_url}/exports",
        data=b"format=csv",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=_auth(stack),
        timeout=30,
    )
    assert reply.status_code == 415, reply.text
    assert reply.json()["message"]


def test_an_unknown_export_is_404_and_a_malformed_id_422(stack: LocalStack) -> None:
    missing = _get(stack, f"/exports/{uuid.uuid4().hex}")
    assert missing.status_code == 404, missing.text
    assert "was not found" in missing.json()["message"]
    malformed = _get(stack, "/exports/not-an-id")
    assert malformed.status_code == 422, malformed.text
    assert malformed.json()["errors"][0]["field"] == "path.export_id"


def _put_job(stack: LocalStack, export_id: str, created: datetime, **extra: dict[str, str]) -> None:
    table = stack.endpoints()["resources"]["AssetsTable"]
    created_at = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stack.aws.client("dynamodb").put_item(
        TableName=table,
        Item={
            "PK": {"S": f"EXPORT#{export_id}"},
            "SK": {"S": "META"},
            "id": {"S": export_id},
            "status": {"S": "RUNNING"},
            "format": {"S": "jsonl"},
            "filters": {"S": "{}"},
            "query": {"S": "{}"},
            "createdAt": {"S": created_at},
            "ttl": {"N": str(int((created + timedelta(days=7)).timestamp()))},
            **extra,
        },
    )


def test_a_job_running_far_past_the_workers_limit_reads_failed(stack: LocalStack) -> None:
    stale, recent = uuid.uuid4().hex, uuid.uuid4().hex
    now = datetime.now(UTC)
    _put_job(stack, stale, now - timedelta(hours=1), startedAt={"S": "2026-01-01T00:00:00.000Z"})
    _put_job(stack, recent, now - timedelta(minutes=5), startedAt={"S": "2026-01-01T00:00:00.000Z"})
    job = _get(stack, f"/exports/{stale}").json()
    assert (job["status"], job["message"], job["url"]) == ("FAILED", STALE_MESSAGE, None)
    assert _get(stack, f"/exports/{recent}").json()["status"] == "RUNNING"


def test_an_expired_job_is_gone_even_before_dynamodb_removes_it(stack: LocalStack) -> None:
    export_id = uuid.uuid4().hex
    _put_job(stack, export_id, datetime.now(UTC) - timedelta(days=8))
    assert _get(stack, f"/exports/{export_id}").status_code == 404


def test_s3_refusing_the_file_fails_the_job_with_a_message_and_leaves_nothing(stack: LocalStack) -> None:
    assert stack.proxy is not None
    tag = _tag()
    _generated(stack, "a fox that will not be exported", [tag], seed=41)
    rule = stack.proxy.inject(
        FaultRule(method="PUT", path=r"/exports/[0-9a-f]{32}\.jsonl", status=500, error_code="InternalError")
    )
    started = _start(stack, {"filters": {"tags": [tag]}})
    assert started.status_code == 202, started.text
    job = _finished(stack, started.headers["Location"])
    assert job["status"] == "FAILED", job
    assert "storing the export failed" in job["message"]
    assert job["url"] is None
    assert rule.failed >= 1
    assert f"exports/{job['id']}.jsonl" not in object_keys(stack)
    assert [upload for upload in open_uploads(stack) if upload["Key"].startswith("exports/")] == []


def test_a_worker_that_cannot_be_started_fails_the_job_and_answers_503(tmp_path: Path) -> None:
    options = StackOptions(
        log_dir=tmp_path,
        ideogram_base_url=None,
        extra_environment={"EXPORT_WORKER_FUNCTION_NAME": "NoSuchExportWorker"},
    )
    with LocalStack(options) as broken:
        reply = _start(broken, {"format": "csv"})
        table = broken.endpoints()["resources"]["AssetsTable"]
        items = broken.aws.client("dynamodb").scan(TableName=table)["Items"]
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] == "5"
    assert reply.json()["message"] == "the export could not be started; try again shortly"
    [job] = [item for item in items if item["PK"]["S"].startswith("EXPORT#")]
    assert job["status"]["S"] == "FAILED"
    assert job["message"]["S"] == "the export could not be started; try again shortly"
