"""The local stack's moto (local_stack.moto_streams) answers DynamoDB Streams' GetRecords with the
answers moto as shipped gives, over HTTPS: the same writes go to both, for each stream view type,
and boto3 reads back the same records; the raw JSON bodies hold the same fields, in the same order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_stack.aws_emulator import AwsEmulator
from local_stack.moto_streams import RENDERING_MARKER
from tests.integration.moto_pair import shipped_and_local

VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
EVENT_ID = re.compile(r"[0-9a-f]{32}")
# What _write streams: 4 puts, an overwrite and an update, an update of an absent item (moto streams
# it twice), a transaction's put and delete, a batch's put and delete, a delete.
EVENTS = ["INSERT"] * 4 + ["MODIFY"] * 2 + ["INSERT"] * 2 + ["INSERT", "REMOVE"] * 2 + ["REMOVE"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AwsEmulator, AwsEmulator]]:
    """(moto as shipped, the local stack's moto)."""
    with shipped_and_local(tmp_path_factory.mktemp("moto"), RENDERING_MARKER) as pair:
        yield pair


def _every_type(number: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"item-{number}"},
        "SK": {"B": bytes([number, 0, 255])},
        "text": {"S": 'é \u2028 "quoted" \\ ✓'},
        "empty": {"S": ""},
        "count": {"N": str(number * 1.5)},
        "blob": {"B": b"\x00\x01 binary"},
        "names": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"\x01", b"\x02"]},
        "list": {"L": [{"S": "x"}, {"B": b"\x03"}, {"L": []}, {"M": {}}, {"NULL": True}, {"N": "7"}]},
        "map": {
            "M": {"inner": {"M": {"deep": {"BS": [b"\x04"]}, "flag": {"BOOL": False}}}, "tags": {"SS": ["t"]}}
        },
        "nothing": {"NULL": True},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
    }


def _write(client: Any, table: str) -> None:
    """Puts, an overwrite, updates (SET, REMOVE, ADD to sets), a transaction, a batch, deletes."""
    for number in range(4):
        client.put_item(TableName=table, Item=_every_type(number))
    key = {"PK": {"S": "item-1"}, "SK": {"B": bytes([1, 0, 255])}}
    client.put_item(TableName=table, Item={**_every_type(1), "text": {"S": "overwritten"}})
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #count = #count + :one, added = :new REMOVE #blob, nothing "
        "ADD numbers :n, blobs :b",
        ExpressionAttributeNames={"#count": "count", "#blob": "blob"},
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":new": {"M": {"b": {"B": b"\x05"}}},
            ":n": {"NS": ["9"]},
            ":b": {"BS": [b"\x06"]},
        },
    )
    client.update_item(  # an absent item: created by the update
        TableName=table,
        Key={"PK": {"S": "new"}, "SK": {"B": b"\x07"}},
        UpdateExpression="SET tags = :tags",
        ExpressionAttributeValues={":tags": {"SS": ["made"]}},
    )
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": _every_type(10)}},
            {"Delete": {"TableName": table, "Key": {"PK": {"S": "item-2"}, "SK": {"B": bytes([2, 0, 255])}}}},
        ]
    )
    client.batch_write_item(
        RequestItems={
            table: [
                {"PutRequest": {"Item": _every_type(20)}},
                {"DeleteRequest": {"Key": {"PK": {"S": "item-3"}, "SK": {"B": bytes([3, 0, 255])}}}},
            ]
        }
    )
    client.delete_item(TableName=table, Key=key)


def _read(server: AwsEmulator, table: str, limit: int) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Every record of the table's stream, read `limit` at a time to the end, and the raw bodies."""
    client, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    bodies: list[bytes] = []
    streams.meta.events.register(
        "before-parse.dynamodb-streams.GetRecords",
        lambda response_dict, **_: bodies.append(response_dict["body"]),
    )
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while True:
        answer = streams.get_records(ShardIterator=iterator, Limit=limit)
        assert answer["NextShardIterator"].startswith(f"{arn}|1|")
        records += answer["Records"]
        if not answer["Records"]:
            return records, bodies
        iterator = answer["NextShardIterator"]


def _without_volatile(record: dict[str, Any]) -> dict[str, Any]:
    """The record without what differs from one server to the other, once its form is checked."""
    assert EVENT_ID.fullmatch(record["eventID"])
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(created, datetime)
    assert created.tzinfo is not None
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=10)
    assert isinstance(record["dynamodb"]["SizeBytes"], int)
    assert record["dynamodb"]["SizeBytes"] > 0
    dynamodb = {
        key: value
        for key, value in record["dynamodb"].items()
        if key not in ("ApproximateCreationDateTime", "SizeBytes")
    }
    return {**{key: value for key, value in record.items() if key != "eventID"}, "dynamodb": dynamodb}


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_get_records_answers_as_moto_as_shipped_does(
    servers: tuple[AwsEmulator, AwsEmulator], view_type: str
) -> None:
    table = f"stream-records-{view_type.lower().replace('_', '-')}"
    for server in servers:
        server.client("dynamodb").create_table(
            TableName=table,
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "B"},
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
        )
        _write(server.client("dynamodb"), table)
    for limit in (1000, 3):
        (shipped, shipped_bodies), (local, local_bodies) = (_read(server, table, limit) for server in servers)
        assert [_without_volatile(record) for record in local] == [
            _without_volatile(record) for record in shipped
        ]
        # The raw bodies: the same fields in the same order, the last one the end of the shard.
        assert len(local_bodies) == len(shipped_bodies)
        for mine, theirs in zip(local_bodies, shipped_bodies, strict=True):
            _same_fields(json.loads(mine), json.loads(theirs), "GetRecords")
        assert list(json.loads(local_bodies[0])) == ["Records", "NextShardIterator"]
        assert json.loads(local_bodies[-1])["Records"] == []
    events = [record["eventName"] for record in shipped]
    assert events == EVENTS
    images = {key for record in shipped for key in record["dynamodb"] if key.endswith("Image")}
    assert (
        images
        == {
            "KEYS_ONLY": set(),
            "NEW_IMAGE": {"NewImage"},
            "OLD_IMAGE": {"OldImage"},
            "NEW_AND_OLD_IMAGES": {"NewImage", "OldImage"},
        }[view_type]
    )


def _same_fields(local: Any, shipped: Any, path: str) -> None:
    """Walks both parsed bodies together: the same keys in the same order, the same values, except
    where a value is the server's own (then the same JSON type and form)."""
    assert type(local) is type(shipped), path
    if isinstance(shipped, dict):
        assert list(local) == list(shipped), path
        for key in shipped:
            _same_fields(local[key], shipped[key], f"{path}.{key}")
    elif isinstance(shipped, list):
        assert len(local) == len(shipped), path
        for index, (mine, theirs) in enumerate(zip(local, shipped, strict=True)):
            _same_fields(mine, theirs, f"{path}[{index}]")
    elif path.endswith((".eventID", ".NextShardIterator")):
        assert len(local) == len(shipped), path
    elif path.endswith(".ApproximateCreationDateTime"):
        assert isinstance(local, int | float), path
        assert round(local, 3) == local, path  # seconds to the millisecond, as moto writes them
    elif path.endswith(".SizeBytes"):
        assert isinstance(local, int), path
    else:
        assert local == shipped, path
