"""Triggers: what makes the local stack run a function, read from the function's SAM events.

Each kind of trigger is one module here that turns an event's Properties (intrinsics resolved)
into a trigger, plus one line in EVENT_TYPES naming the SAM event Type it runs:

- http.py: `HttpApi` events become routes of the local gateway (gateway.py, apigw.py).
- schedule.py: `Schedule` and `ScheduleV2` events fire the function on a timer (scheduler.py).
- queue.py: `SQS` events, event source mappings polling a queue (queue_poller.py).
- stream.py: `DynamoDB` events, event source mappings reading a table's stream (stream_poller.py).

An event whose Type has no line in EVENT_TYPES stops the stack at start: the local stack never
skips a trigger silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from local_stack.template import Resolver, TemplateError
from local_stack.triggers.http import HttpRoute, route_from_event
from local_stack.triggers.queue import QueueSource, queue_source_from_event
from local_stack.triggers.schedule import Schedule, schedule_from_event, schedule_v2_from_event
from local_stack.triggers.stream import StreamSource, stream_source_from_event

# One member per kind of trigger: HttpRoute | Schedule | <the next kind> | ...
type Trigger = HttpRoute | Schedule | QueueSource | StreamSource

# Reads one event's Properties, given the function's logical id and the event's name.
type EventReader = Callable[[str, str, Mapping[str, Any]], Trigger]

EVENT_TYPES: Mapping[str, EventReader] = {
    "HttpApi": route_from_event,
    "Schedule": schedule_from_event,
    "ScheduleV2": schedule_v2_from_event,
    "SQS": queue_source_from_event,
    "DynamoDB": stream_source_from_event,
}


def read_triggers(function_id: str, events: Mapping[str, Any], resolver: Resolver) -> tuple[Trigger, ...]:
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
        try:
            properties = resolver.resolve(event.get("Properties", {}))
        except TemplateError as error:
            raise TemplateError(f"{function_id} event {name}: {error}") from None
        triggers.append(reader(function_id, name, properties))
    return tuple(triggers)
