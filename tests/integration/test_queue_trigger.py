"""The local stack polls a function's SQS queue as Lambda's event source mapping does: Lambda's
event, BatchSize and the batching window, MaximumConcurrency, partial batch responses, all-or-nothing
batches, visibility timeouts, redrive to the dead-letter queue after maxReceiveCount, filters.

One LocalStack runs an inline template (event_source_world.py) with a queue and a function for
each behaviour; messages say what the handler should do, and it logs every invocation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.aws_emulator import LOCAL_ACCOUNT_ID
from local_stack.stack import LocalStack
from tests.integration.event_source_world import invocations, options, wait_for, write_world

REGION = "us-east-1"
STACK_NAME = "queue-triggers"

RESOURCES = """
DeadLetters:
  Type: AWS::SQS::Queue
WholeDeadLetters:
  Type: AWS::SQS::Queue
ShapeQueue:
  Type: AWS::SQS::Queue
  Properties: {VisibilityTimeout: 30}
ConcurrencyQueue:
  Type: AWS::SQS::Queue
  Properties: {VisibilityTimeout: 30}
PartialQueue:
  Type: AWS::SQS::Queue
  Properties:
    VisibilityTimeout: 1
    RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetters.Arn, maxReceiveCount: 2}
WholeQueue:
  Type: AWS::SQS::Queue
  Properties:
    VisibilityTimeout: 2  # the batching window and the function's timeout
    RedrivePolicy: {deadLetterTargetArn: !GetAtt WholeDeadLetters.Arn, maxReceiveCount: 2}
VisibilityQueue:
  Type: AWS::SQS::Queue
  Properties: {VisibilityTimeout: 3}
HideQueue:
  Type: AWS::SQS::Queue
  Properties: {VisibilityTimeout: 30}
FilterQueue:
  Type: AWS::SQS::Queue
PausedQueue:
  Type: AWS::SQS::Queue
ShapeFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Work:
        Type: SQS
        Properties: {Queue: !GetAtt ShapeQueue.Arn, BatchSize: 3, MaximumBatchingWindowInSeconds: 1}
ConcurrencyFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Work:
        Type: SQS
        Properties:
          Queue: !GetAtt ConcurrencyQueue.Arn
          BatchSize: 1
          ScalingConfig: {MaximumConcurrency: 2}
PartialFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Timeout: 1  # at most the queue's VisibilityTimeout, as Lambda requires
    Events:
      Work:
        Type: SQS
        Properties:
          Queue: !GetAtt PartialQueue.Arn
          BatchSize: 5
          FunctionResponseTypes: [ReportBatchItemFailures]
WholeFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Timeout: 1
    Events:
      Work:
        Type: SQS
        Properties: {Queue: !GetAtt WholeQueue.Arn, BatchSize: 3, MaximumBatchingWindowInSeconds: 1}
VisibilityFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Work:
        Type: SQS
        Properties:
          Queue: !GetAtt VisibilityQueue.Arn
          BatchSize: 1
          FunctionResponseTypes: [ReportBatchItemFailures]
HideFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Work:
        Type: SQS
        Properties:
          Queue: !GetAtt HideQueue.Arn
          BatchSize: 1
          FunctionResponseTypes: [ReportBatchItemFailures]
FilterFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Work:
        Type: SQS
        Properties:
          Queue: !GetAtt FilterQueue.Arn
          FilterCriteria:
            Filters:
              - Pattern: '{"body": {"kind": ["wanted"]}}'
PausedFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Work:
        Type: SQS
        Properties: {Queue: !GetAtt PausedQueue.Arn, Enabled: false}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    directory = tmp_path_factory.mktemp("queue-triggers")
    template = write_world(directory, RESOURCES)
    with LocalStack(options(directory, template, STACK_NAME)) as stack:
        yield stack, directory


def _sqs(stack: LocalStack) -> Any:
    return stack.aws.client("sqs", REGION)


def _url(stack: LocalStack, logical_id: str) -> str:
    return str(stack.endpoints()["queues"][logical_id]["url"])


def _send(stack: LocalStack, queue: str, bodies: list[dict[str, Any]]) -> list[str]:
    """Sends the bodies in one SendMessageBatch; their message ids, in order."""
    entries = [{"Id": str(number), "MessageBody": json.dumps(body)} for number, body in enumerate(bodies)]
    response = _sqs(stack).send_message_batch(QueueUrl=_url(stack, queue), Entries=entries)
    by_entry = {item["Id"]: item["MessageId"] for item in response["Successful"]}
    return [by_entry[str(number)] for number in range(len(bodies))]


