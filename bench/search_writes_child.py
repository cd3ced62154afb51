"""Storing one image through the record store, every write recorded, in a fresh process.

    python -m bench.search_writes_child '<job as JSON>' <result path>

The job names the table, the bucket and which planned record (bench.search_fixture) to store.
The record goes through the generation service's three writes, as the service makes them: the
PENDING record created (RecordStore.create), Ideogram's answer (RecordStore.commit) and the
stored image with its index items (RecordStore.update), then the counter updates
(RecordStore.flush_counters). Every DynamoDB write request any of the store's clients sends is
recorded with each item it names, as the table held it just before and just after the request
(read with GetItem on a client of its own). The result is written as JSON to the result path.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3

from bench.search_fixture import PRICE_USD, RecordBuilder, plan
from ideogram_assets.records import lifecycle
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import RecordStore
from ideogram_assets.retention.policy import RetentionPolicy

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
POLICY = RetentionPolicy(short_days=30, standard_days=365, grace_days=7)


def keys_named(operation: str, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key) of every item a write request names, in order."""
    if operation == "TransactWriteItems":
        named = []
        for entry in params.get("TransactItems", []):
            [(kind, request)] = entry.items()
            key = (
                request["Key"] if "Key" in request else {name: request["Item"][name] for name in ("PK", "SK")}
            )
            if kind != "ConditionCheck":
                named.append((request["TableName"], key))
        return named
    if operation == "BatchWriteItem":
        return [
            (table, request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])
            for table, requests in params.get("RequestItems", {}).items()
            for request in requests
        ]
    if operation == "PutItem":
        return [(params["TableName"], {name: params["Item"][name] for name in ("PK", "SK")})]
    return [(params["TableName"], params["Key"])]


class WriteRecorder:
    """Records every write request of the clients it is attached to, items before and after."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self.step = "unnamed"
        self.steps: list[dict[str, Any]] = []

    def _read(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        pk_sk = {name: key[name] for name in ("PK", "SK")}
        answer = self._reader.get_item(TableName=table, Key=pk_sk, ConsistentRead=True)
        item = answer.get("Item")
        return dict(item) if item else None

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register(
            "before-parameter-build.dynamodb", self._before, unique_id=f"bench-writes-{id(self)}-b"
        )
        events.register("after-call.dynamodb", self._after, unique_id=f"bench-writes-{id(self)}-a")

    def _before(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name not in WRITES:
            return
        named = keys_named(model.name, params)
        context["bench_named"] = named
        context["bench_before"] = [self._read(table, key) for table, key in named]

    def _after(self, parsed: Mapping[str, Any], model: Any, context: Mapping[str, Any], **_: Any) -> None:
        if model.name not in WRITES or "bench_named" not in context:
            return
        if "Error" in parsed:
            raise RuntimeError(f"{model.name} failed: {parsed['Error']}")
        named = context["bench_named"]
        after = [self._read(table, key) for table, key in named]
        writes = [
            {"before": before, "after": now}
            for before, now in zip(context["bench_before"], after, strict=True)
        ]
        self.steps.append({"name": self.step, "operation": model.name, "writes": writes})

    @contextmanager
    def named(self, step: str) -> Iterator[None]:
        self.step = step
        try:
            yield
        finally:
            self.step = "unnamed"


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    number = int(job["record"])
    planned = list(plan(number + 1))[number]
    client = boto3.client("dynamodb")
    records = RecordStore(job["table"], None, client)
    recorder = WriteRecorder(boto3.client("dynamodb"))
    for attached in (
        client,
        GenerationRecord._get_connection().connection.client,
        records._connection.client,
    ):
        recorder.attach(attached)
    builder = RecordBuilder(job["bucket"], POLICY)

    record = builder.pending(planned)
    with recorder.named("create PENDING"):
        records.create([record])
    answered_at = planned.created + timedelta(seconds=5)
    image = builder.image(planned, record)
    answer = lifecycle.answered(
        record,
        image,
        url_expires_at=answered_at + timedelta(hours=1),
        cost_usd=PRICE_USD[planned.model],
        now=answered_at,
    )
    with recorder.named("Ideogram's answer"):
        records.commit([(record, answer)])
    stored = lifecycle.stored(
        record, builder.stored_object(planned, record), answered_at + timedelta(seconds=3), POLICY
    )
    with recorder.named("STORED, with index items"):
        records.update(record, stored)
    with recorder.named("counters"):
        records.flush_counters()
    final = recorder._read(job["table"], {"PK": {"S": record.pk}, "SK": {"S": record.sk}})
    return {
        "record": number,
        "words": len(record.index_words or ()),
        "tags": len(record.tags or ()),
        "steps": recorder.steps,
        "stored": final,
    }


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    result = run_job(json.loads(argv[1]))
    Path(argv[2]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
