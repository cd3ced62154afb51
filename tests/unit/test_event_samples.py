"""The sample events of IngestFunction and PublishFunction and the upstream examples are what the
code reads and writes, and what events/schemas/ describes. (test_sample_events.py and
test_ingest_samples.py run them through the real handlers on the local stack.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from ideogram_assets.events.publisher import changed_status
from ideogram_assets.events.requests import GenerationRequested
from ideogram_assets.events.results import announcement, detail_type
from ideogram_assets.ingest.messages import read_message
from local_stack.event_schemas import SCHEMAS_DIR
from local_stack.stack import StackOptions
from local_stack.template import PROJECT_ROOT

EVENTS = PROJECT_ROOT / "events"
INGEST_SAMPLES = sorted((EVENTS / "IngestFunction").glob("*.json"))
PUBLISH_SAMPLES = sorted((EVENTS / "PublishFunction").glob("*.json"))
UPSTREAM = sorted((EVENTS / "upstream").glob("*.json"))


def _valid(detail_type_name: str, detail: Any) -> bool:
    schema = json.loads((SCHEMAS_DIR / f"{detail_type_name}.json").read_text())
    return bool(jsonschema_rs.validator_for(schema).is_valid(detail))


def _records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(path.read_text())["Records"]
    assert records, path
    return records


def test_there_are_samples_of_each_kind() -> None:
    names = {path.name for path in INGEST_SAMPLES}
    assert {
        "event-generation-requested.json",
        "direct-generation-requested.json",
        "reproduction-requested.json",
        "batch-item.json",
    } <= names
    assert {"stored.json", "lost.json"} <= {path.name for path in PUBLISH_SAMPLES}
    assert UPSTREAM


@pytest.mark.parametrize("sample", INGEST_SAMPLES, ids=lambda path: path.name)
def test_each_queue_sample_is_a_request_the_ingest_reads_and_the_schema_describes(sample: Path) -> None:
    for record in _records(sample):
        work = read_message(record)
        body = json.loads(record["body"])
        detail = body.get("detail", body)
        kind = body.get("detail-type", "GenerationRequested")
        assert _valid(kind, detail), detail
        assert type(work.request).__name__ == kind
        if "messageAttributes" in record and "batchId" in record["messageAttributes"]:
            assert work.source == "batch"
            assert work.batch_id == record["messageAttributes"]["batchId"]["stringValue"]
            assert work.batch_item == record["messageAttributes"]["batchItem"]["stringValue"]
            # As POST /batches sends an item: its idempotency key names the batch and the item.
            assert work.idempotency_key == f"batch-{work.batch_id}-{work.batch_item}"


def test_the_bus_event_sample_is_the_upstream_example_as_the_rule_delivers_it() -> None:
    [record] = _records(EVENTS / "IngestFunction" / "event-generation-requested.json")
    delivered = json.loads(record["body"])
    [entry] = json.loads((EVENTS / "upstream" / "generation-requested.json").read_text())
    assert delivered["source"] == entry["Source"]
    assert delivered["detail-type"] == entry["DetailType"]
    assert delivered["detail"] == json.loads(entry["Detail"])
    assert read_message(record).idempotency_key == delivered["detail"]["client_request_id"]


def test_a_direct_message_without_a_request_id_is_known_by_its_message_id() -> None:
    [record] = _records(EVENTS / "IngestFunction" / "direct-generation-requested.json")
    assert "client_request_id" not in json.loads(record["body"])
    work = read_message(record)
    assert isinstance(work.request, GenerationRequested)
    assert work.idempotency_key == work.correlation_id == f"sqs-{record['messageId']}"


@pytest.mark.parametrize("sample", PUBLISH_SAMPLES, ids=lambda path: path.name)
def test_each_stream_sample_is_a_change_the_publisher_announces_as_its_schema_says(sample: Path) -> None:
    for record in _records(sample):
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        changed = changed_status(record)
        assert changed is not None, "the sample changes a record's status to STORED, FAILED or LOST"
        detail = announcement(changed)
        assert _valid(detail_type(detail), detail.model_dump(mode="json")), detail


@pytest.mark.parametrize("example", UPSTREAM, ids=lambda path: path.name)
def test_each_upstream_example_is_put_events_entries_the_schemas_describe(example: Path) -> None:
    entries = json.loads(example.read_text())
    assert 1 <= len(entries) <= 10  # PutEvents takes up to 10 entries a call
    # The local stack's bus (the template names it <stack name>-assets).
    bus = f"{StackOptions().stack_name}-assets"
    for entry in entries:
        assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName"}
        assert entry["EventBusName"] == bus
        assert not entry["Source"].startswith("aws."), "sources starting with aws. are AWS's own"
        assert _valid(entry["DetailType"], json.loads(entry["Detail"])), entry
