"""Every function has sample events in events/<LogicalId>/, and its real handler accepts them.

The handlers run in their own local execution environments against the moto server, as the
gateway runs them; `sam local invoke -e events/...` takes the same files. events/schemas/ (the
events' JSON Schemas) and events/upstream/ (`aws events put-events` entries) are not a function's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_stack.lambda_runtime import FunctionRuntime
from local_stack.stack import LocalStack
from local_stack.template import PROJECT_ROOT, load_template, resources_of_type

EVENTS = PROJECT_ROOT / "events"
NOT_A_FUNCTION = frozenset({"schemas", "upstream"})
FUNCTIONS = sorted(resources_of_type(load_template(), "AWS::Serverless::Function"))
SAMPLES = sorted(path for path in EVENTS.glob("*/*.json") if path.parent.name not in NOT_A_FUNCTION)
# Queue and stream samples whose records are meant to fail, by message id. The reproduction
# names an original that no stack holds (a reproduction needs a stored record; see
# test_ingest_samples.py for it reproducing one): refused, so it goes back to the queue.
EXPECTED_FAILURES = {
    "IngestFunction/reproduction-requested.json": ["c81e728d-9d4c-4f63-a067-0e5b0c7f2b19"],
}


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_has_sample_events(logical_id: str) -> None:
    assert list((EVENTS / logical_id).glob("*.json")), f"add a sample event under events/{logical_id}/"


def test_every_sample_belongs_to_a_function() -> None:
    assert {path.parent.name for path in SAMPLES} <= set(FUNCTIONS)


def test_every_expected_failure_names_a_record_of_its_sample() -> None:
    for name, identifiers in EXPECTED_FAILURES.items():
        records = json.loads((EVENTS / name).read_text())["Records"]
        assert set(identifiers) <= {record.get("messageId") or record.get("eventID") for record in records}


def _check_partial_batch_reply(sample: Path, event: dict[str, Any], result: Any) -> None:
    """An SQS or DynamoDB stream event: the reply is Lambda's partial batch response."""
    assert isinstance(result, dict), result
    assert set(result) == {"batchItemFailures"}, result
    failed = [failure["itemIdentifier"] for failure in result["batchItemFailures"]]
    if event["Records"][0]["eventSource"] == "aws:dynamodb":
        # A stream resumes from the first failure: its identifier is the record's sequence number.
        identifiers = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
    else:
        identifiers = [record["messageId"] for record in event["Records"]]
    assert set(failed) <= set(identifiers), result
    assert failed == EXPECTED_FAILURES.get(_name(sample), []), result


@pytest.mark.parametrize("sample", SAMPLES, ids=_name)
def test_the_handler_answers_its_sample_event(stack: LocalStack, sample: Path) -> None:
    runtime: FunctionRuntime = stack.runtimes[sample.parent.name]
    event = json.loads(sample.read_text())
    result = runtime.invoke(event)
    if "Records" in event:  # a queue's or a stream's batch
        _check_partial_batch_reply(sample, event, result)
        return
    if "exportId" in event:  # the export worker's payload: the reply is its run's summary
        assert result["exportId"] == event["exportId"], result
        return
    if "routeKey" not in event:  # a scheduled task's payload: the reply is its summary
        assert result["task"] == event["task"], result
        assert result["complete"] is True, result
        return
    # An API event: a JSON reply, never a server error (a sample may name a record that does not exist).
    assert 200 <= result["statusCode"] < 500, result
    assert json.loads(result["body"])
