"""The search benchmark's moto (bench/moto_query_site): Query and Scan answer exactly as moto's
own code does, page by page, on the table and on its indexes, before and after writes.

Each request is sent twice through boto3 to moto's in-process backend, once with the patch
installed and once without, and the two answers are compared whole (items, counts, last
evaluated key). The tests also check that the sorted copies are really used, so that the
comparison is not moto against itself.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

SITE = Path(__file__).resolve().parents[2] / "bench" / "moto_query_site" / "sitecustomize.py"
TABLE = "bench-moto-query"
MODELS = ("V_2", "V_3", "V_2A")
WORDS = ("fox", "city", "night", "a", "lighthouse")
KEY_TYPES = (("PK", "S"), ("SK", "S"), ("model", "S"), ("seed", "N"), ("createdAt", "S"))


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_moto_query_site", SITE)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


patch = _load()


def _index(name: str, hash_name: str, projection: dict[str, Any]) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_name, "KeyType": "HASH"},
            {"AttributeName": "createdAt", "KeyType": "RANGE"},
        ],
        "Projection": projection,
    }


def _created(rng: random.Random) -> str:
    # Few distinct instants, so that index sort keys tie and the table keys decide the order.
    return f"2025-{rng.randint(1, 3):02d}-{rng.randint(1, 4):02d}T10:00:00.000Z"


def _records(rng: random.Random, count: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(count):
        created = _created(rng)
        identifier = f"{rng.randrange(16**8):08x}"
        record = {
            "PK": {"S": f"GEN#{identifier}"},
            "SK": {"S": "META"},
            "model": {"S": rng.choice(MODELS)},
            "createdAt": {"S": created},
            "note": {"S": "x" * rng.randint(0, 300)},
        }
        if number % 3:
            record["seed"] = {"N": str(rng.randint(1, 5))}
        items.append(record)
        for word in rng.sample(WORDS, rng.randint(1, 3)):
            items.append({"PK": {"S": f"TOKEN#{word}"}, "SK": {"S": f"{created}#{identifier}"}})
    return items


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb: Any = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": kind}
                for name, kind in (
                    ("PK", "S"),
                    ("SK", "S"),
                    ("model", "S"),
                    ("seed", "N"),
                    ("createdAt", "S"),
                )
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                _index("ByModel", "model", {"ProjectionType": "ALL"}),
                _index("BySeed", "seed", {"ProjectionType": "KEYS_ONLY"}),
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        items = _records(random.Random(5), 120)
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            dynamodb.batch_write_item(RequestItems={TABLE: batch})
        yield dynamodb


def _pages(client: Any, operation: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    start = None
    while True:
        asked = {**request, "ExclusiveStartKey": start} if start else request
        answer = getattr(client, operation)(**asked)
        answer.pop("ResponseMetadata", None)
        pages.append(answer)
        start = answer.get("LastEvaluatedKey")
        if not start or len(pages) > 2000:
            return pages


def _both(client: Any, operation: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The pages moto's own code answers, after checking the patched server answers the same."""
    with patch.installed():
        patched = _pages(client, operation, request)
    shipped = _pages(client, operation, request)
    assert patched == shipped, request
    return shipped


def _condition(rng: random.Random, key: str) -> tuple[str, dict[str, Any]]:
    low, high = sorted([_created(rng), _created(rng)])
    choices = [
        (f"{key} = :a", {":a": {"S": low}}),
        (f"{key} < :a", {":a": {"S": low}}),
        (f"{key} <= :a", {":a": {"S": low}}),
        (f"{key} > :a", {":a": {"S": low}}),
        (f"{key} >= :a", {":a": {"S": low}}),
        (f"{key} BETWEEN :a AND :b", {":a": {"S": low}, ":b": {"S": high}}),
        (f"begins_with({key}, :a)", {":a": {"S": low[:7]}}),
    ]
    return rng.choice(choices)


