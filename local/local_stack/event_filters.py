"""Event patterns, as Lambda's event filtering (FilterCriteria) and EventBridge rules write them.

A pattern is a JSON object whose leaves are non-empty arrays of conditions; a record matches when,
for every leaf, some value found at the leaf's path meets one of its conditions. Values are read
from the record's leaves: objects nest, and every element of an array is a value of the same path
(so `{"a": [{"b": 1}, {"b": 2}]}` has the values 1 and 2 at `a.b`).

Conditions, as Lambda documents them: a value (string, number, true/false, null; numbers compare
by value), `prefix`, `suffix` (a string, or `{"equals-ignore-case": ...}`), `equals-ignore-case`,
`anything-but` (a value, a list of values, or `{"prefix"|"suffix"|"equals-ignore-case": ...}`),
`numeric` (one comparison, or a lower then an upper bound) and `exists` (leaves only: an object is
not a value). Anything else is refused when the pattern is read, never matched loosely: a template
whose filter the local stack cannot evaluate stops the stack at start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The operators of Lambda's event filtering. EventBridge rules also take these (see RULE_OPERATORS).
LAMBDA_OPERATORS = frozenset({"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"})
_LOWER_BOUNDS = (">", ">=")
_UPPER_BOUNDS = ("<", "<=")
_COMPARISONS = ("=", *_LOWER_BOUNDS, *_UPPER_BOUNDS)
_MISSING = object()


class PatternError(ValueError):
    """A pattern that is not valid, or uses what the local stack does not evaluate."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool) or _is_number(value)


def _check_string_match(where: str, operator: str, argument: Any) -> None:
    """prefix/suffix take a string or {"equals-ignore-case": string}."""
    if isinstance(argument, str):
        return
    ignoring_case = isinstance(argument, Mapping) and list(argument) == ["equals-ignore-case"]
    if ignoring_case and isinstance(argument["equals-ignore-case"], str):
        return
    raise PatternError(f'{where}: {operator} takes a string or {{"equals-ignore-case": string}}')


def _check_numeric(where: str, argument: Any) -> None:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise PatternError(f"{where}: numeric takes [operator, number] or a lower and an upper bound")
    operators, numbers = argument[0::2], argument[1::2]
    if not all(isinstance(op, str) and op in _COMPARISONS for op in operators):
        raise PatternError(f"{where}: numeric operators are {', '.join(_COMPARISONS)}")
    if not all(_is_number(number) and math.isfinite(number) for number in numbers):
        raise PatternError(f"{where}: numeric compares with numbers")
    if len(operators) == 2 and (operators[0] not in _LOWER_BOUNDS or operators[1] not in _UPPER_BOUNDS):
        raise PatternError(f"{where}: a numeric range is a lower bound (> or >=) then an upper one (< or <=)")


def _check_anything_but(where: str, argument: Any) -> None:
    if _is_scalar(argument):
        return
    if isinstance(argument, list) and argument and all(_is_scalar(item) for item in argument):
        return
    if isinstance(argument, Mapping) and len(argument) == 1:
        [(operator, inner)] = argument.items()
        if operator in ("prefix", "suffix") and isinstance(inner, str):
            return
        if operator == "equals-ignore-case" and (
            isinstance(inner, str)
            or (isinstance(inner, list) and inner and all(isinstance(i, str) for i in inner))
        ):
            return
    raise PatternError(
        f"{where}: anything-but takes a value, a list of values, or one of prefix, suffix, equals-ignore-case"
    )


def _check_condition(where: str, condition: Any, operators: frozenset[str]) -> None:
    if _is_scalar(condition):
        return
    if not isinstance(condition, Mapping) or len(condition) != 1:
        raise PatternError(
            f"{where}: a condition is a value or an object with one operator, not {condition!r}"
        )
    [(operator, argument)] = condition.items()
    if operator not in operators:
        raise PatternError(
            f"{where}: the operator {operator!r} is not evaluated locally"
            f" (supported: {', '.join(sorted(operators))})"
        )
    if operator in ("prefix", "suffix"):
        _check_string_match(where, operator, argument)
    elif operator == "equals-ignore-case":
        if not isinstance(argument, str):
            raise PatternError(f"{where}: equals-ignore-case takes a string")
    elif operator == "exists":
        if not isinstance(argument, bool):
            raise PatternError(f"{where}: exists takes true or false")
    elif operator == "numeric":
        _check_numeric(where, argument)
    elif operator == "anything-but":
        _check_anything_but(where, argument)


def _leaves(
    pattern: Mapping[str, Any], operators: frozenset[str], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], tuple[Any, ...]]]:
    for key, value in pattern.items():
        where = ".".join((*path, key))
        if key.startswith("$"):
            raise PatternError(f"{where}: {key} is not evaluated locally")
        if isinstance(value, Mapping):
            if not value:
                raise PatternError(f"{where}: an empty object matches nothing")
            yield from _leaves(value, operators, (*path, key))
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"{where}: an empty array matches nothing")
            for condition in value:
                _check_condition(where, condition, operators)
            yield (*path, key), tuple(value)
        else:
            raise PatternError(f"{where}: must be an object or an array of conditions")


