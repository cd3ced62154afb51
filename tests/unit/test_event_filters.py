"""Event patterns as Lambda's FilterCriteria and EventBridge rules write them: what matches, and
what is refused when the pattern is read."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.event_filters import (
    RULE_OPERATORS,
    PatternError,
    parse_pattern,
    read_filter_criteria,
)

STREAM_RECORD: dict[str, Any] = {
    "eventName": "MODIFY",
    "eventSource": "aws:dynamodb",
    "dynamodb": {
        "Keys": {"PK": {"S": "GEN#1"}, "SK": {"S": "META"}},
        "NewImage": {"status": {"S": "STORED"}, "size": {"N": "12"}, "tags": {"SS": ["a", "b"]}},
        "OldImage": {"status": {"S": "PENDING"}},
        "SizeBytes": 120,
    },
    "flag": True,
    "nothing": None,
    "empty": "",
    "items": [{"kind": "x", "n": 1}, {"kind": "y", "n": 5}],
}


def _matches(pattern: dict[str, Any], record: Any = STREAM_RECORD) -> bool:
    return parse_pattern(pattern).matches(record)


def test_the_publishers_pattern_matches_a_final_status_of_a_meta_item() -> None:
    pattern = {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {
            "Keys": {"SK": {"S": ["META"]}},
            "NewImage": {"status": {"S": ["STORED", "FAILED", "LOST"]}},
        },
    }
    assert _matches(pattern)
    assert not _matches(pattern | {"eventName": ["REMOVE"]})
    other = {**STREAM_RECORD, "dynamodb": {**STREAM_RECORD["dynamodb"], "Keys": {"SK": {"S": "TAG#x"}}}}
    assert not _matches(pattern, other)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["MODIFY"]}, True),
        ({"eventName": ["modify"]}, False),
        ({"dynamodb": {"SizeBytes": [120]}}, True),
        ({"dynamodb": {"SizeBytes": [120.0]}}, True),  # numbers compare by value
        ({"dynamodb": {"SizeBytes": ["120"]}}, False),  # a string is not a number
        ({"flag": [True]}, True),
        ({"flag": [1]}, False),  # true is not 1
        ({"nothing": [None]}, True),
        ({"missing": [None]}, False),  # null matches a null value, not a missing field
        ({"empty": [""]}, True),
        ({"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}, True),  # any element of an array
        ({"items": {"kind": ["y"]}}, True),  # arrays of objects: each element's field
        ({"items": {"kind": ["z"]}}, False),
        ({"eventName": ["INSERT"], "eventSource": ["aws:dynamodb"]}, False),  # every field must match
    ],
)
def test_values_match_exactly(pattern: dict[str, Any], expected: bool) -> None:
    assert _matches(pattern) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"prefix": "GEN#"}, True),
        ({"prefix": "gen#"}, False),
        ({"prefix": {"equals-ignore-case": "gen#"}}, True),
        ({"suffix": "#1"}, True),
        ({"suffix": {"equals-ignore-case": "#2"}}, False),
        ({"equals-ignore-case": "gen#1"}, True),
        ({"anything-but": "GEN#2"}, True),
        ({"anything-but": ["GEN#1", "GEN#2"]}, False),
        ({"anything-but": {"prefix": "GEN#"}}, False),
        ({"anything-but": {"suffix": "#9"}}, True),
        ({"anything-but": {"equals-ignore-case": ["gen#1"]}}, False),
    ],
)
def test_string_operators(condition: dict[str, Any], expected: bool) -> None:
    assert _matches({"dynamodb": {"Keys": {"PK": {"S": [condition]}}}}) is expected


def test_anything_but_needs_the_field_to_be_there() -> None:
    assert not _matches({"missing": [{"anything-but": "x"}]})


@pytest.mark.parametrize(
    ("numeric", "expected"),
    [
        (["=", 120], True),
        ([">", 100], True),
        ([">", 120], False),
        ([">=", 120, "<", 121], True),
        ([">", 0, "<=", 100], False),
    ],
)
def test_numeric_ranges(numeric: list[Any], expected: bool) -> None:
    assert _matches({"dynamodb": {"SizeBytes": [{"numeric": numeric}]}}) is expected


def test_numeric_never_matches_a_string() -> None:
    assert not _matches({"dynamodb": {"NewImage": {"size": {"N": [{"numeric": [">", 0]}]}}}})


def test_exists_looks_at_leaves_only() -> None:
    assert _matches({"dynamodb": {"OldImage": {"status": {"S": [{"exists": True}]}}}})
    assert _matches({"dynamodb": {"NewImage": {"missing": [{"exists": False}]}}})
    assert not _matches({"dynamodb": {"OldImage": {"status": {"S": [{"exists": False}]}}}})
    # An object is not a leaf: it does not "exist" for the pattern (EventBridge's rule too).
    assert not _matches({"dynamodb": {"OldImage": [{"exists": True}]}})
    assert _matches({"nothing": [{"exists": True}]})  # null is a value


def test_a_field_matches_when_any_of_its_conditions_does() -> None:
    assert _matches({"eventName": [{"prefix": "INS"}, "MODIFY"]})


def test_filter_criteria_pass_a_record_any_of_their_patterns_matches() -> None:
    criteria = read_filter_criteria(
        {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}, {"Pattern": '{"flag": [true]}'}]}
    )
    assert criteria.passes(STREAM_RECORD)
    assert not criteria.passes({**STREAM_RECORD, "flag": False})


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "non-empty JSON object"),
        ({"a": "b"}, "a: must be an object or an array"),
        ({"a": []}, "a: an empty array"),
        ({"a": {}}, "a: an empty object"),
        ({"a": [{"wildcard": "x*"}]}, "the operator 'wildcard' is not evaluated locally"),
        ({"a": [{"cidr": "10.0.0.0/8"}]}, "the operator 'cidr' is not evaluated locally"),
        ({"$or": [{"a": ["b"]}]}, r"\$or is not evaluated locally"),
        ({"a": [{"prefix": 1}]}, "prefix takes a string"),
        ({"a": [{"exists": "yes"}]}, "exists takes true or false"),
        ({"a": [{"numeric": [">", "1"]}]}, "numeric compares with numbers"),
        ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "lower bound"),
        ({"a": [{"numeric": ["~", 5]}]}, "numeric operators"),
        ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "anything-but takes"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "one operator"),
        ({"a": [["nested"]]}, "a condition is a value"),
    ],
)
def test_patterns_the_local_stack_cannot_evaluate_are_refused(pattern: Any, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        parse_pattern(pattern)


def test_rules_also_take_what_the_emulator_evaluates_besides() -> None:
    assert parse_pattern({"a": [{"wildcard": "x*"}]}, RULE_OPERATORS).leaves


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"Filters": []}, "1 to 10 Filters"),
        ({"Filters": [{"Pattern": "{}"}] * 11}, "1 to 10 Filters"),
        ({"Filters": [{"Pattern": '{"a": ["b"]}', "Extra": 1}]}, "filter 1"),
        ({"Other": []}, "FilterCriteria takes"),
        ({"Filters": [{"Pattern": '{"a": ["b"]}'}, {"Pattern": '{"a": [{"wildcard": "*"}]}'}]}, "filter 2"),
    ],
)
def test_filter_criteria_are_read_strictly(criteria: Any, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        read_filter_criteria(criteria)
