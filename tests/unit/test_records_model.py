"""The PynamoDB model and the table in template.yaml describe the same keys and indexes, so
every access pattern the template provides is one the code can query."""

from __future__ import annotations

from typing import Any

import pytest

from ideogram_assets.records.model import GenerationRecord
from local_stack.template import load_template, resources_of_type


def _table() -> dict[str, Any]:
    tables = resources_of_type(load_template(), "AWS::DynamoDB::Table")
    properties: dict[str, Any] = tables["AssetsTable"]["Properties"]
    return properties


def _keys(key_schema: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    """(name, HASH|RANGE) pairs, hash first: PynamoDB lists an index's keys in its own order."""
    return tuple(sorted(((key["AttributeName"], key["KeyType"]) for key in key_schema), key=lambda k: k[1]))


def _model_schema() -> dict[str, Any]:
    return dict(GenerationRecord._get_schema())


def test_the_models_keys_are_the_tables() -> None:
    assert _keys(_model_schema()["key_schema"]) == _keys(_table()["KeySchema"])


def test_the_model_knows_every_index_of_the_table_with_its_keys_and_projection() -> None:
    template = {
        index["IndexName"]: (
            _keys(index["KeySchema"]),
            index["Projection"]["ProjectionType"],
            sorted(index["Projection"].get("NonKeyAttributes", [])),
        )
        for index in _table()["GlobalSecondaryIndexes"]
    }
    model = {
        index["index_name"]: (
            _keys(index["key_schema"]),
            index["projection"]["ProjectionType"],
            sorted(index["projection"].get("NonKeyAttributes", [])),
        )
        for index in _model_schema()["global_secondary_indexes"]
    }

    assert model == template


def test_every_key_attribute_has_the_tables_type() -> None:
    template = {item["AttributeName"]: item["AttributeType"] for item in _table()["AttributeDefinitions"]}
    schema = _model_schema()
    definitions = [
        *schema["attribute_definitions"],
        *(item for index in schema["global_secondary_indexes"] for item in index["attribute_definitions"]),
    ]
    model = {item["AttributeName"]: item["AttributeType"] for item in definitions}

    assert model == template


def test_an_unbound_model_refuses_to_work_rather_than_guess_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GenerationRecord.Meta, "table_name", None)
    monkeypatch.setattr(GenerationRecord, "_connection", None)

    with pytest.raises(AttributeError, match="table_name"):
        GenerationRecord.get("GEN#x", "META")
