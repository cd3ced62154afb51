"""The local stack's moto writes DynamoDB's answers byte for byte as moto's own serializer does:
results shaped as moto's handlers build them (items through moto's own DynamoType and DynamoResult),
rendered both ways."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.responses import DynamoResult

from local_stack.moto_rendering import DYNAMODB_OPERATIONS, Unrenderable, compile_operations, picked_keys


def _wire(value: bytes) -> str:
    return base64.b64encode(value).decode()


# An item as a client sends it (binary values in base64), every attribute type, nested M and L.
ITEM_ON_THE_WIRE: dict[str, Any] = {
    "PK": {"S": "image#1"},
    "SK": {"B": _wire(b"\x00\xff key")},
    "text": {"S": 'é \u2028 "quoted" \\ ✓ </script>'},
    "empty": {"S": ""},
    "count": {"N": "-1.5E+3"},
    "big": {"N": "123456789012345678901234567890"},
    "blob": {"B": _wire(b"\x00\x01 binary")},
    "names": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [_wire(b"\x01"), _wire(b"\x02")]},
    "list": {"L": [{"S": "x"}, {"B": _wire(b"\x03")}, {"L": []}, {"M": {}}, {"NULL": True}, {"N": "7"}]},
    "map": {
        "M": {
            "inner": {"M": {"deep": {"BS": [_wire(b"\x04")]}, "flag": {"BOOL": False}}},
            "tags": {"SS": ["t"]},
            "rows": {"L": [{"M": {"n": {"N": "1"}}}, {"L": [{"BOOL": True}]}]},
        }
    },
    "nothing": {"NULL": True},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
}


def _item(number: int, **extra: Any) -> dict[str, DynamoType]:
    """An item as moto stores it."""
    return {
        key: DynamoType(value)
        for key, value in {**ITEM_ON_THE_WIRE, "PK": {"S": f"image#{number}"}, **extra}.items()
    }


def _key(number: int) -> dict[str, DynamoType]:
    return {key: value for key, value in _item(number).items() if key in ("PK", "SK")}


def _moto(result: Any) -> Any:
    """What moto's handler gives its serializer for a DynamoResult(result)."""
    return DynamoResult(result).result


def _moto_body(operation: str, result: Any) -> str:
    """The body moto's own serializer writes for `result`."""
    model = get_service_model("dynamodb").operation_model(operation)
    serializer = JSONSerializer(operation_model=model, value_picker=XFormedAttributePicker())
    body = serializer.serialize(result)["body"]
    assert isinstance(body, str)
    return body


_, RENDERERS = compile_operations("dynamodb", DYNAMODB_OPERATIONS)


def _direct_body(operation: str, result: Any) -> str:
    return json.dumps(RENDERERS[operation](result))


TOTAL = {"TableName": "t", "CapacityUnits": 1}
INDEXES = {
    "TableName": "t",
    "CapacityUnits": 0.5,
    "Table": {"CapacityUnits": 0.5},
    "LocalSecondaryIndexes": {"by-date": {"CapacityUnits": 0.5}},
}

