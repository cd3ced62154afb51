"""Requests and items counted on the wire, from botocore's own events on the clients in use.

A `WireCounter` attaches handlers to a client's event system: `before-parameter-build` notes
what a call asks for (its index, how many items it writes or deletes), `before-send` counts
every HTTP request sent (a retry is a second request), and `after-call` reads what DynamoDB
answered (ScannedCount, Count, items returned). The handlers only read and never return a
value, so the calls go out and come back exactly as they would without them.

The moto server's request log is the independent check: every request a counter saw must be
a line in that log, and every line written while an arm ran must have been seen by a counter
(see `log_tally`). A client the counters were not attached to cannot go unnoticed.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
S3_DELETES = frozenset({"DeleteObject", "DeleteObjects"})


def items_read(operation: str, parsed: Mapping[str, Any]) -> int:
    """Items DynamoDB read to answer: a Scan or Query reads ScannedCount items (whatever its
    filter then drops), a GetItem or BatchGetItem the items it returned."""
    if operation in ("Scan", "Query"):
        return int(parsed.get("ScannedCount", 0))
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in parsed.get("Responses", {}).values())
    return 0


def items_written(operation: str, params: Mapping[str, Any]) -> int:
    """Items a DynamoDB write request asks to put, update or delete."""
    if operation == "TransactWriteItems":
        return len(params.get("TransactItems", []))
    if operation == "BatchWriteItem":
        return sum(len(requests) for requests in params.get("RequestItems", {}).values())
    return 1 if operation in DYNAMODB_WRITES else 0


def objects_deleted(operation: str, params: Mapping[str, Any]) -> int:
    """Keys an S3 delete request names."""
    if operation == "DeleteObjects":
        return len(params.get("Delete", {}).get("Objects", []))
    return 1 if operation == "DeleteObject" else 0


def read_key(operation: str, params: Mapping[str, Any]) -> str:
    """What a read is filed under: the operation, and the index it reads if any."""
    index = params.get("IndexName")
    return f"{operation} {index}" if index else operation


@dataclass
class WireCounts:
    """What the attached clients sent and were answered, by "<service>.<operation>"."""

    requests: Counter[str] = field(default_factory=Counter)  # HTTP requests sent, retries included
    calls: Counter[str] = field(default_factory=Counter)  # API calls answered
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # in each operation
    items_read: Counter[str] = field(default_factory=Counter)  # by read_key
    items_returned: Counter[str] = field(default_factory=Counter)  # by read_key
    items_written: Counter[str] = field(default_factory=Counter)
    objects_deleted: Counter[str] = field(default_factory=Counter)

    def service_requests(self, service: str) -> int:
        return sum(count for name, count in self.requests.items() if name.startswith(f"{service}."))

    def requests_of(self, service: str, operations: frozenset[str]) -> int:
        return sum(self.requests[f"{service}.{operation}"] for operation in operations)

    @property
    def dynamodb_items_read(self) -> int:
        return sum(self.items_read.values())

    @property
    def dynamodb_write_requests(self) -> int:
        return self.requests_of("dynamodb", DYNAMODB_WRITES)

    @property
    def s3_delete_requests(self) -> int:
        return self.requests_of("s3", S3_DELETES)

    def to_json(self) -> dict[str, dict[str, float]]:
        return {
            name: dict(getattr(self, name))
            for name in (
                "requests",
                "calls",
                "seconds",
                "items_read",
                "items_returned",
                "items_written",
                "objects_deleted",
            )
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, float]]) -> WireCounts:
        counts = cls()
        for name, values in data.items():
            getattr(counts, name).update(values)  # all empty so far: update is assignment
        return counts


class WireCounter:
    """Attaches to clients (boto3's, or the botocore clients PynamoDB creates) and counts."""

    def __init__(self) -> None:
        self.counts = WireCounts()
        self.first_call: dict[str, float] = {}  # "<service>.<operation>" -> perf_counter() of its first call
        self._lock = threading.Lock()  # the reconciler's downloads may run on other threads
        self._attached: set[int] = set()

    def attach(self, client: Any) -> None:
        if id(client) in self._attached:
            return  # one client reached two ways (a cached client) is counted once
        self._attached.add(id(client))
        service = client.meta.service_model.service_id.hyphenize()  # as botocore names its events
        events = client.meta.events
        unique = f"bench-wire-counter-{id(self)}"
        events.register(f"before-parameter-build.{service}", self._before_call, unique_id=f"{unique}-p")
        events.register(f"before-send.{service}", self._before_send, unique_id=f"{unique}-s")
        events.register(f"after-call.{service}", self._after_call, unique_id=f"{unique}-a")

    def _before_call(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        # The context travels with the call to after-call: what it asked for, and when.
        context["bench_params"] = {
            "read_key": read_key(model.name, params),
            "written": items_written(model.name, params),
            "deleted": objects_deleted(model.name, params),
        }
        context["bench_started"] = started = time.perf_counter()
        service = model.service_model.service_id.hyphenize()
        with self._lock:
            self.first_call.setdefault(f"{service}.{model.name}", started)

    def _before_send(self, event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".", 2)[1:]
        with self._lock:
            self.counts.requests[f"{service}.{operation}"] += 1

    def _after_call(
        self, parsed: Mapping[str, Any], model: Any, context: Mapping[str, Any], event_name: str, **_: Any
    ) -> None:
        elapsed = time.perf_counter() - context.get("bench_started", time.perf_counter())
        service, asked = event_name.split(".")[1], context.get("bench_params", {})
        with self._lock:
            record_call(self.counts, service, model.name, asked, parsed, elapsed)


def record_call(
    counts: WireCounts,
    service: str,
    operation: str,
    asked: Mapping[str, Any],
    parsed: Mapping[str, Any],
    elapsed: float,
) -> None:
    """One answered call in `counts`: what it read (even a failed read has read), what it wrote
    or deleted (only when it succeeded), and how long it took."""
    name = f"{service}.{operation}"
    failed = "Error" in parsed
    counts.calls[name] += 1
    counts.seconds[name] += elapsed
    if service == "dynamodb":
        if operation in DYNAMODB_READS:
            key = asked.get("read_key", operation)
            read = items_read(operation, parsed)
            counts.items_read[key] += read
            counts.items_returned[key] += int(parsed.get("Count", read))
        elif operation in DYNAMODB_WRITES and not failed:
            counts.items_written[name] += asked.get("written", 0)
    elif service == "s3" and operation in S3_DELETES and not failed:
        counts.objects_deleted[name] += asked.get("deleted", 0) - len(parsed.get("Errors", []))


# -- the emulator's request log -------------------------------------------------------------------

# werkzeug's access log: `127.0.0.1 - - [date] "POST / HTTP/1.1" 200 -`, colour codes and all.
_LOG_LINE = re.compile(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+) (\S+) HTTP/[0-9.]+(?:\x1b\[[0-9;]*m)*" (\d{3})')


def log_tally(text: str) -> Counter[str]:
    """Requests in a slice of moto's log, by service: DynamoDB's JSON protocol posts to "/",
    S3's REST paths name a bucket; moto's own API (/moto-api/) is left out."""
    tally: Counter[str] = Counter()
    for match in _LOG_LINE.finditer(text):
        _method, path, _status = match.groups()
        if path.startswith("/moto-api"):
            continue
        tally["dynamodb" if path == "/" else "s3"] += 1
    return tally


def mismatch(counts: WireCounts, logged: Mapping[str, int]) -> str | None:
    """Why the counters and the emulator's log disagree, or None if they agree."""
    problems = [
        f"{service}: counted {counts.service_requests(service)}, the emulator logged {logged.get(service, 0)}"
        for service in ("dynamodb", "s3")
        if counts.service_requests(service) != logged.get(service, 0)
    ]
    return "; ".join(problems) or None


# -- the targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepBounds:
    """The sweep's targets for `expired` records expired and `deleted` deleted."""

    items_read: int
    s3_delete_requests: int
    dynamodb_write_requests: int


READ_ALLOWANCE = 100  # a checkpoint, a page boundary or two
WRITE_ALLOWANCE = 10  # the checkpoint and the counter items


def sweep_bounds(expired: int, deleted: int) -> SweepBounds:
    """items read <= 1.2 x expired + a constant; S3 delete requests <= ceil(expired / 1000) + 1;
    DynamoDB write requests <= ceil(deleted / 25) + a constant."""
    return SweepBounds(
        items_read=math.floor(1.2 * expired) + READ_ALLOWANCE,
        s3_delete_requests=math.ceil(expired / 1000) + 1,
        dynamodb_write_requests=math.ceil(deleted / 25) + WRITE_ALLOWANCE,
    )


def per_day_delete_floor(per_day: Mapping[str, int], keys_per_request: int = 1000) -> int:
    """DeleteObjects requests a sweep needs when it never mixes days in one request."""
    return sum(math.ceil(count / keys_per_request) for count in per_day.values() if count)
