"""Triggers: what makes the local stack run a function, read from the function's SAM events.

Each kind of trigger is one module here that turns an event's Properties into a trigger, plus
one line in EVENT_TYPES naming the SAM event Type it runs:

- http.py: `HttpApi` events become routes of the local gateway (gateway.py, apigw.py).

Schedules (`Schedule`, `ScheduleV2`), queues (`SQS`, the event source mapping's poller) and
buses (`EventBridgeRule`) are added here next, the same way. An event whose Type has no line
in EVENT_TYPES stops the stack at start: the local stack never skips a trigger silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from local_stack.template import TemplateError
from local_stack.triggers.http import HttpRoute, route_from_event

# One member per kind of trigger: HttpRoute | <the next kind> | ...
type Trigger = HttpRoute

# Reads one event's Properties; the first argument names the function and event for errors.
type EventReader = Callable[[str, Mapping[str, Any]], Trigger]

EVENT_TYPES: Mapping[str, EventReader] = {
    "HttpApi": route_from_event,
}


def read_triggers(function_id: str, events: Mapping[str, Any]) -> tuple[Trigger, ...]:
    """The triggers of one function's Events, or TemplateError for an event the stack cannot run."""
    triggers = []
    for name, event in events.items():
        event_type = event.get("Type")
        reader = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
        if reader is None:
            raise TemplateError(
                f"{function_id}: event {name} has Type {event_type}, which the local stack does not run"
                f" (it runs {', '.join(sorted(EVENT_TYPES))})"
            )
        triggers.append(reader(f"{function_id} event {name}", event.get("Properties", {})))
    return tuple(triggers)