CASES: list[Any] = [
    pytest.param("GetItem", {"Item": _item(1)}, id="GetItem"),
    pytest.param("GetItem", {}, id="GetItem absent"),
    pytest.param("GetItem", {"Item": _item(1), "ConsumedCapacity": INDEXES}, id="GetItem INDEXES"),
    pytest.param("PutItem", {}, id="PutItem"),
    pytest.param("PutItem", {"Attributes": _item(1), "ConsumedCapacity": TOTAL}, id="PutItem ALL_OLD TOTAL"),
    pytest.param(
        "UpdateItem",
        {"Attributes": _item(1), "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}},
        id="UpdateItem ALL_NEW",
    ),
    pytest.param(
        "UpdateItem",
        {"Attributes": {"count": DynamoType({"N": "3"})}, "ConsumedCapacity": {"TableName": "t"}},
        id="UpdateItem UPDATED_OLD",
    ),
    pytest.param(
        "UpdateItem", {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}, id="UpdateItem NONE"
    ),
    pytest.param("DeleteItem", {"ConsumedCapacityUnits": 0.5}, id="DeleteItem"),
    pytest.param(
        "DeleteItem", {"Attributes": _item(2), "ConsumedCapacityUnits": 0.5}, id="DeleteItem ALL_OLD"
    ),
    pytest.param(
        "Query",
        {
            "Count": 3,
            "ScannedCount": 4,
            "Items": [_item(n) for n in range(3)],
            "LastEvaluatedKey": _key(2),
            "ConsumedCapacity": TOTAL,
        },
        id="Query page",
    ),
    pytest.param("Query", {"Count": 0, "ScannedCount": 0, "Items": []}, id="Query empty"),
    pytest.param("Query", {"Count": 5, "ScannedCount": 5}, id="Query COUNT"),
    pytest.param(
        "Scan",
        {"Count": 2, "ScannedCount": 9, "Items": [_item(4), _item(5)], "LastEvaluatedKey": _key(5)},
        id="Scan",
    ),
    pytest.param(
        "BatchGetItem",
        {
            "ConsumedCapacity": [
                {"CapacityUnits": 2, "TableName": "t"},
                {"CapacityUnits": 1, "TableName": "u"},
            ],
            "Responses": {"t": [_item(1), _item(2)], "u": []},
            "UnprocessedKeys": {"t": {"Keys": [_key(3)]}},
        },
        id="BatchGetItem",
    ),
    pytest.param(
        "BatchGetItem",
        {"ConsumedCapacity": [], "Responses": {}, "UnprocessedKeys": {}},
        id="BatchGetItem empty",
    ),
    pytest.param(
        "BatchWriteItem",
        {
            "ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}],
            "ItemCollectionMetrics": {},
            "UnprocessedItems": {},
        },
        id="BatchWriteItem",
    ),
    pytest.param(
        "BatchWriteItem",
        {
            "UnprocessedItems": {
                "t": [{"PutRequest": {"Item": _item(1)}}, {"DeleteRequest": {"Key": _key(2)}}],
            },
            "ItemCollectionMetrics": {
                "t": [{"ItemCollectionKey": {"PK": DynamoType({"S": "a"})}, "SizeEstimateRangeGB": [0, 1.5]}]
            },
        },
        id="BatchWriteItem unprocessed, metrics",
    ),
    pytest.param(
        "TransactGetItems",
        {
            "Responses": [{"Item": _item(1)}, {}],
            "ConsumedCapacity": [
                {
                    "TableName": "t",
                    "CapacityUnits": 2.0,
                    "ReadCapacityUnits": 2.0,
                    "Table": {"CapacityUnits": 2.0, "ReadCapacityUnits": 2.0},
                }
            ],
        },
        id="TransactGetItems",
    ),
    pytest.param(
        "TransactWriteItems", {"ConsumedCapacity": [], "ItemCollectionMetrics": {}}, id="TransactWriteItems"
    ),
    pytest.param(
        "PutItem",
        {
            "Attributes": _item(1),
            "ItemCollectionMetrics": {"ItemCollectionKey": _key(1), "SizeEstimateRangeGB": [1]},
        },
        id="PutItem ItemCollectionMetrics",
    ),
]


@pytest.mark.parametrize(("operation", "result"), CASES)
def test_dynamodb_answers_render_the_bytes_moto_serializer_writes(operation: str, result: Any) -> None:
    moto_result = _moto(result)
    assert _direct_body(operation, moto_result) == _moto_body(operation, moto_result)


def test_a_value_moto_would_not_hold_still_renders_as_moto_does() -> None:
    """None members, numbers given as other types, a key no member's picker takes."""
    result = {
        "Count": "2",
        "ScannedCount": 2.0,
        "Items": [{"a": None, "b": {"S": None}, "c": {"N": 5}, "d": {"Z": "unknown type"}}],
        "LastEvaluatedKey": None,
        "ConsumedCapacity": {"TableName": "t", "CapacityUnits": "0.5", "Unknown": 1},
    }
    assert _direct_body("Query", result) == _moto_body("Query", result)


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        ("Query", {"Count": 1, "ScannedCount": 1, "items": []}),
        ("Query", {"Count": 1, "ScannedCount": 1, "ItemList": [], "Items": []}),
        ("GetItem", {"Item": {"PK": {"s": "x"}}}),
        ("GetItem", {"Item": {"PK": ["not", "a", "structure"]}}),
        ("UpdateItem", {"ConsumedCapacity": {"TableName": "t", "table_name": "u"}}),
    ],
    ids=[
        "a member's snake-case name",
        "a member's shape name",
        "an alias in a value",
        "not a dict",
        "both names",
    ],
)
def test_a_result_moto_s_picker_would_read_otherwise_is_left_to_moto(operation: str, result: Any) -> None:
    with pytest.raises(Unrenderable):
        RENDERERS[operation](result)
    _moto_body(operation, result)  # moto's serializer answers it its own way


def test_the_keys_moto_picks_a_member_by_are_its_own_name_among_others() -> None:
    query = get_service_model("dynamodb").operation_model("Query").output_shape
    assert picked_keys(query, "Items") == ["ItemList", "item_list", "Items", "items"]
    assert picked_keys(query, "Count") == ["Count", "count"]
