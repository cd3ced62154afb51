"""EventBridge rules and queue policies created from a template in the AWS emulator: an event put
on the bus reaches the rule's queue as EventBridge sends it (the whole event), only when the rule
matches and is enabled; Ref and GetAtt give what CloudFormation gives; what cannot be honoured
locally is refused at start."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack.aws_emulator import LOCAL_ACCOUNT_ID, AwsEmulator
from local_stack.provision import ProvisioningError, provision
from local_stack.template import Resolver

REGION = "us-east-1"
STACK = "rules"


def _template(rule_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    requests_arn = {"Fn::GetAtt": ["Requests", "Arn"]}
    return {
        "Resources": {
            "Bus": {
                "Type": "AWS::Events::EventBus",
                "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-bus"}},
            },
            "Requests": {"Type": "AWS::SQS::Queue"},
            "Paused": {"Type": "AWS::SQS::Queue"},
            "RequestsPolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "Requests"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": requests_arn,
                                "Condition": {
                                    "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["RequestedRule", "Arn"]}}
                                },
                            }
                        ],
                    },
                },
            },
            "RequestedRule": {
                "Type": "AWS::Events::Rule",
                "Properties": rule_properties
                or {
                    "Description": "Requests go to the queue.",
                    "EventBusName": {"Ref": "Bus"},
                    "EventPattern": {"detail-type": ["GenerationRequested", "ReproductionRequested"]},
                    "Targets": [{"Id": "Requests", "Arn": requests_arn}],
                },
            },
            "PausedRule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventBusName": {"Ref": "Bus"},
                    "State": "DISABLED",
                    "EventPattern": {"source": [{"prefix": "upstream"}]},
                    "Targets": [{"Id": "Paused", "Arn": {"Fn::GetAtt": ["Paused", "Arn"]}}],
                },
            },
        }
    }


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsEmulator]:
    with AwsEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def provisioned(aws: AwsEmulator) -> Resolver:
    resolver = Resolver(_template(), STACK, REGION, LOCAL_ACCOUNT_ID)
    provision(resolver, aws)
    return resolver


def _put(aws: AwsEmulator, detail_type: str, detail: dict[str, Any], source: str = "upstream.cms") -> str:
    entry = {
        "EventBusName": f"{STACK}-bus",
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "Resources": ["arn:aws:cms:item/1"],
    }
    response = aws.client("events").put_events(Entries=[entry])
    assert response["FailedEntryCount"] == 0
    return str(response["Entries"][0]["EventId"])


def _receive(aws: AwsEmulator, resolver: Resolver, queue: str) -> list[dict[str, Any]]:
    """What the queue holds: the emulator delivers while PutEvents runs, so no need to wait."""
    sqs = aws.client("sqs")
    url = resolver.physical_ids[queue]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return list(messages)


def test_a_matching_event_reaches_the_queue_as_eventbridge_sends_it(
    aws: AwsEmulator, provisioned: Resolver
) -> None:
    # Text that looks like the emulator's own placeholders, and quotes, stay as they were sent.
    detail = {"prompt": 'a sign that says "<id>" and <source>, <detail-type>', "num_images": 2}
    event_id = _put(aws, "GenerationRequested", detail)
    [message] = _receive(aws, provisioned, "Requests")
    body = json.loads(message["Body"])
    assert list(body) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert body["version"] == "0"
    assert body["id"] == event_id
    assert (body["detail-type"], body["source"]) == ("GenerationRequested", "upstream.cms")
    assert (body["account"], body["region"]) == (LOCAL_ACCOUNT_ID, REGION)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["time"])
    assert body["resources"] == ["arn:aws:cms:item/1"]
    assert body["detail"] == detail


def test_an_event_the_pattern_does_not_match_goes_nowhere(aws: AwsEmulator, provisioned: Resolver) -> None:
    _put(aws, "ImagePersisted", {"id": "x"})
    assert _receive(aws, provisioned, "Requests") == []


def test_a_disabled_rule_delivers_nothing(aws: AwsEmulator, provisioned: Resolver) -> None:
    _put(aws, "ReproductionRequested", {"generation_id": "0" * 32})
    assert len(_receive(aws, provisioned, "Requests")) == 1  # the enabled rule matched it
    assert _receive(aws, provisioned, "Paused") == []
    rule = aws.client("events").describe_rule(Name=f"{STACK}-PausedRule", EventBusName=f"{STACK}-bus")
    assert rule["State"] == "DISABLED"


def test_ref_and_get_att_are_cloudformations(aws: AwsEmulator, provisioned: Resolver) -> None:
    name = f"{STACK}-RequestedRule"
    assert provisioned.ref("RequestedRule") == f"{STACK}-bus|{name}"
    arn = provisioned.get_att("RequestedRule", "Arn")
    assert arn == f"arn:aws:events:{REGION}:{LOCAL_ACCOUNT_ID}:rule/{STACK}-bus/{name}"
    events = aws.client("events")
    rule = events.describe_rule(Name=name, EventBusName=f"{STACK}-bus")
    assert (rule["Arn"], rule["State"], rule["Description"]) == (arn, "ENABLED", "Requests go to the queue.")
    [target] = events.list_targets_by_rule(Rule=name, EventBusName=f"{STACK}-bus")["Targets"]
    assert target == {"Id": "Requests", "Arn": provisioned.get_att("Requests", "Arn")}


def test_the_queue_policy_is_set_on_its_queue(aws: AwsEmulator, provisioned: Resolver) -> None:
    url = provisioned.physical_ids["Requests"]
    policy = json.loads(
        aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"][
            "Policy"
        ]
    )
    [statement] = policy["Statement"]
    assert statement["Resource"] == provisioned.get_att("Requests", "Arn")
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == provisioned.get_att("RequestedRule", "Arn")
    assert provisioned.ref("RequestsPolicy") == f"{STACK}-requestspolicy"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ScheduleExpression": "rate(1 minute)"}, "ScheduleExpression does not fire locally"),
        ({"RoleArn": "arn:aws:iam::1:role/x"}, r"properties \['RoleArn'\] are not supported locally"),
        (
            {"EventPattern": {"detail": {"n": [{"between": [1, 2]}]}}},
            "the operator 'between' is not evaluated locally",
        ),
        ({"Targets": [{"Id": "F", "Arn": "arn:aws:lambda:us-east-1:1:function:f"}]}, "only SQS queues"),
        (
            {"Targets": [{"Id": "Q", "Arn": {"Fn::GetAtt": ["Requests", "Arn"]}, "Input": "{}"}]},
            r"properties \['Input'\] are not supported locally",
        ),
    ],
)
def test_what_the_local_stack_cannot_honour_stops_it(
    aws: AwsEmulator, change: dict[str, Any], message: str
) -> None:
    properties = {
        "EventBusName": {"Ref": "Bus"},
        "EventPattern": {"detail-type": ["GenerationRequested"]},
        "Targets": [{"Id": "Requests", "Arn": {"Fn::GetAtt": ["Requests", "Arn"]}}],
    } | change
    resolver = Resolver(
        _template(properties), f"refused-{abs(hash(message)) % 10_000}", REGION, LOCAL_ACCOUNT_ID
    )
    with pytest.raises(ProvisioningError, match=f"RequestedRule.*{message}"):
        provision(resolver, aws)
