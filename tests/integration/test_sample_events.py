"""Every function has sample events in events/<LogicalId>/, and its real handler accepts them.

The handlers run in their own local execution environments against the moto server, as the
gateway runs them; `sam local invoke -e events/...` takes the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_stack.lambda_runtime import FunctionRuntime
from local_stack.stack import LocalStack
from local_stack.template import PROJECT_ROOT, load_template, resources_of_type

EVENTS = PROJECT_ROOT / "events"
FUNCTIONS = sorted(resources_of_type(load_template(), "AWS::Serverless::Function"))
SAMPLES = sorted(EVENTS.glob("*/*.json"))


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_has_sample_events(logical_id: str) -> None:
    assert list((EVENTS / logical_id).glob("*.json")), f"add a sample event under events/{logical_id}/"


def test_every_sample_belongs_to_a_function() -> None:
    assert {path.parent.name for path in SAMPLES} <= set(FUNCTIONS)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_the_handler_answers_its_sample_event(stack: LocalStack, sample: Path) -> None:
    runtime: FunctionRuntime = stack.runtimes[sample.parent.name]
    event = json.loads(sample.read_text())
    result = runtime.invoke(event)
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
