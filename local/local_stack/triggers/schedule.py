"""The schedule trigger: a function's `Schedule` and `ScheduleV2` events fire it on a timer.

`Schedule` is an EventBridge rule, `ScheduleV2` an EventBridge Scheduler schedule; both take
`rate(...)` and `cron(...)` expressions (UTC) and an optional `Input`, the JSON the function gets
instead of the default scheduled event. scheduler.py runs the timers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from local_stack.template import TemplateError

_RATE = re.compile(r"rate\((?P<value>[0-9]+) (?P<unit>minutes?|hours?|days?)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
# Properties that change when a ScheduleV2 fires which the local stack does not emulate.
_UNSUPPORTED_V2 = ("StartDate", "EndDate")


def _rate(value: str, unit: str) -> timedelta | None:
    count = int(value)
    # As EventBridge: "rate(1 minute)" and "rate(5 minutes)", never "rate(1 minutes)" or "rate(0 ...)".
    if count < 1 or (unit.endswith("s") != (count > 1)):
        return None
    return count * _UNITS[unit.removesuffix("s")]


@dataclass(frozen=True)
class Schedule:
    function_id: str
    event_name: str
    expression: str  # rate(...) or cron(...)
    input: str | None  # JSON text: the event instead of the scheduled event, as given
    enabled: bool
    name: str | None  # the rule's (or schedule's) Name, when the template gives one
    scheduler: bool  # ScheduleV2: an EventBridge Scheduler schedule, not an EventBridge rule

    def __post_init__(self) -> None:
        where = f"{self.function_id} event {self.event_name}"
        if self._period() is None and self._cron() is None:
            raise TemplateError(
                f"{where}: cannot read the schedule expression {self.expression!r}"
                " (rate(1 minute), rate(5 minutes), rate(1 day), cron(0 3 * * ? *), ...)"
            )
        if self.input is not None:
            try:
                json.loads(self.input)
            except ValueError as error:
                raise TemplateError(f"{where}: Input is not JSON ({error})") from None

    def _period(self) -> timedelta | None:
        match = _RATE.fullmatch(self.expression.strip())
        return _rate(match["value"], match["unit"]) if match else None

    def _cron(self) -> Any:
        match = _CRON.fullmatch(self.expression.strip())
        if match is None:
            return None
        # Imported here: every execution environment loads this module (its FunctionSpec names its
        # triggers), and a function's cold start should not pay for a cron parser it never uses.
        from aws_croniter import AwsCroniter  # type: ignore[import-untyped]

        try:
            return AwsCroniter(" ".join(match["fields"].split()))
        except ValueError:  # the library's errors for an expression EventBridge refuses
            return None

    def next_fire(self, after: datetime) -> datetime | None:
        """When the schedule fires next after `after` (UTC), or None when it never does again."""
        period = self._period()
        if period is not None:
            return after + period
        # Cron schedules fire on whole minutes; the library counts from the minute after its start.
        minute = after.astimezone(UTC).replace(second=0, microsecond=0)
        [fire] = self._cron().get_next(minute)
        return fire if isinstance(fire, datetime) else None

    def rule_name(self, stack_name: str) -> str:
        # CloudFormation names an unnamed rule <stack>-<logical id>-<random>; SAM's logical id is
        # the function's id followed by the event's name. Locally the name has no random part.
        return self.name or f"{stack_name}-{self.function_id}{self.event_name}"[:64]

    def arn(self, stack_name: str, region: str, account_id: str) -> str:
        if self.scheduler:
            return f"arn:aws:scheduler:{region}:{account_id}:schedule/default/{self.rule_name(stack_name)}"
        return f"arn:aws:events:{region}:{account_id}:rule/{self.rule_name(stack_name)}"

    def event(self, arn: str, region: str, account_id: str, time: datetime) -> Any:
        """What the function gets: the Input, else the event EventBridge sends for a schedule."""
        if self.input is not None:
            return json.loads(self.input)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler" if self.scheduler else "aws.events",
            "account": account_id,
            "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [arn],
            # EventBridge Scheduler sends the detail as JSON text, EventBridge rules as an object.
            "detail": "{}" if self.scheduler else {},
        }


def _enabled(where: str, properties: Mapping[str, Any], default_state: str) -> bool:
    state = str(properties.get("State", default_state)).upper()
    if state not in ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"):
        raise TemplateError(f"{where}: State {state} is neither ENABLED nor DISABLED")
    enabled = properties.get("Enabled", True)
    if str(enabled).lower() not in ("true", "false"):
        raise TemplateError(f"{where}: Enabled must be true or false, not {enabled!r}")
    return state != "DISABLED" and str(enabled).lower() == "true"


def _input(properties: Mapping[str, Any]) -> str | None:
    value = properties.get("Input")
    return None if value is None else str(value)


def schedule_from_event(function_id: str, event_name: str, properties: Mapping[str, Any]) -> Schedule:
    """The schedule a `Schedule` event (an EventBridge rule) declares."""
    where = f"{function_id} event {event_name}"
    if "Schedule" not in properties:
        raise TemplateError(f"{where}: a Schedule event needs Schedule")
    return Schedule(
        function_id=function_id,
        event_name=event_name,
        expression=str(properties["Schedule"]),
        input=_input(properties),
        enabled=_enabled(where, properties, "ENABLED"),
        name=properties.get("Name"),
        scheduler=False,
    )


def schedule_v2_from_event(function_id: str, event_name: str, properties: Mapping[str, Any]) -> Schedule:
    """The schedule a `ScheduleV2` event (an EventBridge Scheduler schedule) declares."""
    where = f"{function_id} event {event_name}"
    if "ScheduleExpression" not in properties:
        raise TemplateError(f"{where}: a ScheduleV2 event needs ScheduleExpression")
    timezone = str(properties.get("ScheduleExpressionTimezone", "UTC"))
    unsupported = [name for name in _UNSUPPORTED_V2 if name in properties]
    if timezone not in ("UTC", "Etc/UTC") or unsupported:
        raise TemplateError(
            f"{where}: the local stack runs ScheduleV2 in UTC without StartDate or EndDate"
            f" (found {', '.join(unsupported) or f'ScheduleExpressionTimezone {timezone}'})"
        )
    return Schedule(
        function_id=function_id,
        event_name=event_name,
        expression=str(properties["ScheduleExpression"]),
        input=_input(properties),
        enabled=_enabled(where, {"State": properties.get("State", "ENABLED")}, "ENABLED"),
        name=properties.get("Name"),
        scheduler=True,
    )
