"""SQS and DynamoDB events read from a template (what the local stack polls, with Lambda's limits),
and Lambda's rules for partial batch responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_stack.batch_invocations import failed_items
from local_stack.functions import FunctionSpec, load_functions
from local_stack.template import Resolver, TemplateError
from local_stack.triggers.queue import QueueSource
from local_stack.triggers.stream import StreamSource

ACCOUNT = "111122223333"
REGION = "eu-west-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:requests"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/assets/stream/2026-01-01T00:00:00.000"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:publish-dlq"


def _spec(events: dict[str, Any], overrides: dict[str, str] | None = None) -> FunctionSpec:
    template = {
        "Parameters": {"InflightLimit": {"Type": "Number", "Default": 10}},
        "Globals": {"Function": {"Handler": "app.handler"}},
        "Resources": {
            "IngestFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "functions/ingest/", "Events": events},
            }
        },
    }
    resolver = Resolver(template, "assets", REGION, ACCOUNT, parameter_overrides=overrides or {})
    [spec] = load_functions(resolver, base_dir=Path("/project"))
    return spec


def _queue(**properties: Any) -> QueueSource:
    [source] = _spec(
        {"Requests": {"Type": "SQS", "Properties": {"Queue": QUEUE_ARN, **properties}}}
    ).queue_sources
    return source


def _stream(**properties: Any) -> StreamSource:
    event = {
        "Type": "DynamoDB",
        "Properties": {"Stream": STREAM_ARN, "StartingPosition": "TRIM_HORIZON", **properties},
    }
    [source] = _spec({"Changes": event}).stream_sources
    return source


def test_an_sqs_event_as_the_ingest_declares_it() -> None:
    event = {
        "Type": "SQS",
        "Properties": {
            "Queue": QUEUE_ARN,
            "BatchSize": "1",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": {"Ref": "InflightLimit"}},
        },
    }
    [source] = _spec({"Requests": event}, {"InflightLimit": "6"}).queue_sources
    assert source == QueueSource(
        function_id="IngestFunction",
        event_name="Requests",
        queue_arn=QUEUE_ARN,
        batch_size=1,
        batching_window_seconds=0,
        report_batch_item_failures=True,
        maximum_concurrency=6,
        enabled=True,
        event_filter=None,
    )
    assert (source.name, source.queue_name) == ("IngestFunction.Requests", "requests")


def test_an_sqs_event_has_lambdas_defaults() -> None:
    source = _queue()
    assert (source.batch_size, source.batching_window_seconds, source.maximum_concurrency) == (10, 0, None)
    assert source.report_batch_item_failures is False


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"BatchSize": 0}, "BatchSize must be between 1 and 10000"),
        ({"BatchSize": 11}, "a BatchSize above 10 needs a MaximumBatchingWindowInSeconds"),
        ({"BatchSize": "ten"}, "BatchSize must be a whole number"),
        ({"MaximumBatchingWindowInSeconds": 301}, "between 0 and 300"),
        ({"ScalingConfig": {"MaximumConcurrency": 1}}, "MaximumConcurrency must be between 2 and 1000"),
        ({"ScalingConfig": {"Other": 1}}, "ScalingConfig takes MaximumConcurrency only"),
        ({"FunctionResponseTypes": ["Other"]}, "FunctionResponseTypes takes"),
        ({"Enabled": "maybe"}, "Enabled must be true or false"),
        ({"KmsKeyArn": "arn:aws:kms:x"}, r"properties \['KmsKeyArn'\] are not run locally"),
        ({"FilterCriteria": {"Filters": [{"Pattern": '{"body": [{"wildcard": "*"}]}'}]}}, "wildcard"),
    ],
)
def test_an_sqs_event_the_local_stack_cannot_run_as_declared_stops_it(
    properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError, match=f"IngestFunction event Requests: .*{message}"):
        _queue(**properties)


def test_a_fifo_queue_takes_batches_of_ten_at_most() -> None:
    event = {"Type": "SQS", "Properties": {"Queue": QUEUE_ARN + ".fifo", "BatchSize": 20}}
    with pytest.raises(TemplateError, match="between 1 and 10, not 20"):
        _spec({"Requests": event})


def test_the_queue_must_be_named_by_its_arn() -> None:
    event = {"Type": "SQS", "Properties": {"Queue": "https://sqs.local/123/requests"}}
    with pytest.raises(TemplateError, match="Queue must be a queue's ARN"):
        _spec({"Requests": event})


def test_a_dynamodb_event_as_the_publisher_declares_it() -> None:
    source = _stream(
        BatchSize=100,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Type": "SQS", "Destination": DLQ_ARN}},
        FilterCriteria={"Filters": [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}]},
    )
    assert (source.stream_arn, source.starting_position, source.batch_size) == (
        STREAM_ARN,
        "TRIM_HORIZON",
        100,
    )
    assert (source.batching_window_seconds, source.bisect_on_error, source.maximum_retry_attempts) == (
        1,
        True,
        10,
    )
    assert (source.report_batch_item_failures, source.on_failure_queue_arn) == (True, DLQ_ARN)
    assert source.maximum_record_age_seconds == -1
    assert source.event_filter is not None
    assert source.event_filter.passes({"eventName": "MODIFY"})
    assert not source.event_filter.passes({"eventName": "REMOVE"})


def test_a_dynamodb_event_has_lambdas_defaults() -> None:
    source = _stream()
    assert (source.batch_size, source.batching_window_seconds, source.maximum_retry_attempts) == (100, 0, -1)
    assert (source.bisect_on_error, source.on_failure_queue_arn, source.event_filter) == (False, None, None)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"StartingPosition": "AT_TIMESTAMP"}, "StartingPosition must be TRIM_HORIZON or LATEST"),
        ({"BatchSize": 10_001}, "BatchSize must be between 1 and 10000"),
        ({"MaximumRetryAttempts": -2}, "MaximumRetryAttempts must be between -1 and 10000"),
        ({"MaximumRecordAgeInSeconds": 30}, "MaximumRecordAgeInSeconds must be -1 or at least 60"),
        ({"ParallelizationFactor": 2}, "ParallelizationFactor above 1"),
        ({"TumblingWindowInSeconds": 60}, r"\['TumblingWindowInSeconds'\] are not run locally"),
        (
            {"DestinationConfig": {"OnFailure": {"Type": "SNS", "Destination": "arn:aws:sns:x:y:z"}}},
            "on-failure destination must be an SQS queue",
        ),
        ({"DestinationConfig": {"OnSuccess": {}}}, "DestinationConfig takes OnFailure only"),
        (
            {
                "FilterCriteria": {
                    "Filters": [{"Pattern": '{"dynamodb": {"Keys": [{"cidr": "10.0.0.0/8"}]}}'}]
                }
            },
            "the operator 'cidr' is not evaluated locally",
        ),
    ],
)
def test_a_dynamodb_event_the_local_stack_cannot_run_as_declared_stops_it(
    properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError, match=f"IngestFunction event Changes: .*{message}"):
        _stream(**properties)


def test_the_stream_must_be_a_tables_stream_arn() -> None:
    event = {"Type": "DynamoDB", "Properties": {"Stream": "arn:aws:kinesis:x", "StartingPosition": "LATEST"}}
    with pytest.raises(TemplateError, match="Stream must be a table's stream ARN"):
        _spec({"Changes": event})


BATCH = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, frozenset()),
        ({}, frozenset()),
        ({"batchItemFailures": None}, frozenset()),
        ({"batchItemFailures": []}, frozenset()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, frozenset({"m2"})),
        (
            {"batchItemFailures": [{"itemIdentifier": "m3"}, {"itemIdentifier": "m1"}]},
            frozenset({"m1", "m3"}),
        ),
        ("OK", None),  # not a JSON object
        ({"batchItemFailures": "m2"}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "m2"}]}, None),  # a bad key name
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, None),  # in no record of the batch
    ],
)
def test_a_partial_batch_response_is_read_by_lambdas_rules(
    response: Any, failed: frozenset[str] | None
) -> None:
    assert failed_items(response, BATCH)[0] == failed
