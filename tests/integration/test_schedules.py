"""The local stack fires the template's schedules: the real function, in its own execution
environment, gets the event EventBridge sends (or the schedule's Input), on a shortened timer.

Runs the fixture template (tests/fixtures) in a LocalStack of its own, as `make up` runs the
product's; the fixture function appends every event it gets to EVENT_LOG.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.aws_emulator import LOCAL_ACCOUNT_ID
from local_stack.stack import LocalStack, StackOptions
from local_stack.template import TemplateError

FIXTURES = Path(__file__).parents[1] / "fixtures"
STACK_NAME = "fixture-schedules"
REGION = "us-east-1"
RULE = f"arn:aws:events:{REGION}:{LOCAL_ACCOUNT_ID}:rule"
TICK_ARN = f"{RULE}/{STACK_NAME}-EchoFunctionTick"
NIGHTLY_INPUT = {"job": "reconcile", "limit": 25}
HOURLY_ARN = f"arn:aws:scheduler:{REGION}:{LOCAL_ACCOUNT_ID}:schedule/default/{STACK_NAME}-EchoFunctionHourly"


def _options(tmp_path: Path, **overrides: Any) -> StackOptions:
    settings: dict[str, Any] = {
        "template_path": FIXTURES / "template.yaml",
        "stack_name": STACK_NAME,
        "log_dir": tmp_path / "logs",
        "ideogram_base_url": None,
        "extra_environment": {"EVENT_LOG": str(tmp_path / "events.jsonl")},
        "schedules": True,
        "schedule_interval_seconds": 1.0,
    }
    return StackOptions(**(settings | overrides))


def _events(tmp_path: Path) -> list[Any]:
    log = tmp_path / "events.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [json.loads(line)["event"] for line in lines]


def _wait_for(found: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _from(events: list[Any], arn: str) -> list[dict[str, Any]]:
    return [event for event in events if isinstance(event, dict) and event.get("resources") == [arn]]


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    tmp_path = tmp_path_factory.mktemp("schedules")
    with LocalStack(_options(tmp_path)) as stack:
        yield stack, tmp_path


def test_a_schedule_without_input_delivers_eventbridges_scheduled_event(
    scheduled: tuple[LocalStack, Path],
) -> None:
    _, tmp_path = scheduled
    _wait_for(lambda: len(_from(_events(tmp_path), TICK_ARN)) >= 2)
    first, second = _from(_events(tmp_path), TICK_ARN)[:2]
    assert set(first) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert first["version"] == "0"
    assert first["detail-type"] == "Scheduled Event"
    assert first["source"] == "aws.events"
    assert (first["account"], first["region"]) == (LOCAL_ACCOUNT_ID, REGION)
    assert first["detail"] == {}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["time"])
    assert uuid.UUID(first["id"]) != uuid.UUID(second["id"])  # one event per firing
    assert first["time"] <= second["time"]


def test_a_schedules_input_is_the_event_verbatim(scheduled: tuple[LocalStack, Path]) -> None:
    _, tmp_path = scheduled
    _wait_for(lambda: NIGHTLY_INPUT in _events(tmp_path))


def test_a_schedule_v2_delivers_eventbridge_schedulers_event(scheduled: tuple[LocalStack, Path]) -> None:
    _, tmp_path = scheduled
    _wait_for(lambda: bool(_from(_events(tmp_path), HOURLY_ARN)))
    [event, *_] = _from(_events(tmp_path), HOURLY_ARN)
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "aws.scheduler",
        "Scheduled Event",
        "{}",
    )


def test_the_interval_is_the_shortened_one_and_disabled_schedules_never_fire(
    scheduled: tuple[LocalStack, Path],
) -> None:
    stack, tmp_path = scheduled
    _wait_for(lambda: len(_from(_events(tmp_path), TICK_ARN)) >= 1)
    before = len(_from(_events(tmp_path), TICK_ARN))
    time.sleep(3.5)
    fired = len(_from(_events(tmp_path), TICK_ARN)) - before
    assert 2 <= fired <= 5  # every second, not every 5 minutes (the template's rate)
    assert stack.scheduler is not None
    assert "Paused" not in {job.schedule.event_name for job in stack.scheduler.jobs}
    paused = f"{RULE}/{STACK_NAME}-EchoFunctionPaused"
    assert not _from(_events(tmp_path), paused)


def test_each_firing_is_logged_with_function_rule_and_outcome(
    scheduled: tuple[LocalStack, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="local_stack.schedules")

    def firings() -> list[dict[str, Any]]:
        return [
            json.loads(record.getMessage())
            for record in caplog.records
            if record.name == "local_stack.schedules"
        ]

    _wait_for(lambda: {entry["rule"] for entry in firings()} >= {TICK_ARN, HOURLY_ARN})
    entry = next(entry for entry in firings() if entry["rule"] == TICK_ARN)
    assert entry["function"] == "EchoFunction"
    assert entry["outcome"] == "ok"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["time"])


def test_stop_ends_the_timers_promptly(tmp_path: Path) -> None:
    stack = LocalStack(_options(tmp_path)).start()
    try:
        _wait_for(lambda: bool(_from(_events(tmp_path), TICK_ARN)))
    finally:
        started = time.monotonic()
        stack.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 10
    count = len(_events(tmp_path))
    time.sleep(2)
    assert len(_events(tmp_path)) == count


def test_schedules_are_off_unless_asked(tmp_path: Path) -> None:
    assert StackOptions().schedules is False
    with LocalStack(_options(tmp_path, schedules=False, schedule_interval_seconds=0.2)) as stack:
        time.sleep(1)
        assert stack.scheduler is None
        assert _events(tmp_path) == []


def test_an_unreadable_schedule_expression_stops_the_stack_at_start(tmp_path: Path) -> None:
    template = (FIXTURES / "template.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "template.yaml"
    broken.write_text(template.replace("cron(0 3 * * ? *)", "cron(0 3 * * *)"), encoding="utf-8")
    stack = LocalStack(_options(tmp_path, template_path=broken))
    try:
        with pytest.raises(TemplateError, match="EchoFunction event Nightly: cannot read the schedule"):
            stack.start()
    finally:
        stack.stop()