def _random_query(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("token", "model", "seed"))
    request: dict[str, Any] = {"TableName": TABLE, "ScanIndexForward": rng.random() < 0.5}
    if kind == "token":
        hash_condition, values = "PK = :h", {":h": {"S": f"TOKEN#{rng.choice(WORDS)}"}}
        sort_key = "SK"
    else:
        request["IndexName"] = "ByModel" if kind == "model" else "BySeed"
        value = {"S": rng.choice(MODELS)} if kind == "model" else {"N": str(rng.randint(1, 6))}
        hash_condition, values = f"{kind} = :h", {":h": value}
        sort_key = "createdAt"
    condition = hash_condition
    if rng.random() < 0.7:
        sort_condition, sort_values = _condition(rng, sort_key)
        condition, values = f"{hash_condition} AND {sort_condition}", {**values, **sort_values}
    request["KeyConditionExpression"] = condition
    request["ExpressionAttributeValues"] = values
    if rng.random() < 0.8:
        request["Limit"] = rng.choice((2, 5, 20))
    if kind == "model" and rng.random() < 0.3:
        request["FilterExpression"] = "attribute_exists(seed)"
    if kind == "token" and rng.random() < 0.2:
        request["ProjectionExpression"] = "SK"
    return request


def test_queries_answer_page_by_page_as_moto_does(client: Any) -> None:
    rng = random.Random(11)
    pages = 0
    for _ in range(50):
        pages += len(_both(client, "query", _random_query(rng)))
    assert pages > 150  # many requests went through a start key


def test_answers_follow_writes_made_between_queries(client: Any) -> None:
    request = {
        "TableName": TABLE,
        "IndexName": "ByModel",
        "KeyConditionExpression": "model = :m",
        "ExpressionAttributeValues": {":m": {"S": "V_3"}},
        "ScanIndexForward": False,
        "Limit": 5,
    }
    before = _both(client, "query", request)
    newest = {"PK": {"S": "GEN#new"}, "SK": {"S": "META"}, "model": {"S": "V_3"}}
    newest["createdAt"] = {"S": "2026-01-01T00:00:00.000Z"}
    with patch.installed():
        client.put_item(TableName=TABLE, Item=newest)
        after = _pages(client, "query", request)
    assert after == _pages(client, "query", request)
    assert after[0]["Items"][0]["PK"] == {"S": "GEN#new"}
    assert after[0]["Items"][1:] == before[0]["Items"][:4]
    with patch.installed():
        client.update_item(
            TableName=TABLE,
            Key={"PK": {"S": "GEN#new"}, "SK": {"S": "META"}},
            UpdateExpression="SET model = :other",
            ExpressionAttributeValues={":other": {"S": "V_2"}},
        )
        moved = _pages(client, "query", request)
    assert moved == before


def test_scans_answer_page_by_page_as_moto_does(client: Any) -> None:
    for limit in (None, 7, 60):
        request: dict[str, Any] = {"TableName": TABLE, "FilterExpression": "contains(PK, :w)"}
        request["ExpressionAttributeValues"] = {":w": {"S": "fox"}}
        if limit:
            request["Limit"] = limit
        pages = _both(client, "scan", request)
        assert sum(page["ScannedCount"] for page in pages) == sum(
            page["ScannedCount"] for page in _pages(client, "scan", {"TableName": TABLE})
        )


def _backend_table() -> Any:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[TABLE]


