"""Fires the template's schedules (triggers/schedule.py) on timers, as EventBridge would.

Each enabled schedule has a timer thread; each firing is an asynchronous invocation of the real
function (its execution environments, through its FunctionRuntime), as EventBridge invokes
Lambda, with the scheduled event or the schedule's Input. Every firing is logged: function,
rule, scheduled time, outcome. `interval_seconds` makes every schedule, rate or cron, fire every
that many seconds instead (demos and tests); otherwise rates fire every period from the start
and cron expressions at their next UTC time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Self

from local_stack.lambda_api import AsyncInvocations
from local_stack.lambda_runtime import FunctionRuntime
from local_stack.triggers.schedule import Schedule

schedule_log = logging.getLogger("local_stack.schedules")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ScheduledFunction:
    schedule: Schedule
    runtime: FunctionRuntime


class Scheduler:
    def __init__(
        self,
        jobs: Sequence[ScheduledFunction],
        *,
        stack_name: str,
        region: str,
        account_id: str,
        interval_seconds: float | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if interval_seconds is not None and interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.jobs = [job for job in jobs if job.schedule.enabled]
        self._stack_name, self._region, self._account_id = stack_name, region, account_id
        self._interval = None if interval_seconds is None else timedelta(seconds=interval_seconds)
        self._clock = clock
        self._stopping = threading.Event()
        self._invocations = AsyncInvocations(schedule_log)
        self._threads = [
            threading.Thread(target=self._run, args=(job,), name=f"schedule-{job.schedule.event_name}")
            for job in self.jobs
        ]

    def _next_fire(self, schedule: Schedule, after: datetime) -> datetime | None:
        if self._interval is not None:
            return after + self._interval
        return schedule.next_fire(after)

    def _run(self, job: ScheduledFunction) -> None:
        schedule = job.schedule
        arn = schedule.arn(self._stack_name, self._region, self._account_id)
        fire_at = self._next_fire(schedule, self._clock())
        while fire_at is not None:
            if self._stopping.wait(max(0.0, (fire_at - self._clock()).total_seconds())):
                return
            event = schedule.event(arn, self._region, self._account_id, fire_at)
            entry = {
                "function": job.runtime.spec.function_name,
                "rule": arn,
                "time": fire_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self._invocations.submit(job.runtime, event, entry)
            # Counted from now, not from the missed time, after a stall (a suspended laptop):
            # EventBridge does not catch up on firings it missed either.
            fire_at = self._next_fire(schedule, max(fire_at, self._clock()))

    def start(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Stops the timers, then gives invocations still running a moment to end."""
        self._stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(5)
        self._invocations.wait(grace_seconds)
