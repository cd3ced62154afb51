"""Export jobs: RUNNING past the worker's longest possible run reads FAILED, an expired job is
gone, and the limits the code assumes are the template's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ideogram_assets.exports.jobs import (
    EXPORT_LIFETIME,
    STALE_AFTER,
    STALE_MESSAGE,
    WORKER_MAX_EVENT_AGE_SECONDS,
    WORKER_TIMEOUT_SECONDS,
    JobStatus,
    job_from_item,
    job_item,
    new_job,
)
from local_stack.template import load_template

CREATED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEMPLATE = load_template()


def test_a_new_job_is_running_and_lives_as_long_as_its_file() -> None:
    job = new_job("ab" * 16, "jsonl", {}, {}, CREATED)
    assert job.status == JobStatus.RUNNING
    assert job.created_at == "2026-11-21T09:00:00.000Z"
    assert job.expires_at == int((CREATED + EXPORT_LIFETIME).timestamp())
    assert not job.expired(CREATED + EXPORT_LIFETIME - timedelta(seconds=1))
    assert job.expired(CREATED + EXPORT_LIFETIME)


def test_running_reads_running_until_the_worker_could_no_longer_be_at_it() -> None:
    job = new_job("ab" * 16, "csv", {}, {}, CREATED)
    assert job.as_seen_at(CREATED + STALE_AFTER).status == JobStatus.RUNNING
    stale = job.as_seen_at(CREATED + STALE_AFTER + timedelta(seconds=1))
    assert (stale.status, stale.message) == (JobStatus.FAILED, STALE_MESSAGE)


def test_a_finished_job_reads_as_it_is_however_old() -> None:
    done = job_from_item(job_item(new_job("ab" * 16, "csv", {}, {}, CREATED)) | {"status": {"S": "DONE"}})
    assert done.as_seen_at(CREATED + timedelta(days=6)).status == JobStatus.DONE


def test_stale_means_after_the_longest_wait_for_the_worker_plus_its_longest_run() -> None:
    assert timedelta(seconds=WORKER_MAX_EVENT_AGE_SECONDS + WORKER_TIMEOUT_SECONDS) < STALE_AFTER
    assert timedelta(minutes=30) >= STALE_AFTER


def test_the_worker_limits_are_the_templates() -> None:
    worker = TEMPLATE["Resources"]["ExportWorkerFunction"]["Properties"]
    assert worker["Timeout"] == WORKER_TIMEOUT_SECONDS
    assert worker["EventInvokeConfig"]["MaximumEventAgeInSeconds"] == WORKER_MAX_EVENT_AGE_SECONDS
    # A retry would run a job whose first run may have been claimed already.
    assert worker["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_the_export_files_expire_with_their_jobs() -> None:
    rules = TEMPLATE["Resources"]["AssetsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [rule] = [rule for rule in rules if rule.get("Prefix") == "exports/"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == EXPORT_LIFETIME.days


def test_an_item_reads_back_as_the_job_it_was_written_from() -> None:
    job = new_job("ab" * 16, "csv", {"q": "red fox", "tags": ["brand"]}, {"words": ["red", "fox"]}, CREATED)
    item = job_item(job)
    assert item["PK"] == {"S": f"EXPORT#{'ab' * 16}"}
    assert item["SK"] == {"S": "META"}
    assert job_from_item(item) == job