def test_the_sorted_copies_serve_queries_and_scans(client: Any) -> None:
    """The covered requests never fall back to moto's own code (a fallback would make the
    comparisons above compare moto with itself)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = _backend_table()
    token = DynamoType({"S": "TOKEN#fox"})
    rng = random.Random(3)
    for _ in range(40):
        low = DynamoType({"S": _created(rng)})
        high = DynamoType({"S": "2025-12"})
        forward = rng.random() < 0.5
        conditions = [("SK", "BETWEEN", [low, high])]
        fast = patch.fast_query(
            table,
            token,
            "BETWEEN",
            [low, high],
            3,
            None,
            forward,
            None,
            None,
            range_key_conditions=conditions,
        )
        shipped = type(table).query(
            table,
            token,
            "BETWEEN",
            [low, high],
            3,
            None,
            forward,
            None,
            None,
            range_key_conditions=conditions,
        )
        assert [item.to_json() for item in fast[0]] == [item.to_json() for item in shipped[0]]
        assert fast[1:] == shipped[1:]
        model = [("model", DynamoType({"S": "V_2"}))]
        fast = patch.fast_query(
            table, None, None, [], 4, None, forward, None, "ByModel", hash_key_conditions=model
        )
        shipped = type(table).query(
            table, None, None, [], 4, None, forward, None, "ByModel", hash_key_conditions=model
        )
        assert [item.to_json() for item in fast[0]] == [item.to_json() for item in shipped[0]]
        assert fast[1:] == shipped[1:]
    page = patch.fast_scan(table, {}, 50, None)
    assert page[1] == 50
    assert page[2] is not None


def test_a_table_tagged_as_shipped_gets_moto_s_own_code(client: Any) -> None:
    arn = client.describe_table(TableName=TABLE)["Table"]["TableArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": patch.SWITCH_TAG, "Value": patch.AS_SHIPPED}])
    request = {
        "TableName": TABLE,
        "KeyConditionExpression": "PK = :h",
        "ExpressionAttributeValues": {":h": {"S": "TOKEN#fox"}},
    }
    with patch.installed():
        patch.KEYS._copies.clear()
        client.query(**request)
        assert not patch.KEYS._copies
    client.untag_resource(ResourceArn=arn, TagKeys=[patch.SWITCH_TAG])
    with patch.installed():
        client.query(**request)
        assert patch.KEYS._copies


def test_a_write_drops_the_copies_and_a_read_keeps_them(client: Any) -> None:
    request = {
        "TableName": TABLE,
        "KeyConditionExpression": "PK = :h",
        "ExpressionAttributeValues": {":h": {"S": "TOKEN#city"}},
    }
    with patch.installed():
        client.query(**request)
        version = patch.KEYS.writes.version
        client.get_item(TableName=TABLE, Key={"PK": {"S": "TOKEN#city"}, "SK": {"S": "x"}})
        client.query(**request)
        assert patch.KEYS.writes.version == version
        client.delete_item(TableName=TABLE, Key={"PK": {"S": "TOKEN#city"}, "SK": {"S": "x"}})
        assert patch.KEYS.writes.version == version + 2
        assert patch.KEYS.writes.running == 0


def test_the_server_s_sitecustomize_keeps_the_patch_installed() -> None:
    """Loaded as `sitecustomize` (as moto's server loads it), the patch stays after start-up."""
    import subprocess

    check = (
        "import gc; gc.collect(); "
        "from moto.dynamodb.models.table import Table; from moto.dynamodb.responses import DynamoHandler; "
        "print(Table.query.__module__, Table.scan.__module__, DynamoHandler.call_action.__module__)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", check],
        env={"PYTHONPATH": str(SITE.parent), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert completed.stdout.split() == ["sitecustomize"] * 3
    assert patch.MARKER in completed.stderr


def test_reads_no_longer_keep_every_item_they_copied(client: Any) -> None:
    """moto keeps each item object it creates for its dashboard, copies too: every read leaked."""
    from moto.dynamodb.models.dynamo_type import Item

    request: dict[str, Any] = {"TableName": TABLE, "FilterExpression": "contains(PK, :w)"}
    request["ExpressionAttributeValues"] = {":w": {"S": "fox"}}
    before = len(Item.instances_tracked)  # type: ignore[attr-defined]
    _pages(client, "scan", request)
    assert len(Item.instances_tracked) > before  # type: ignore[attr-defined]  # moto as shipped
    with patch.installed():
        assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]
        _pages(client, "scan", request)
        assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]
    assert len(Item.instances_tracked) > before  # type: ignore[attr-defined]  # put back
