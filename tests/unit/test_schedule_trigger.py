"""Schedule and ScheduleV2 events: expressions, Input, Enabled/State and the events they send."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local_stack.functions import load_functions
from local_stack.template import Resolver, TemplateError
from local_stack.triggers.schedule import Schedule

ACCOUNT = "111122223333"
REGION = "eu-west-1"


def _template(events: dict[str, Any]) -> dict[str, Any]:
    return {
        "Parameters": {"ReconcileMinutes": {"Type": "Number", "Default": 15}},
        "Globals": {"Function": {"Handler": "app.handler"}},
        "Resources": {
            "ReconcileFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "functions/reconcile/", "Events": events},
            }
        },
    }


def _schedules(events: dict[str, Any], overrides: dict[str, str] | None = None) -> tuple[Schedule, ...]:
    resolver = Resolver(_template(events), "assets", REGION, ACCOUNT, parameter_overrides=overrides or {})
    [spec] = load_functions(resolver, base_dir=Path("/project"))
    return spec.schedules


def _schedule(expression: str, **properties: Any) -> Schedule:
    [schedule] = _schedules(
        {"Tick": {"Type": "Schedule", "Properties": {"Schedule": expression, **properties}}}
    )
    return schedule


AT = datetime(2026, 11, 27, 2, 35, 10, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_a_rate_fires_every_period(expression: str, period: timedelta) -> None:
    assert _schedule(expression).next_fire(AT) == AT + period


def _utc(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 3 * * ? *)", AT, _utc(2026, 11, 27, 3, 0)),
        # Fired at 03:00: the next one is the next day's, never the same minute again.
        ("cron(0 3 * * ? *)", _utc(2026, 11, 27, 3, 0), _utc(2026, 11, 28, 3, 0)),
        ("cron(0 12 ? * MON-FRI *)", _utc(2026, 11, 27, 12, 0, 1), _utc(2026, 11, 30, 12, 0)),
        ("cron(0/15 * * * ? *)", _utc(2026, 11, 27, 2, 44, 59, 999999), _utc(2026, 11, 27, 2, 45)),
        ("cron(0 0 L * ? *)", AT, _utc(2026, 11, 30, 0, 0)),
        ("cron(0 9 ? * 2#1 *)", AT, _utc(2026, 12, 7, 9, 0)),
        ("cron(0 0 29 2 ? *)", AT, _utc(2028, 2, 29, 0, 0)),
        ("cron(0 0 1 1 ? 2025)", AT, None),  # only in the past: never fires again
    ],
)
def test_a_cron_fires_at_its_next_utc_time(
    expression: str, after: datetime, expected: datetime | None
) -> None:
    assert _schedule(expression).next_fire(after) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # EventBridge wants the singular for 1 ...
        "rate(5 minute)",  # ... and the plural above it
        "rate(0 minutes)",
        "rate(2 weeks)",
        "rate(five minutes)",
        "every 5 minutes",
        "cron(0 3 * * * *)",  # day-of-month and day-of-week both given: one must be ?
        "cron(0 3 * * ?)",  # five fields, as in crontab: EventBridge wants six
        "cron(61 * * * ? *)",
        "at(2026-12-01T10:00:00)",
    ],
)
def test_an_unreadable_expression_fails_at_load_naming_the_event(expression: str) -> None:
    with pytest.raises(
        TemplateError, match="ReconcileFunction event Tick: cannot read the schedule expression"
    ):
        _schedule(expression)


def test_the_rate_may_come_from_an_intrinsic_resolved_like_any_property() -> None:
    events = {
        "Reconcile": {
            "Type": "Schedule",
            "Properties": {"Schedule": {"Fn::Sub": "rate(${ReconcileMinutes} minutes)"}},
        }
    }
    [default] = _schedules(events)
    assert default.expression == "rate(15 minutes)"
    assert default.next_fire(AT) == AT + timedelta(minutes=15)
    [overridden] = _schedules(events, {"ReconcileMinutes": "30"})
    assert overridden.next_fire(AT) == AT + timedelta(minutes=30)


def test_an_intrinsic_that_cannot_be_resolved_names_the_event() -> None:
    events = {"Reconcile": {"Type": "Schedule", "Properties": {"Schedule": {"Ref": "Missing"}}}}
    with pytest.raises(TemplateError, match="ReconcileFunction event Reconcile: Ref to Missing"):
        _schedules(events)


def test_without_input_the_function_gets_eventbridges_scheduled_event() -> None:
    schedule = _schedule("rate(5 minutes)")
    arn = schedule.arn("assets", REGION, ACCOUNT)
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/assets-ReconcileFunctionTick"
    event = schedule.event(arn, REGION, ACCOUNT, _utc(2026, 11, 27, 3, 0, 0, 250_000))
    assert uuid.UUID(event.pop("id"))
    assert event == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-11-27T03:00:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {},
    }


def test_a_named_rule_keeps_its_name() -> None:
    schedule = _schedule("rate(1 day)", Name="nightly-reconcile")
    assert schedule.arn("assets", REGION, ACCOUNT).endswith(":rule/nightly-reconcile")


def test_input_is_the_event_itself() -> None:
    schedule = _schedule("rate(1 day)", Input='{"job": "reconcile", "limit": [1, 2]}')
    event = schedule.event("arn", REGION, ACCOUNT, AT)
    assert event == {"job": "reconcile", "limit": [1, 2]}


def test_input_that_is_not_json_fails_at_load() -> None:
    with pytest.raises(TemplateError, match="ReconcileFunction event Tick: Input is not JSON"):
        _schedule("rate(1 day)", Input="{job: reconcile}")


@pytest.mark.parametrize(
    ("properties", "enabled"),
    [
        ({}, True),
        ({"Enabled": True}, True),
        ({"Enabled": False}, False),
        ({"Enabled": "false"}, False),  # as a parameter or !If gives it
        ({"State": "DISABLED"}, False),
        ({"State": "ENABLED"}, True),
        ({"State": "DISABLED", "Enabled": True}, False),
    ],
)
def test_enabled_and_state(properties: dict[str, Any], enabled: bool) -> None:
    assert _schedule("rate(1 day)", **properties).enabled is enabled


def test_an_unknown_state_fails_at_load() -> None:
    with pytest.raises(TemplateError, match="State PAUSED is neither ENABLED nor DISABLED"):
        _schedule("rate(1 day)", State="PAUSED")


def test_a_schedule_event_without_schedule_fails_at_load() -> None:
    with pytest.raises(TemplateError, match="ReconcileFunction event Tick: a Schedule event needs Schedule"):
        _schedules({"Tick": {"Type": "Schedule", "Properties": {"Input": "{}"}}})


def test_schedule_v2_sends_the_event_eventbridge_scheduler_sends() -> None:
    [schedule] = _schedules(
        {"Sweep": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "cron(30 1 * * ? *)"}}}
    )
    arn = schedule.arn("assets", REGION, ACCOUNT)
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/assets-ReconcileFunctionSweep"
    event = schedule.event(arn, REGION, ACCOUNT, _utc(2026, 11, 28, 1, 30))
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.scheduler",
        "Scheduled Event",
        [arn],
    )
    assert event["detail"] == "{}"  # Scheduler sends the detail as JSON text
    assert schedule.next_fire(AT) == _utc(2026, 11, 28, 1, 30)


def test_schedule_v2_input_and_state() -> None:
    properties = {
        "ScheduleExpression": "rate(1 hour)",
        "Input": json.dumps({"sweep": True}),
        "State": "DISABLED",
    }
    [schedule] = _schedules({"Sweep": {"Type": "ScheduleV2", "Properties": properties}})
    assert schedule.event("arn", REGION, ACCOUNT, AT) == {"sweep": True}
    assert schedule.enabled is False


@pytest.mark.parametrize(
    ("extra", "found"),
    [
        ({"ScheduleExpressionTimezone": "Europe/Paris"}, "ScheduleExpressionTimezone Europe/Paris"),
        ({"StartDate": "2026-12-01T00:00:00Z"}, "StartDate"),
    ],
)
def test_schedule_v2_settings_the_local_stack_does_not_emulate_fail_at_load(
    extra: dict[str, str], found: str
) -> None:
    properties = {"ScheduleExpression": "rate(1 hour)", **extra}
    with pytest.raises(
        TemplateError, match=f"runs ScheduleV2 in UTC without StartDate or EndDate \\(found {found}"
    ):
        _schedules({"Sweep": {"Type": "ScheduleV2", "Properties": properties}})
