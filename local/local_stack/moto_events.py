"""EventBridge deliveries as EventBridge makes them: installed in the local stack's moto server
(moto_server.py).

moto delivers an event matching a rule to the rule's SQS targets itself, but:

- it writes the message body from a text template by string replacement: the `account` field is
  missing, and a `detail` whose text contains a placeholder such as `<id>` or `<source>` (a prompt
  can) is rewritten, or no longer JSON;
- it delivers through rules whose State is DISABLED.

Here a target without an InputTransformer gets the whole event, every field EventBridge sends in
its order, as JSON (moto still formats the time); a disabled rule delivers nothing. Matching,
InputTransformer and every other target are moto's own.

Importing this module changes nothing; install() patches moto's EventBridge backend in the
importing process, once.
"""

from __future__ import annotations

import sys
from typing import Any

MARKER = "local stack: EventBridge delivers whole events, and only through enabled rules"
# The fields of an event as EventBridge sends it to a target, in its order.
ENVELOPE_FIELDS = (
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
)


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it: its fields only (moto's ingestion-time is not one)."""
    return {field: event[field] for field in ENVELOPE_FIELDS}


def install() -> bool:
    """Patches moto's EventBridge backend in this process; False when it was patched already."""
    import moto.events.models as models
    from moto.events.utils import EventTemplateParser

    parser: Any = EventTemplateParser
    rule: Any = models.Rule
    if getattr(parser.parse, "local_stack_patch", False):
        return False
    if not callable(getattr(parser, "parse", None)) or not callable(getattr(rule, "send_to_targets", None)):
        raise RuntimeError("moto's EventBridge backend changed: the delivery patch does not apply")
    original_parse = parser.parse
    original_send = rule.send_to_targets

    def parse(input_template: str | None, input_paths_map: dict[str, Any], event: dict[str, Any]) -> Any:
        if input_template is None and not input_paths_map:
            return envelope(event)
        return original_parse(input_template, input_paths_map, event)

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if str(getattr(self, "state", "ENABLED")).upper() == "DISABLED":
            return
        original_send(self, original_event, transform_input)

    parse.local_stack_patch = True  # type: ignore[attr-defined]
    parser.parse = staticmethod(parse)
    rule.send_to_targets = send_to_targets
    print(MARKER, file=sys.stderr, flush=True)
    return True
