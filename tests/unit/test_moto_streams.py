"""The local stack's moto drops DynamoDB Streams shard iterators 15 minutes after issuing them, and
writes GetRecords answers byte for byte as moto's own serializer does."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model

from local_stack.moto_streams import (
    ITERATOR_LIFETIME_SECONDS,
    Unrenderable,
    compile_get_records,
    drop_expired,
)


def test_iterators_older_than_their_lifetime_are_dropped_oldest_first() -> None:
    now = 10_000.0
    iterators = {
        "old-1": SimpleNamespace(local_issued_at=now - ITERATOR_LIFETIME_SECONDS - 60),
        "old-2": SimpleNamespace(local_issued_at=now - ITERATOR_LIFETIME_SECONDS - 1),
        "fresh": SimpleNamespace(local_issued_at=now - 5),
        "newest": SimpleNamespace(local_issued_at=now),
    }
    assert drop_expired(iterators, now) == 2
    assert list(iterators) == ["fresh", "newest"]
    assert drop_expired(iterators, now) == 0


def test_an_iterator_issued_before_the_patch_is_kept() -> None:
    iterators = {"unstamped": SimpleNamespace()}
    assert drop_expired(iterators, 1e9) == 0
    assert list(iterators) == ["unstamped"]


def _moto_body(result: Any) -> str:
    """The body moto's own serializer writes for a GetRecords result."""
    operation = get_service_model("dynamodbstreams").operation_model("GetRecords")
    serializer = JSONSerializer(operation_model=operation, value_picker=XFormedAttributePicker())
    body = serializer.serialize(result)["body"]
    assert isinstance(body, str)
    return body


def _direct_body(result: Any) -> str:
    _, render = compile_get_records()
    return json.dumps(render(result))


class _Event(Enum):
    REMOVE = "REMOVE"


def _record(number: int, **dynamodb: Any) -> dict[str, Any]:
    return {
        "eventID": f"{number:032x}",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.0",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "ApproximateCreationDateTime": datetime(2031, 3, 14, 9, 26, 53, 589793),
            "SequenceNumber": str(1100000000017454423009 + number),
            "SizeBytes": 321,
            **dynamodb,
        },
    }


EVERY_TYPE = {
    "s": {"S": 'é \u2028 "quoted" \\ ✓'},
    "empty": {"S": ""},
    "n": {"N": "-1.5E+3"},
    "b": {"B": b"\x00\xffbytes"},
    "b_text": {"B": "c3RvcmVkIGFzIHRleHQ="},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", "dGV4dA=="]},
    "l": {"L": [{"S": "x"}, {"B": b"\x02"}, {"L": []}, {"M": {}}, {"NULL": True}, None]},
    "m": {"M": {"inner": {"M": {"deep": {"BS": [b"\x03"]}}}, "gone": None, "no": {"BOOL": False}}},
    "null": {"NULL": True},
    "yes": {"BOOL": True},
}


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"Records": [], "NextShardIterator": "arn:aws:dynamodb:...|1|abc"}, id="no records"),
        pytest.param(
            {
                "NextShardIterator": "arn|1|next",
                "Records": [
                    _record(
                        1,
                        Keys={"PK": {"S": "a"}, "SK": {"B": b"\x00"}},
                        NewImage=EVERY_TYPE,
                        OldImage=EVERY_TYPE,
                    ),
                    _record(2, Keys={"PK": {"S": "b"}}, NewImage=None, OldImage={"PK": {"S": "b"}}),
                    _record(
                        3, Keys={"PK": {"S": "c"}}, ApproximateCreationDateTime=datetime(2031, 1, 1, 0, 0, 0)
                    ),
                    _record(
                        4,
                        Keys={"PK": {"S": "d"}},
                        ApproximateCreationDateTime=datetime(
                            2031, 1, 1, 1, 0, 0, 999, tzinfo=timezone(timedelta(hours=2))
                        ),
                        SizeBytes="42",
                    ),
                    {
                        **_record(5, Keys={"PK": {"N": "5"}}),
                        "userIdentity": {"Type": "Service", "PrincipalId": "x"},
                    },
                    {**_record(6, Keys={"PK": {"N": 6}}), "eventName": _Event.REMOVE, "awsRegion": 7},
                ],
            },
            id="every type, absent and None members, timestamps",
        ),
        pytest.param({"Records": [None, _record(6, Keys={})], "NextShardIterator": None}, id="None items"),
        pytest.param(
            {"Records": [], "NextShardIterator": "x", "Unknown": 1}, id="a key no member is picked by"
        ),
        pytest.param(
            {
                "Records": [_record(1, Keys={"PK": {"S": "a", "Z": "b"}, "SK": {"Z": "c"}})],
                "NextShardIterator": "x",
            },
            id="unknown attribute types",
        ),
    ],
)
def test_get_records_renders_the_bytes_moto_serializer_writes(result: dict[str, Any]) -> None:
    assert _direct_body(result) == _moto_body(result)


@pytest.mark.parametrize(
    "result",
    [
        {"Records": [], "NextShardIterator": "x", "RecordList": []},
        {"Records": [{**_record(1, Keys={}), "event_id": "aliased"}], "NextShardIterator": "x"},
        {"Records": [_record(1, Keys={"PK": {"ss": ["a"]}})], "NextShardIterator": "x"},
        {"Records": [_record(1, Keys={"PK": ["not", "a", "dict"]})], "NextShardIterator": "x"},
    ],
    ids=[
        "a member's shape name",
        "a key moto's picker would alias",
        "an alias in a value",
        "not a structure",
    ],
)
def test_a_result_the_renderer_does_not_mirror_is_left_to_moto(result: dict[str, Any]) -> None:
    _, render = compile_get_records()
    with pytest.raises(Unrenderable):
        render(result)
    _moto_body(result)  # moto's serializer answers it its own way


READ_DURING_WRITE = textwrap.dedent(
    """
    import threading, time
    import boto3
    from moto import mock_aws
    from local_stack import moto_streams, moto_transactions

    moto_transactions.install()
    moto_streams.install()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        table = dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = table["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        finished = []
        with moto_transactions.WRITES:  # a write in progress
            reader = threading.Thread(
                target=lambda: finished.append(streams.get_records(ShardIterator=iterator))
            )
            reader.start()
            reader.join(0.5)
            print("read during the write:", bool(finished))
        reader.join(10)
        print("read after it:", bool(finished))
    """
)


def test_the_stream_is_not_read_while_a_write_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", READ_DURING_WRITE], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split("\n")[:2] == ["read during the write: False", "read after it: True"]
