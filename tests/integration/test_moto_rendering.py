"""The local stack's moto (local_stack.moto_rendering) answers DynamoDB's item operations as moto as
shipped does, over HTTPS: the same requests go to both (puts, conditional failures, updates with
every ReturnValues, gets, paginated queries and scans, batches, transactions including a cancelled
one, deletes), and every answer is the same, as boto3 parses it and byte for byte on the wire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_stack.aws_emulator import AwsEmulator
from local_stack.moto_rendering import MARKER
from tests.integration.moto_pair import shipped_and_local

TABLE = "moto-rendering"
PARTITION = {"S": "image#partition"}
ITEMS = 23


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AwsEmulator, AwsEmulator]]:
    """(moto as shipped, the local stack's moto)."""
    with shipped_and_local(tmp_path_factory.mktemp("moto"), MARKER) as pair:
        yield pair


def _item(number: int) -> dict[str, Any]:
    """A record of every attribute type, nested M and L, ~30 attributes."""
    return {
        "PK": PARTITION,
        "SK": {"B": number.to_bytes(2, "big") + b"\xff"},
        "count": {"N": str(number * 1.5)},
        "text": {"S": 'é \u2028 "quoted" \\ ✓ </script>'},
        "empty": {"S": ""},
        "blob": {"B": b"\x00\x01 binary"},
        "names": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5", "-3E+2"]},
        "blobs": {"BS": [b"\x01", b"\x02"]},
        "list": {"L": [{"S": "x"}, {"B": b"\x03"}, {"L": []}, {"M": {}}, {"NULL": True}, {"N": "7"}]},
        "map": {
            "M": {
                "inner": {"M": {"deep": {"BS": [b"\x04"]}, "flag": {"BOOL": False}}},
                "rows": {"L": [{"M": {"n": {"N": "1"}}}, {"L": [{"BOOL": True}]}]},
            }
        },
        "nothing": {"NULL": True},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        **{f"field{index}": {"S": f"value {index} of {number}"} for index in range(16)},
    }


def _key(number: int) -> dict[str, Any]:
    return {"PK": PARTITION, "SK": _item(number)["SK"]}


type Call = Callable[[Any], Any]


def _calls() -> Iterator[tuple[str, Call]]:
    """The sequence of requests, each a name and a call on a DynamoDB client."""
    for number in range(ITEMS):
        yield f"put {number}", _request("put_item", TableName=TABLE, Item=_item(number))
    yield (
        "put ALL_OLD TOTAL",
        lambda c: c.put_item(
            TableName=TABLE,
            Item={**_item(1), "text": {"S": "overwritten"}},
            ReturnValues="ALL_OLD",
            ReturnConsumedCapacity="TOTAL",
        ),
    )
    yield (
        "put conditional failure",
        lambda c: c.put_item(
            TableName=TABLE,
            Item=_item(2),
            ConditionExpression="attribute_not_exists(PK)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
    )
    update = {
        "TableName": TABLE,
        "Key": _key(3),
        "UpdateExpression": "SET #count = #count + :one, added = :new REMOVE #blob ADD numbers :n",
        "ExpressionAttributeNames": {"#count": "count", "#blob": "blob"},
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":new": {"M": {"b": {"B": b"\x05"}}},
            ":n": {"NS": ["9"]},
        },
    }
    for returned in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW", "ALL_OLD", "NONE"):
        yield f"update {returned}", _request("update_item", **update, ReturnValues=returned)
    yield (
        "update of an absent item",
        lambda c: c.update_item(
            TableName=TABLE,
            Key=_key(900),
            UpdateExpression="SET tags = :tags",
            ExpressionAttributeValues={":tags": {"SS": ["made"]}},
            ReturnValues="ALL_NEW",
        ),
    )
    yield (
        "update conditional failure",
        lambda c: c.update_item(
            TableName=TABLE,
            Key=_key(4),
            UpdateExpression="SET text = :t",
            ConditionExpression="attribute_not_exists(PK)",
            ExpressionAttributeValues={":t": {"S": "never"}},
            ReturnValues="ALL_NEW",
        ),
    )
    yield "get", lambda c: c.get_item(TableName=TABLE, Key=_key(3))
    yield "get absent", lambda c: c.get_item(TableName=TABLE, Key=_key(901))
    yield (
        "get projected INDEXES",
        lambda c: c.get_item(
            TableName=TABLE,
            Key=_key(5),
            ProjectionExpression="#m.inner, #n, #y",
            ExpressionAttributeNames={"#m": "map", "#n": "names", "#y": "yes"},
            ReturnConsumedCapacity="INDEXES",
        ),
    )
    yield "query pages", lambda c: _pages(c.query, TableName=TABLE, Limit=7, **_partition())
    yield "query backwards, filtered", lambda c: _pages(
        c.query, TableName=TABLE, Limit=5, ScanIndexForward=False, FilterExpression="yes = :y",
        ExpressionAttributeValues={**_partition()["ExpressionAttributeValues"], ":y": {"BOOL": True}},
        KeyConditionExpression=_partition()["KeyConditionExpression"],
    )  # fmt: skip
    yield (
        "query an index INDEXES",
        lambda c: c.query(
            TableName=TABLE, IndexName="by-count", ReturnConsumedCapacity="INDEXES", **_partition()
        ),
    )
    yield "query COUNT", lambda c: c.query(TableName=TABLE, Select="COUNT", **_partition())
    yield "scan pages", lambda c: _pages(c.scan, TableName=TABLE, Limit=6)
    yield (
        "batch write",
        lambda c: c.batch_write_item(
            RequestItems={
                TABLE: [
                    {"PutRequest": {"Item": _item(30)}},
                    {"PutRequest": {"Item": _item(31)}},
                    {"DeleteRequest": {"Key": _key(6)}},
                ]
            }
        ),
    )
    yield (
        "batch get",
        lambda c: c.batch_get_item(
            RequestItems={TABLE: {"Keys": [_key(30), _key(6), _key(7)]}}, ReturnConsumedCapacity="TOTAL"
        ),
    )
    yield (
        "transaction",
        lambda c: c.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item(40)}},
                {"Delete": {"TableName": TABLE, "Key": _key(8)}},
                {"Update": {**update, "Key": _key(9)}},
            ]
        ),
    )
    yield (
        "transaction cancelled",
        lambda c: c.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item(41)}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key(10),
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        ),
    )
    yield (
        "transactional get INDEXES",
        lambda c: c.transact_get_items(
            TransactItems=[{"Get": {"TableName": TABLE, "Key": _key(n)}} for n in (40, 41, 9)],
            ReturnConsumedCapacity="INDEXES",
        ),
    )
    yield "delete ALL_OLD", lambda c: c.delete_item(TableName=TABLE, Key=_key(11), ReturnValues="ALL_OLD")
    yield (
        "delete absent",
        lambda c: c.delete_item(TableName=TABLE, Key=_key(902), ReturnConsumedCapacity="TOTAL"),
    )
    yield (
        "delete conditional failure",
        lambda c: c.delete_item(
            TableName=TABLE, Key=_key(12), ConditionExpression="attribute_not_exists(PK)"
        ),
    )
    yield "scan all", lambda c: c.scan(TableName=TABLE)


