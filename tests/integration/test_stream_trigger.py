"""The local stack reads a table's stream for a function as Lambda's DynamoDB event source mapping
does: Lambda's event, order, BatchSize, FilterCriteria, partial batch responses, bisection on
error, MaximumRetryAttempts and the SQS on-failure destination.

One LocalStack runs an inline template (event_source_world.py); items say what the handler should
do (their `action`), and it logs every invocation.
"""

from __future__ import annotations

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
STACK_NAME = "stream-triggers"

TABLE = """
  Type: AWS::DynamoDB::Table
  Properties:
    BillingMode: PAY_PER_REQUEST
    AttributeDefinitions:
      - {AttributeName: PK, AttributeType: S}
      - {AttributeName: SK, AttributeType: S}
    KeySchema:
      - {AttributeName: PK, KeyType: HASH}
      - {AttributeName: SK, KeyType: RANGE}
    StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
"""
RECORD_FILTER = (
    '{"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"SK": {"S": ["META"]}},'
    ' "NewImage": {"status": {"S": ["STORED", "FAILED", "LOST"]}}}}'
)
RESOURCES = f"""
ShapeTable:{TABLE}
BisectTable:{TABLE}
ReportTable:{TABLE}
StreamFailures:
  Type: AWS::SQS::Queue
ShapeFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Changes:
        Type: DynamoDB
        Properties: {{Stream: !GetAtt ShapeTable.StreamArn, StartingPosition: TRIM_HORIZON, BatchSize: 10}}
FilterFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Changes:
        Type: DynamoDB
        Properties:
          Stream: !GetAtt ShapeTable.StreamArn
          StartingPosition: TRIM_HORIZON
          FilterCriteria:
            Filters:
              - Pattern: '{RECORD_FILTER}'
              - Pattern: '{{"dynamodb": {{"NewImage": {{"note": {{"S": [{{"prefix": "urgent"}}]}}}}}}}}'
BisectFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Changes:
        Type: DynamoDB
        Properties:
          Stream: !GetAtt BisectTable.StreamArn
          StartingPosition: TRIM_HORIZON
          BatchSize: 4
          MaximumBatchingWindowInSeconds: 1
          BisectBatchOnFunctionError: true
          MaximumRetryAttempts: 1
          DestinationConfig:
            OnFailure: {{Type: SQS, Destination: !GetAtt StreamFailures.Arn}}
ReportFunction:
  Type: AWS::Serverless::Function
  Properties:
    CodeUri: worker/
    Events:
      Changes:
        Type: DynamoDB
        Properties:
          Stream: !GetAtt ReportTable.StreamArn
          StartingPosition: TRIM_HORIZON
          BatchSize: 5
          MaximumBatchingWindowInSeconds: 1
          FunctionResponseTypes: [ReportBatchItemFailures]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    directory = tmp_path_factory.mktemp("stream-triggers")
    template = write_world(directory, RESOURCES)
    with LocalStack(options(directory, template, STACK_NAME)) as stack:
        yield stack, directory


def _table(stack: LocalStack, logical_id: str) -> str:
    return str(stack.endpoints()["resources"][logical_id])


def _put(stack: LocalStack, table: str, pk: str, sk: str = "META", **attributes: str) -> None:
    item = {"PK": {"S": pk}, "SK": {"S": sk}} | {name: {"S": value} for name, value in attributes.items()}
    stack.aws.client("dynamodb", REGION).put_item(TableName=_table(stack, table), Item=item)


def _batches(directory: Path, function: str, tag: str, succeeded: bool | None = None) -> list[list[str]]:
    """The PKs (carrying `tag`) of each invocation's records, in order; only the invocations that
    succeeded (True) or failed (False) when asked."""
    batches = []
    for entry in invocations(directory, function):
        if succeeded is not None and ("raised" not in entry) != succeeded:
            continue
        keys = [record["dynamodb"]["Keys"]["PK"]["S"] for record in entry["event"]["Records"]]
        if any(tag in key for key in keys):
            batches.append(keys)
    return batches


def _records(directory: Path, function: str, tag: str) -> list[dict[str, Any]]:
    return [
        record
        for entry in invocations(directory, function)
        for record in entry["event"]["Records"]
        if tag in record["dynamodb"]["Keys"]["PK"]["S"]
    ]


def test_the_function_gets_lambdas_dynamodb_event(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    dynamodb, table = stack.aws.client("dynamodb", REGION), _table(stack, "ShapeTable")
    key = f"shape-{uuid.uuid4().hex}"
    _put(stack, "ShapeTable", key, status="PENDING")
    dynamodb.update_item(
        TableName=table,
        Key={"PK": {"S": key}, "SK": {"S": "META"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "STORED"}},
    )
    dynamodb.delete_item(TableName=table, Key={"PK": {"S": key}, "SK": {"S": "META"}})
    wait_for(lambda: len(_records(directory, "ShapeFunction", key)) == 3, what="3 records")
    inserted, modified, removed = _records(directory, "ShapeFunction", key)
    assert [inserted["eventName"], modified["eventName"], removed["eventName"]] == [
        "INSERT",
        "MODIFY",
        "REMOVE",
    ]
    stream_arn = stack.resolver.get_att("ShapeTable", "StreamArn") if stack.resolver else None
    for record in (inserted, modified, removed):
        assert set(record) >= {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"}
        assert (record["eventSource"], record["awsRegion"]) == ("aws:dynamodb", REGION)
        assert record["eventSourceARN"] == stream_arn
        assert record["dynamodb"]["Keys"] == {"PK": {"S": key}, "SK": {"S": "META"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
    assert str(stream_arn).startswith(f"arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT_ID}:table/")
    assert "OldImage" not in inserted["dynamodb"]
    assert inserted["dynamodb"]["NewImage"]["status"] == {"S": "PENDING"}
    assert modified["dynamodb"]["OldImage"]["status"] == {"S": "PENDING"}
    assert modified["dynamodb"]["NewImage"]["status"] == {"S": "STORED"}
    assert "NewImage" not in removed["dynamodb"]
    assert removed["dynamodb"]["OldImage"]["status"] == {"S": "STORED"}
    sequence = [int(record["dynamodb"]["SequenceNumber"]) for record in (inserted, modified, removed)]
    assert sequence == sorted(sequence)


def test_records_arrive_in_order_in_batches_of_at_most_batch_size(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = f"order-{uuid.uuid4().hex}"
    keys = [f"{tag}-{number:02d}" for number in range(25)]
    for key in keys:
        _put(stack, "ShapeTable", key)
    wait_for(lambda: len(_records(directory, "ShapeFunction", tag)) == 25, what="25 records")
    batches = _batches(directory, "ShapeFunction", tag)
    assert [key for batch in batches for key in batch if tag in key] == keys
    assert max(len(batch) for batch in batches) <= 10


def test_only_records_a_filter_matches_reach_the_function(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = f"filter-{uuid.uuid4().hex}"
    _put(stack, "ShapeTable", f"{tag}-stored", status="STORED")  # INSERT, META, STORED: matches
    _put(stack, "ShapeTable", f"{tag}-pending", status="PENDING")  # not a final status
    _put(stack, "ShapeTable", f"{tag}-other", sk="TAG#x", status="STORED")  # not the META item
    _put(stack, "ShapeTable", f"{tag}-pending", status="FAILED")  # MODIFY to a final status: matches
    _put(stack, "ShapeTable", f"{tag}-note", sk="TAG#y", note="urgent: look")  # the second filter
    stack.aws.client("dynamodb", REGION).delete_item(
        TableName=_table(stack, "ShapeTable"), Key={"PK": {"S": f"{tag}-stored"}, "SK": {"S": "META"}}
    )
    # Every change has reached the unfiltered mapping of the same stream: the filtered one is done too.
    wait_for(lambda: len(_records(directory, "ShapeFunction", tag)) == 6, what="the unfiltered mapping")
    wait_for(lambda: len(_records(directory, "FilterFunction", tag)) >= 3, what="the filtered mapping")
    seen = [
        (record["eventName"], record["dynamodb"]["Keys"]["PK"]["S"])
        for record in _records(directory, "FilterFunction", tag)
    ]
    assert seen == [("INSERT", f"{tag}-stored"), ("MODIFY", f"{tag}-pending"), ("INSERT", f"{tag}-note")]


def test_a_failing_record_is_isolated_by_bisection_then_sent_to_the_on_failure_queue(
    world: tuple[LocalStack, Path],
) -> None:
    stack, directory = world
    tag = f"bisect-{uuid.uuid4().hex}"
    keys = [f"{tag}-a", f"{tag}-poison", f"{tag}-c", f"{tag}-d"]
    for key in keys:
        _put(stack, "BisectTable", key, action="raise" if key.endswith("poison") else "none")
    sqs = stack.aws.client("sqs", REGION)
    failures_url = stack.endpoints()["queues"]["StreamFailures"]["url"]
    received: list[dict[str, Any]] = []

    def failure_recorded() -> bool:
        messages = sqs.receive_message(QueueUrl=failures_url, MaxNumberOfMessages=10).get("Messages", [])
        received.extend(json.loads(message["Body"]) for message in messages)
        return bool(received)

    wait_for(failure_recorded, what="the on-failure record")
    wait_for(lambda: [f"{tag}-c", f"{tag}-d"] in _batches(directory, "BisectFunction", tag, succeeded=True))
    # The batch of 4 fails, then its half with the poison, then the poison alone and its one retry.
    assert [len(batch) for batch in _batches(directory, "BisectFunction", tag, succeeded=False)] == [
        4,
        2,
        1,
        1,
    ]
    assert _batches(directory, "BisectFunction", tag, succeeded=True) == [[keys[0]], [keys[2], keys[3]]]
    [record] = received
    [poison] = [
        r for r in _records(directory, "BisectFunction", tag) if r["dynamodb"]["Keys"]["PK"]["S"] == keys[1]
    ][:1]
    sequence = poison["dynamodb"]["SequenceNumber"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # the try and MaximumRetryAttempts: 1
    assert record["requestContext"]["functionArn"] == (
        f"arn:aws:lambda:{REGION}:{LOCAL_ACCOUNT_ID}:function:BisectFunction"
    )
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["version"] == "1.0"
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequence,
        sequence,
        1,
    )
    assert info["streamArn"] == poison["eventSourceARN"]
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")


def test_a_partial_response_retries_from_the_first_reported_record(world: tuple[LocalStack, Path]) -> None:
    stack, directory = world
    tag = f"report-{uuid.uuid4().hex}"
    keys = [f"{tag}-{name}" for name in "abcde"]
    for key in keys:
        _put(stack, "ReportTable", key, action="report_once" if key.endswith("-c") else "none")
    wait_for(lambda: len(_batches(directory, "ReportFunction", tag)) == 2, what="the retry")
    assert _batches(directory, "ReportFunction", tag) == [keys, keys[2:]]
