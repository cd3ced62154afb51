"""The local stack's resources are created in the moto server from template.yaml itself.

Expectations are read from the template too: a resource added or changed there must show up
in the emulator without touching Python.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_stack.aws_emulator import LOCAL_ACCOUNT_ID
from local_stack.provision import (
    ProvisioningError,
    alarm_request,
    lifecycle_rule,
    local_bucket_policy,
    provision,
)
from local_stack.stack import LocalStack
from local_stack.template import Resolver, load_template, resources_of_type

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _client(stack: LocalStack, service: str) -> Any:
    return stack.aws.client(service)


def _properties(stack: LocalStack, logical_id: str) -> dict[str, Any]:
    assert stack.resolver is not None
    return stack.resolver.resolve(stack.resolver.template["Resources"][logical_id]["Properties"])  # type: ignore[no-any-return]


def test_bucket_is_configured_as_the_template_declares(stack: LocalStack) -> None:
    s3 = _client(stack, "s3")
    bucket = stack.endpoints()["resources"]["AssetsBucket"]
    declared = _properties(stack, "AssetsBucket")

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == declared["PublicAccessBlockConfiguration"]
    assert all(block.values())
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == declared["VersioningConfiguration"]["Status"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expected = [lifecycle_rule(rule) for rule in declared["LifecycleConfiguration"]["Rules"]]
    assert sorted(rule["ID"] for rule in rules) == sorted(rule["ID"] for rule in expected)
    by_id = {rule["ID"]: rule for rule in rules}
    for rule in expected:
        assert by_id[rule["ID"]]["Filter"] == rule["Filter"]
        assert by_id[rule["ID"]].get("Expiration") == rule.get("Expiration")


def test_bucket_policy_is_tls_only_and_tls_callers_get_through(stack: LocalStack) -> None:
    declared = _properties(stack, "AssetsBucketPolicy")["PolicyDocument"]
    [statement] = declared["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The local stack speaks HTTPS only, so the deny never applies, as for TLS clients in AWS.
    assert local_bucket_policy(declared)["Statement"] == []
    assert stack.aws.endpoint_url.startswith("https://")
    bucket = stack.endpoints()["resources"]["AssetsBucket"]
    s3 = _client(stack, "s3")
    s3.put_object(Bucket=bucket, Key="tls-check.txt", Body=b"ok")
    assert s3.get_object(Bucket=bucket, Key="tls-check.txt")["Body"].read() == b"ok"
    s3.delete_object(Bucket=bucket, Key="tls-check.txt")


def test_other_policy_statements_are_applied_as_declared() -> None:
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    secure_only = {**allow, "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert local_bucket_policy({"Statement": [allow, secure_only]})["Statement"] == [allow]


def test_table_has_the_declared_keys_indexes_ttl_and_backups(stack: LocalStack) -> None:
    dynamodb = _client(stack, "dynamodb")
    table_name = stack.endpoints()["resources"]["AssetsTable"]
    declared = _properties(stack, "AssetsTable")
    table = dynamodb.describe_table(TableName=table_name)["Table"]

    assert table["KeySchema"] == declared["KeySchema"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index["IndexName"] for index in declared["GlobalSecondaryIndexes"]}
    for index in declared["GlobalSecondaryIndexes"]:
        assert indexes[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert (
            indexes[index["IndexName"]]["Projection"]["ProjectionType"]
            == index["Projection"]["ProjectionType"]
        )
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": declared["TimeToLiveSpecification"]["AttributeName"],
    }
    backups = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_queues_and_buses_come_from_the_template_too(stack: LocalStack) -> None:
    resolver = Resolver(
        load_template(FIXTURES / "template.yaml"), "fixture-queues", "us-east-1", "123456789012"
    )
    created = provision(resolver, stack.aws)

    sqs = _client(stack, "sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=created["WorkQueue"], AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "180"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == resolver.attributes[("DeadLetters", "Arn")]
    assert int(redrive["maxReceiveCount"]) == 3
    buses = _client(stack, "events").list_event_buses(NamePrefix="fixture-queues")["EventBuses"]
    assert [bus["Name"] for bus in buses] == ["fixture-queues-bus"]


def test_an_unsupported_property_stops_provisioning(stack: LocalStack) -> None:
    template = {"Resources": {"Odd": {"Type": "AWS::SQS::Queue", "Properties": {"Unheard": 1}}}}
    with pytest.raises(ProvisioningError, match="Unheard"):
        provision(Resolver(template, "odd", "us-east-1", "123456789012"), stack.aws)


def _alarms(stack: LocalStack, prefix: str) -> dict[str, dict[str, Any]]:
    pages = _client(stack, "cloudwatch").get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix)
    return {alarm["AlarmName"]: alarm for page in pages for alarm in page["MetricAlarms"]}


def test_alarms_are_created_as_the_template_declares(stack: LocalStack) -> None:
    assert stack.resolver is not None
    declared = {
        logical_id: _properties(stack, logical_id)
        for logical_id in resources_of_type(stack.resolver.template, "AWS::CloudWatch::Alarm")
    }
    created = _alarms(stack, f"{stack.options.stack_name}-")
    assert set(created) == {properties["AlarmName"] for properties in declared.values()}
    for properties in declared.values():
        alarm = created[properties["AlarmName"]]
        assert alarm["Threshold"] == float(properties["Threshold"])
        for key in ("ComparisonOperator", "EvaluationPeriods", "TreatMissingData", "AlarmDescription"):
            assert alarm[key] == properties[key], (properties["AlarmName"], key)
        for key in ("Namespace", "MetricName", "Statistic", "ExtendedStatistic", "Period"):
            assert alarm.get(key) == properties.get(key), (properties["AlarmName"], key)
        assert alarm["Dimensions"] == properties.get("Dimensions", []), properties["AlarmName"]
        if "Metrics" in properties:
            assert [(query["Id"], query["Expression"], query["Period"]) for query in alarm["Metrics"]] == [
                (query["Id"], query["Expression"], query["Period"]) for query in properties["Metrics"]
            ]
        # No AlarmTopicArn by default: the alarms exist and change state, but notify nobody.
        assert alarm["AlarmActions"] == alarm["OKActions"] == []

    by_metric = {alarm.get("MetricName"): alarm for alarm in created.values()}
    spend = by_metric["EstimatedCostUsd"]
    assert (spend["Namespace"], spend["Statistic"], spend["Period"]) == ("IdeogramAssets", "Sum", 86400)
    assert spend["Threshold"] == float(stack.resolver.parameter("DailySpendAlarmUsd"))
    # The function alarms watch the functions the local stack runs, under the names it runs them.
    watched = {
        dimension["Value"]
        for alarm in created.values()
        if alarm.get("Namespace") == "AWS/Lambda"
        for dimension in alarm["Dimensions"]
    }
    assert watched == set(stack.runtimes)
    [failures] = [alarm for alarm in created.values() if alarm.get("Metrics")]
    assert "SUM(Failures)" in failures["Metrics"][0]["Expression"]


def test_alarms_notify_the_topic_named_by_the_parameter(stack: LocalStack) -> None:
    # The topic lives outside the stack, as an operations topic does in AWS.
    topic = _client(stack, "sns").create_topic(Name="ops-alarms")["TopicArn"]
    resolver = Resolver(
        load_template(),
        "alarm-topic",
        stack.options.region,
        LOCAL_ACCOUNT_ID,
        parameter_overrides={"AlarmTopicArn": topic, "DailySpendAlarmUsd": "5"},
    )
    provision(resolver, stack.aws)

    created = _alarms(stack, "alarm-topic-")
    assert len(created) == len(resources_of_type(resolver.template, "AWS::CloudWatch::Alarm"))
    for alarm in created.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic], alarm["AlarmName"]
    assert created["alarm-topic-daily-spend"]["Threshold"] == 5.0


def test_alarm_properties_translate_to_put_metric_alarm() -> None:
    request = alarm_request(
        "a",
        {
            "Metrics": [{"Id": "m", "Expression": "SELECT 1", "Period": "300", "ReturnData": "true"}],
            "Threshold": "2.5",
            "EvaluationPeriods": "3",
            "ActionsEnabled": "false",
        },
    )
    assert request == {
        "AlarmName": "a",
        "Metrics": [{"Id": "m", "Expression": "SELECT 1", "Period": 300, "ReturnData": True}],
        "Threshold": 2.5,
        "EvaluationPeriods": 3,
        "ActionsEnabled": False,
    }
    with pytest.raises(ProvisioningError, match="Unheard"):
        alarm_request("a", {"Unheard": 1})
    with pytest.raises(ProvisioningError, match="Unheard"):
        alarm_request("a", {"Metrics": [{"Id": "m", "Unheard": 1}]})