def _request(operation: str, **request: Any) -> Call:
    return lambda client: getattr(client, operation)(**request)


def _partition() -> dict[str, Any]:
    return {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": PARTITION}}


def _pages(operation: Callable[..., Any], **request: Any) -> list[Any]:
    """Every page of a query or a scan, following LastEvaluatedKey to the end."""
    pages = [operation(**request)]
    while "LastEvaluatedKey" in pages[-1]:
        pages.append(operation(**request, ExclusiveStartKey=pages[-1]["LastEvaluatedKey"]))
    return pages


def _without_metadata(answer: Any) -> Any:
    if isinstance(answer, list):
        return [_without_metadata(page) for page in answer]
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


def _run(server: AwsEmulator) -> tuple[list[tuple[str, Any]], list[tuple[str, int, dict[str, str], bytes]]]:
    """Each call's parsed answer (or error), and each response on the wire."""
    client = server.client("dynamodb")
    wire: list[tuple[str, int, dict[str, str], bytes]] = []

    def record(response_dict: dict[str, Any], operation_model: Any, **_: Any) -> None:
        headers = {name.lower(): value for name, value in response_dict["headers"].items()}
        kept = {name: headers.get(name, "") for name in ("content-type", "x-amz-crc32", "x-amzn-errortype")}
        wire.append((operation_model.name, response_dict["status_code"], kept, response_dict["body"]))

    client.meta.events.register("before-parse.dynamodb", record)
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "B"},
            {"AttributeName": "count", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-count",
                "KeySchema": [
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "count", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    wire.clear()
    answers: list[tuple[str, Any]] = []
    for name, call in _calls():
        try:
            answers.append((name, _without_metadata(call(client))))
        except ClientError as error:
            answers.append((name, _without_metadata(error.response)))
    return answers, wire


def test_dynamodb_answers_are_moto_s_own(servers: tuple[AwsEmulator, AwsEmulator]) -> None:
    (shipped, shipped_wire), (local, local_wire) = (_run(server) for server in servers)
    assert [name for name, _ in local] == [name for name, _ in shipped]
    for (name, mine), (_, theirs) in zip(local, shipped, strict=True):
        assert mine == theirs, name
    assert len(local_wire) == len(shipped_wire)
    for mine_wire, theirs_wire in zip(local_wire, shipped_wire, strict=True):
        assert mine_wire == theirs_wire, theirs_wire[0]
    # The sequence is what it says: every mirrored operation answered, and the failures failed.
    answered = {operation for operation, status, _, _ in shipped_wire if status == 200}
    assert answered >= {
        "PutItem", "UpdateItem", "GetItem", "DeleteItem", "Query", "Scan",
        "BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems",
    }  # fmt: skip
    errors = {
        name: answer["Error"]["Code"]
        for name, answer in shipped
        if isinstance(answer, dict) and "Error" in answer
    }
    assert errors == {
        "put conditional failure": "ConditionalCheckFailedException",
        "update conditional failure": "ConditionalCheckFailedException",
        "transaction cancelled": "TransactionCanceledException",
        "delete conditional failure": "ConditionalCheckFailedException",
    }
    pages = dict(shipped)
    assert len(pages["query pages"]) == 4  # 24 items, 7 a page, and the empty end
    assert sum(page["Count"] for page in pages["query pages"]) == ITEMS + 1
    assert pages["update ALL_NEW"]["Attributes"]["count"] == {"N": "5.5"}
    assert len(pages["update ALL_NEW"]["Attributes"]) >= 30
