"""The local stack's moto (local_stack.moto_transactions): transactions answer and undo exactly
as moto's own do, over HTTPS, while undoing one costs what it names instead of a copy of the table.

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
from tests.integration.moto_pair import shipped_and_local

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
    with shipped_and_local(tmp_path_factory.mktemp("moto"), MARKER) as pair:
        yield pair


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


WIDE = "moto-transactions-wide"  # many partitions, a GSI and a stream
FLAT = "moto-transactions-flat"  # no range key: its partitions are its items
PARTITIONS = 1000


def _wide_item(partition: int, sort: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"P#{partition:05d}"},
        "SK": {"S": f"S#{sort}"},
        "day": {"S": f"2031-01-{partition % 28 + 1:02d}"},
        "count": {"N": str(sort)},
        "tags": {"SS": ["a", f"t{partition}"]},
        "meta": {"M": {"seen": {"L": [{"N": "1"}, {"BOOL": True}]}}},
    }


def _create_wide_tables(client: Any) -> None:
    client.create_table(
        TableName=WIDE,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByDay",
                "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client.create_table(
        TableName=FLAT,
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # Partitions of one item, and every tenth one of three (so a Delete can change their order).
    items = [_wide_item(p, s) for p in range(PARTITIONS) for s in range(3 if p % 10 == 0 else 1)]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={WIDE: batch})
    for start in range(0, 200, 25):
        batch = [
            {"PutRequest": {"Item": {"PK": {"S": f"F#{n:03d}"}, "n": {"N": str(n)}}}}
            for n in range(start, start + 25)
        ]
        client.batch_write_item(RequestItems={FLAT: batch})


def _wide_key(partition: int, sort: int) -> dict[str, Any]:
    return {"PK": {"S": f"P#{partition:05d}"}, "SK": {"S": f"S#{sort}"}}


def _touching_many_partitions(last_check_passes: bool) -> list[dict[str, Any]]:
    """Deletes (one the first of a partition of three), Updates of present and absent items, Puts
    over an item and into a new partition, a Delete in the table without a range key, and a
    ConditionCheck that decides whether the transaction goes through."""
    touch = {":one": {"N": "1"}, ":tag": {"SS": ["new"]}}
    update = "SET #count = #count + :one ADD tags :tag"
    return [
        {"Delete": {"TableName": WIDE, "Key": _wide_key(10, 0)}},
        {"Delete": {"TableName": WIDE, "Key": _wide_key(501, 0)}},
        *(
            {
                "Update": {
                    "TableName": WIDE,
                    "Key": _wide_key(partition, 0),
                    "UpdateExpression": update,
                    "ExpressionAttributeNames": {"#count": "count"},
                    "ExpressionAttributeValues": touch,
                }
            }
            for partition in (7, 20, 999)
        ),
        {
            "Update": {
                "TableName": WIDE,
                "Key": _wide_key(30, 9),
                "UpdateExpression": "SET #day = :day",
                "ExpressionAttributeNames": {"#day": "day"},
                "ExpressionAttributeValues": {":day": {"S": "2031-01-05"}},
            }
        },
        {"Put": {"TableName": WIDE, "Item": {**_wide_item(40, 1), "day": {"S": "2031-01-05"}}}},
        {"Put": {"TableName": WIDE, "Item": _wide_item(PARTITIONS + 5, 0)}},
        {"Put": {"TableName": WIDE, "Item": {**_wide_item(42, 0), "count": {"N": "42"}}}},
        {"Delete": {"TableName": FLAT, "Key": {"PK": {"S": "F#017"}}}},
        {
            "ConditionCheck": {
                "TableName": FLAT,
                "Key": {"PK": {"S": "F#018"}},
                "ConditionExpression": "attribute_exists(PK)"
                if last_check_passes
                else "attribute_not_exists(PK)",
            }
        },
    ]


def _scan_in_order(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item in the order a paginated Scan returns them (moto's storage order)."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 300}):
        items += page["Items"]
    return items


def _on_day(client: Any, day: str) -> list[dict[str, Any]]:
    answer = client.query(
        TableName=WIDE,
        IndexName="ByDay",
        KeyConditionExpression="#day = :day",
        ExpressionAttributeNames={"#day": "day"},
        ExpressionAttributeValues={":day": {"S": day}},
    )
    return sorted(answer["Items"], key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


def _wide_stream(client: Any, streams: Any) -> list[tuple[Any, ...]]:
    arn = client.describe_table(TableName=WIDE)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[tuple[Any, ...]] = []
    while True:
        answer = streams.get_records(ShardIterator=iterator, Limit=1000)
        records += [
            (
                record["dynamodb"]["SequenceNumber"],
                record["eventName"],
                record["dynamodb"]["Keys"],
                record["dynamodb"].get("NewImage"),
                record["dynamodb"].get("OldImage"),
            )
            for record in answer["Records"]
        ]
        if not answer["Records"]:
            return records
        iterator = answer["NextShardIterator"]


def test_a_cancelled_transaction_over_many_partitions_puts_back_exactly_what_it_touched(
    emulators: tuple[AwsEmulator, AwsEmulator],
) -> None:
    servers = [(server.client("dynamodb"), server.client("dynamodbstreams")) for server in emulators]
    seen = []
    for client, streams in servers:
        _create_wide_tables(client)
        wide, flat, stream = (
            _scan_in_order(client, WIDE),
            _scan_in_order(client, FLAT),
            _wide_stream(client, streams),
        )
        days = {day: _on_day(client, day) for day in ("2031-01-05", "2031-01-11")}
        with pytest.raises(ClientError) as cancelled:
            client.transact_write_items(TransactItems=_touching_many_partitions(last_check_passes=False))
        reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
        assert reasons == ["None"] * 10 + ["ConditionalCheckFailed"]
        assert _scan_in_order(client, WIDE) == wide  # the same items, in the same order
        assert _scan_in_order(client, FLAT) == flat
        assert _wide_stream(client, streams) == stream
        assert {day: _on_day(client, day) for day in days} == days
        assert "Item" in client.get_item(TableName=WIDE, Key=_wide_key(10, 0))
        assert "Item" not in client.get_item(TableName=WIDE, Key=_wide_key(PARTITIONS + 5, 0))
        # Then the same transaction goes through, and the stream goes on from where it was.
        client.transact_write_items(TransactItems=_touching_many_partitions(last_check_passes=True))
        seen.append(
            (_scan_in_order(client, WIDE), _scan_in_order(client, FLAT), _wide_stream(client, streams))
        )
        # 9 writes; moto streams an Update of an absent item twice; a ConditionCheck streams nothing
        assert len(seen[-1][2]) == len(stream) + 10
        assert seen[-1][2][: len(stream)] == stream
    assert seen[1] == seen[0]  # what moto as shipped stores and streams, the local stack's does