def _records(directory: Path, function: str, tag: str) -> list[list[dict[str, Any]]]:
    """The batches the function got for messages carrying `tag`, one list per invocation."""
    batches = []
    for entry in invocations(directory, function):
        records = [record for record in entry["event"]["Records"] if tag in record["body"]]
        if records:
            batches.append(records)
    return batches


def _deliveries(directory: Path, function: str, tag: str) -> dict[str, list[str]]:
    """Message id → the ApproximateReceiveCount of each delivery, for messages carrying `tag`."""
    seen: dict[str, list[str]] = {}
    for batch in _records(directory, function, tag):
        for record in batch:
            seen.setdefault(record["messageId"], []).append(record["attributes"]["ApproximateReceiveCount"])
    return seen


def _messages_left(stack: LocalStack, queue: str) -> int:
    attributes = _sqs(stack).get_queue_attributes(
        QueueUrl=_url(stack, queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _drain(stack: LocalStack, queue: str) -> list[dict[str, Any]]:
    messages = _sqs(stack).receive_message(
        QueueUrl=_url(stack, queue), MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )
    return list(messages.get("Messages", []))


def test_the_function_gets_lambdas_sqs_event(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    body = json.dumps({"tag": tag})
    sent = _sqs(stack).send_message(
        QueueUrl=_url(stack, "ShapeQueue"),
        MessageBody=body,
        MessageAttributes={
            "batchId": {"DataType": "String", "StringValue": "b-1"},
            "weight": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )
    wait_for(lambda: bool(_records(directory, "ShapeFunction", tag)), what="the invocation")
    [[record]] = _records(directory, "ShapeFunction", tag)
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", REGION)
    assert record["eventSourceARN"] == f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT_ID}:{STACK_NAME}-shapequeue"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"] == {
        "batchId": {
            "stringValue": "b-1",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "weight": {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\xff").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    wait_for(lambda: _messages_left(stack, "ShapeQueue") == 0, what="the message's deletion")


def test_batches_hold_at_most_batch_size_messages_gathered_over_the_window(
    world: tuple[LocalStack, Path],
) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    sent = _send(stack, "ShapeQueue", [{"tag": tag, "n": n} for n in range(7)])
    wait_for(lambda: sum(map(len, _records(directory, "ShapeFunction", tag))) >= 7, what="7 records")
    batches = _records(directory, "ShapeFunction", tag)
    assert sorted(len(batch) for batch in batches) == [1, 3, 3]  # BatchSize 3, the window fills them
    assert sorted(record["messageId"] for batch in batches for record in batch) == sorted(sent)
    wait_for(lambda: _messages_left(stack, "ShapeQueue") == 0, what="the deletions")


def test_maximum_concurrency_caps_the_invocations_running_at_once(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    _send(stack, "ConcurrencyQueue", [{"tag": tag, "sleep": 0.6} for _ in range(5)])
    wait_for(lambda: len(_records(directory, "ConcurrencyFunction", tag)) == 5, what="5 invocations")
    spans = [
        (entry["start"], entry["end"])
        for entry in invocations(directory, "ConcurrencyFunction")
        if tag in json.dumps(entry["event"])
    ]
    # The most invocations running at one moment (at some invocation's start).
    most = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert most == 2
    assert len({entry["pid"] for entry in invocations(directory, "ConcurrencyFunction")}) <= 2


def test_a_reported_failure_comes_back_and_reaches_the_dead_letter_queue_while_the_rest_succeeds(
    world: tuple[LocalStack, Path],
) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    [*good, poison] = _send(
        stack, "PartialQueue", [{"tag": tag} for _ in range(4)] + [{"tag": tag, "report": 1}]
    )
    wait_for(
        lambda: any(tag in message["Body"] for message in _drain(stack, "DeadLetters")),
        what="the failed message in the dead-letter queue",
    )
    wait_for(lambda: len(_deliveries(directory, "PartialFunction", tag).get(poison, [])) >= 2)
    deliveries = _deliveries(directory, "PartialFunction", tag)
    assert {message: deliveries[message] for message in good} == {message: ["1"] for message in good}
    assert deliveries[poison] == ["1", "2"]  # maxReceiveCount 2: the third receive moves it
    assert _messages_left(stack, "PartialQueue") == 0


def test_an_invalid_partial_response_fails_the_whole_batch(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    sent = _send(stack, "PartialQueue", [{"tag": tag}, {"tag": tag, "bad_report": 1}])
    wait_for(
        lambda: (
            all(len(counts) == 2 for counts in _deliveries(directory, "PartialFunction", tag).values())
            and len(_deliveries(directory, "PartialFunction", tag)) == 2
        ),
        what="both messages delivered twice",
    )
    assert set(_deliveries(directory, "PartialFunction", tag)) == set(sent)


def test_without_partial_responses_an_error_fails_the_whole_batch(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    sent = _send(stack, "WholeQueue", [{"tag": tag}, {"tag": tag}, {"tag": tag, "raise": 1}])
    dead: list[dict[str, Any]] = []

    def all_dead() -> bool:
        dead.extend(message for message in _drain(stack, "WholeDeadLetters") if tag in message["Body"])
        return len(dead) == 3

    wait_for(all_dead, what="the whole batch in the dead-letter queue")
    assert _deliveries(directory, "WholeFunction", tag) == {message: ["1", "2"] for message in sent}
    assert {message["MessageId"] for message in dead} == set(sent)


def _second_delivery(directory: Path, function: str, tag: str) -> dict[str, Any] | None:
    """The first receipt, the function's ChangeMessageVisibility and the second invocation of the
    one message carrying `tag`, as epoch seconds."""
    times: dict[str, Any] = {}
    for entry in invocations(directory, function):
        [record] = entry["event"]["Records"]
        if tag not in record["body"]:
            continue
        times["first_receipt"] = int(record["attributes"]["ApproximateFirstReceiveTimestamp"]) / 1000
        if record["attributes"]["ApproximateReceiveCount"] == "1":
            times["hidden_at"] = entry["hidden_at"]
        else:
            times["again_at"] = entry["start"]
    return times if "again_at" in times else None


def test_a_failed_message_comes_back_after_the_queues_visibility_timeout(
    world: tuple[LocalStack, Path],
) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    _send(stack, "VisibilityQueue", [{"tag": tag, "report": 1, "once": 1}])
    wait_for(
        lambda: _second_delivery(directory, "VisibilityFunction", tag) is not None, what="the second delivery"
    )
    times = _second_delivery(directory, "VisibilityFunction", tag)
    assert times is not None
    assert times["again_at"] - times["first_receipt"] >= 2.9  # the queue's VisibilityTimeout: 3 s
    wait_for(lambda: _messages_left(stack, "VisibilityQueue") == 0, what="the deletion")


def test_the_function_may_shorten_a_failed_messages_visibility(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    _send(stack, "HideQueue", [{"tag": tag, "report": 1, "once": 1, "hide_for": 0}])
    wait_for(lambda: _second_delivery(directory, "HideFunction", tag) is not None, what="the second delivery")
    times = _second_delivery(directory, "HideFunction", tag)
    assert times is not None
    # Back as soon as the function made it visible, long before the queue's 30 s.
    assert times["again_at"] - times["hidden_at"] < 1.5
    assert times["again_at"] - times["first_receipt"] < 20  # the queue would hide it for 30 s
    wait_for(lambda: _messages_left(stack, "HideQueue") == 0, what="the deletion")


def test_messages_the_filter_does_not_match_are_deleted_unseen(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = uuid.uuid4().hex
    sqs, url = _sqs(stack), _url(stack, "FilterQueue")
    [wanted, unwanted] = _send(
        stack, "FilterQueue", [{"tag": tag, "kind": "wanted"}, {"tag": tag, "kind": "other"}]
    )
    sqs.send_message(QueueUrl=url, MessageBody=f"plain text {tag}")
    wait_for(lambda: _messages_left(stack, "FilterQueue") == 0, what="every message deleted")
    seen = [record["messageId"] for batch in _records(directory, "FilterFunction", tag) for record in batch]
    assert seen == [wanted]
    assert unwanted not in seen


def test_a_disabled_mapping_leaves_its_queue_alone(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    assert stack.event_sources is not None
    assert "PausedFunction.Work" not in stack.event_sources.names
    _send(stack, "PausedQueue", [{"tag": "paused"}])
    assert _messages_left(stack, "PausedQueue") == 1
    assert invocations(directory, "PausedFunction") == []


def test_the_endpoints_name_every_queue(world: tuple[LocalStack, Path]) -> None:
    stack, _ = world
    queues = stack.endpoints()["queues"]
    assert set(queues) >= {"DeadLetters", "ShapeQueue", "PartialQueue", "WholeQueue"}
    shape = queues["ShapeQueue"]
    assert shape["name"] == f"{STACK_NAME}-shapequeue"
    assert shape["arn"] == f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT_ID}:{STACK_NAME}-shapequeue"
    assert shape["url"] == stack.endpoints()["resources"]["ShapeQueue"]
