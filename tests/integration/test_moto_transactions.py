"""The local stack's moto (local_stack.moto_transactions): transactions answer and undo exactly
as moto's own do, over HTTPS, while the backup no longer copies the whole table per item.

The same transactions run against moto as shipped and against the local stack's server, and
every item of the table is compared afterwards: what one stores, the other stores. The
benchmarks' moto (bench/moto_site) installs the same patch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_stack.aws_emulator import AwsEmulator
from local_stack.moto_transactions import MARKER

MOTO_SITE = Path(__file__).resolve().parents[2] / "bench" / "moto_site"
TABLE = "moto-transactions"
RECORDS = 250  # moto as shipped copies all of them once per transaction item


def _item(index: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"GEN#{index:05d}"},
        "SK": {"S": "META"},
        "status": {"S": "STORED"},
        "expiresOn": {"S": "2031-03-14" if index < 200 else "2032-01-01"},
        "count": {"N": "1"},
        **{f"field{number}": {"S": "x" * 40} for number in range(20)},
    }


def _create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "expiresOn", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByExpiryDay",
                "KeySchema": [{"AttributeName": "expiresOn", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, RECORDS, 25):
        batch = [{"PutRequest": {"Item": _item(index)}} for index in range(start, start + 25)]
        client.batch_write_item(RequestItems={TABLE: batch})


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AwsEmulator, AwsEmulator]]:
    """(moto as shipped, the local stack's moto)."""
    logs = tmp_path_factory.mktemp("moto")
    with (
        AwsEmulator(log_path=logs / "shipped.log", moto_as_shipped=True) as shipped,
        AwsEmulator(log_path=logs / "local.log") as local,
    ):
        assert MARKER not in (logs / "shipped.log").read_text()
        assert MARKER in (logs / "local.log").read_text()
        yield shipped, local


@pytest.fixture(scope="module")
def both(emulators: tuple[AwsEmulator, AwsEmulator]) -> tuple[Any, Any]:
    """DynamoDB clients of (moto as shipped, the local stack's moto), each holding the same table."""
    clients = (emulators[0].client("dynamodb"), emulators[1].client("dynamodb"))
    for client in clients:
        _create_table(client)
    return clients


def _everything(client: Any) -> list[dict[str, Any]]:
    items = []
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        items += page["Items"]
    return sorted(items, key=lambda item: item["PK"]["S"])


def _key(index: int) -> dict[str, Any]:
    return {"PK": {"S": f"GEN#{index:05d}"}, "SK": {"S": "META"}}


def _cancelled_operations() -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = [
        {"Delete": {"TableName": TABLE, "Key": _key(index)}} for index in range(40)
    ]
    operations.append(_increment(50))
    operations.append({"Put": {"TableName": TABLE, "Item": _item(90_000)}})
    operations.append(
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": _key(60),
                "ConditionExpression": "#status = :lost",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":lost": {"S": "LOST"}},
            }
        }
    )
    return operations


def _increment(index: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": _key(index),
            "UpdateExpression": "SET #count = #count + :one",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def _expiring(client: Any) -> int:
    answer = client.query(
        TableName=TABLE,
        IndexName="ByExpiryDay",
        KeyConditionExpression="expiresOn = :day",
        ExpressionAttributeValues={":day": {"S": "2031-03-14"}},
        Select="COUNT",
    )
    return int(answer["Count"])


def test_a_cancelled_transaction_changes_nothing_on_either(both: tuple[Any, Any]) -> None:
    before = _everything(both[0])
    assert _everything(both[1]) == before
    for client in both:
        with pytest.raises(ClientError) as cancelled:
            client.transact_write_items(TransactItems=_cancelled_operations())
        error = cancelled.value.response
        assert error["Error"]["Code"] == "TransactionCanceledException"
        reasons = [reason["Code"] for reason in error["CancellationReasons"]]
        assert reasons == ["None"] * 42 + ["ConditionalCheckFailed"]
        assert _everything(client) == before
        assert _expiring(client) == 200


def test_a_transaction_that_goes_through_is_applied_whole_on_either(both: tuple[Any, Any]) -> None:
    operations = [{"Delete": {"TableName": TABLE, "Key": _key(index)}} for index in range(100, 199)]
    operations.append(_increment(199))
    for client in both:
        client.transact_write_items(TransactItems=operations)
    after = _everything(both[0])
    assert _everything(both[1]) == after
    remaining = {item["PK"]["S"]: item for item in after}
    assert not any(f"GEN#{index:05d}" in remaining for index in range(100, 199))
    assert remaining["GEN#00199"]["count"] == {"N": "2"}
    assert len(remaining) == RECORDS - 99
    assert _expiring(both[1]) == 101


def test_the_benchmarks_moto_site_installs_the_same_patch_once() -> None:
    probe = (
        "import moto.dynamodb.models as models\n"
        "from local_stack import moto_transactions\n"
        "print(type(models.copy).__name__, moto_transactions.install())\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(MOTO_SITE), os.environ.get("PYTHONPATH")])),
    }
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, timeout=60, check=True
    )
    assert loaded.stdout.split() == ["_Backups", "False"]  # installed by sitecustomize; not again
    assert loaded.stderr.count(MARKER) == 1