def _values_at(node: Any, path: Sequence[str]) -> Iterator[Any]:
    """Every leaf value at `path`; arrays are walked through, objects are not values."""
    if isinstance(node, list):
        for item in node:
            yield from _values_at(item, path)
        return
    if not path:
        if not isinstance(node, Mapping):
            yield node
        return
    if isinstance(node, Mapping) and path[0] in node:
        yield from _values_at(node[path[0]], path[1:])


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) or _is_number(value):
        return _is_number(expected) and _is_number(value) and expected == value
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    return bool(expected == value)


def _string_match(operator: str, argument: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    target = str(argument["equals-ignore-case"] if isinstance(argument, Mapping) else argument)
    text = str(value)
    if isinstance(argument, Mapping):
        target, text = target.lower(), text.lower()
    return text.startswith(target) if operator == "prefix" else text.endswith(target)


def _numeric(argument: list[Any], value: Any) -> bool:
    if not _is_number(value):
        return False
    number = float(value)
    checks = {
        "=": lambda bound: number == bound,
        "<": lambda bound: number < bound,
        "<=": lambda bound: number <= bound,
        ">": lambda bound: number > bound,
        ">=": lambda bound: number >= bound,
    }
    return all(
        checks[operator](float(bound)) for operator, bound in zip(argument[0::2], argument[1::2], strict=True)
    )


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, Mapping):
        [(operator, inner)] = argument.items()
        if operator == "equals-ignore-case":
            excluded = [inner] if isinstance(inner, str) else inner
            return isinstance(value, str) and value.lower() not in {item.lower() for item in excluded}
        return isinstance(value, str) and not _string_match(operator, inner, value)
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(item, value) for item in excluded)


def _meets(condition: Any, values: list[Any]) -> bool:
    if not isinstance(condition, Mapping):
        return any(_equal(condition, value) for value in values)
    [(operator, argument)] = condition.items()
    if operator == "exists":
        return bool(values) is bool(argument)
    if operator in ("prefix", "suffix"):
        return any(_string_match(operator, argument, value) for value in values)
    if operator == "equals-ignore-case":
        return any(isinstance(value, str) and value.lower() == argument.lower() for value in values)
    if operator == "numeric":
        return any(_numeric(argument, value) for value in values)
    return any(_anything_but(argument, value) for value in values)  # anything-but


@dataclass(frozen=True)
class EventPattern:
    text: str  # as written in the template
    leaves: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...]

    def matches(self, record: Any) -> bool:
        for path, conditions in self.leaves:
            values = list(_values_at(record, path))
            if not any(_meets(condition, values) for condition in conditions):
                return False
        return True


def parse_pattern(
    pattern: str | Mapping[str, Any], operators: frozenset[str] = LAMBDA_OPERATORS
) -> EventPattern:
    """The pattern (JSON text, or the object itself), checked; PatternError when it cannot be evaluated."""
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PatternError(f"the pattern is not JSON ({error})") from None
    if not isinstance(document, Mapping) or not document:
        raise PatternError("a pattern is a non-empty JSON object")
    return EventPattern(text=text, leaves=tuple(_leaves(document, operators)))


@dataclass(frozen=True)
class EventFilter:
    """Lambda's FilterCriteria: a record passes when it matches any of the patterns."""

    patterns: tuple[EventPattern, ...]

    def passes(self, record: Any) -> bool:
        return any(pattern.matches(record) for pattern in self.patterns)


# What the AWS emulator evaluates in EventBridge rules besides Lambda's operators (it would take an
# operator it does not know as a match, so a rule's pattern is checked against this list first).
RULE_OPERATORS = LAMBDA_OPERATORS | {"wildcard", "cidr"}

# Lambda's default quota of filters per event source mapping (it can be raised to 10).
MAX_FILTERS = 10


def read_filter_criteria(criteria: Any) -> EventFilter:
    """FilterCriteria as an event source mapping declares it: `{"Filters": [{"Pattern": "..."}]}`."""
    if not isinstance(criteria, Mapping) or set(criteria) - {"Filters"}:
        raise PatternError('FilterCriteria takes {"Filters": [{"Pattern": "..."}]}')
    filters = criteria.get("Filters", [])
    if not isinstance(filters, list) or not 1 <= len(filters) <= MAX_FILTERS:
        raise PatternError(f"FilterCriteria takes 1 to {MAX_FILTERS} Filters")
    patterns = []
    for number, entry in enumerate(filters, start=1):
        if not isinstance(entry, Mapping) or set(entry) != {"Pattern"}:
            raise PatternError(f'filter {number}: each filter is {{"Pattern": "..."}}')
        try:
            patterns.append(parse_pattern(entry["Pattern"]))
        except PatternError as error:
            raise PatternError(f"filter {number}: {error}") from None
    return EventFilter(patterns=tuple(patterns))