STREAMED = "moto-transactions-streamed"


def _stream_records(client: Any, streams: Any) -> list[tuple[Any, ...]]:
    """Every record of the streamed table's stream, as (sequence, event, keys, new, old)."""
    arn = client.describe_table(TableName=STREAMED)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return [
        (
            record["dynamodb"]["SequenceNumber"],
            record["eventName"],
            record["dynamodb"]["Keys"],
            record["dynamodb"].get("NewImage"),
            record["dynamodb"].get("OldImage"),
        )
        for record in records
    ]


def test_a_table_with_a_stream_streams_exactly_what_moto_streams(
    emulators: tuple[AwsEmulator, AwsEmulator],
) -> None:
    servers = [(server.client("dynamodb"), server.client("dynamodbstreams")) for server in emulators]
    for client, _ in servers:
        client.create_table(
            TableName=STREAMED,
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        for index in range(30):
            client.put_item(TableName=STREAMED, Item=_item(index))
        cancelled = [{"Delete": {"TableName": STREAMED, "Key": _key(index)}} for index in range(5)]
        cancelled.append(
            {"ConditionCheck": {**_cancelled_operations()[-1]["ConditionCheck"], "TableName": STREAMED}}
        )
        with pytest.raises(ClientError, match="TransactionCanceledException"):
            client.transact_write_items(TransactItems=cancelled)
        increment = _increment(7)
        increment["Update"]["TableName"] = STREAMED
        client.transact_write_items(
            TransactItems=[{"Delete": {"TableName": STREAMED, "Key": _key(20)}}, increment]
        )
        client.put_item(TableName=STREAMED, Item=_item(99))  # after an undo, the stream goes on
    (shipped_client, shipped_streams), (local_client, local_streams) = servers
    expected = _stream_records(shipped_client, shipped_streams)
    assert _stream_records(local_client, local_streams) == expected
    assert [event for _, event, *_ in expected][-3:] == ["REMOVE", "MODIFY", "INSERT"]
    assert len(expected) == 33  # 30 puts, the transaction that went through (2), one more put


def test_a_cancelled_transaction_never_undoes_a_write_made_meanwhile(
    emulators: tuple[AwsEmulator, AwsEmulator], both: tuple[Any, Any]
) -> None:
    """moto undoes a cancelled transaction by putting its backup of the table back. Unless each
    write is held while it is checked and applied (DynamoDB isolates them), a record deleted by
    another request while the transaction ran comes back (two retention sweeps at once counted
    some records twice)."""
    client = emulators[1].client("dynamodb", max_pool_connections=32)
    for round_number in range(2):
        keys = [{"PK": {"S": f"RACE#{round_number}#{n:03d}"}, "SK": {"S": "META"}} for n in range(99)]
        for key in keys:
            client.put_item(TableName=TABLE, Item={**key, "filler": {"S": "x" * 200}})
        start = threading.Barrier(2)

        def cancelled(keys: list[Any] = keys, start: threading.Barrier = start) -> None:
            updates = [
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key,
                        "UpdateExpression": "SET touched = :t",
                        "ExpressionAttributeValues": {":t": {"N": "1"}},
                    }
                }
                for key in keys[:-1]
            ]
            never = {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": keys[-1],
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            start.wait(timeout=10)
            with pytest.raises(ClientError):
                client.transact_write_items(TransactItems=[*updates, never])

        def deleting(keys: list[Any] = keys, start: threading.Barrier = start) -> None:
            start.wait(timeout=10)
            for key in keys[:-1]:
                client.delete_item(TableName=TABLE, Key=key)

        threads = [threading.Thread(target=cancelled), threading.Thread(target=deleting)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        back = [
            key
            for key in keys[:-1]
            if "Item" in client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
        ]
        assert back == [], f"round {round_number}: {len(back)} deleted records came back"
