"""Reading an event source mapping's properties (SAM `SQS` and `DynamoDB` events) strictly.

Values may come from parameters as strings ("10", "true"); each is checked against the range
Lambda accepts, and a property the local stack does not know stops it at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local_stack.event_filters import EventFilter, PatternError, read_filter_criteria
from local_stack.template import TemplateError

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


class MappingProperties:
    """One event's Properties, with the event named in every error."""

    def __init__(self, where: str, properties: Mapping[str, Any], known: set[str]) -> None:
        self.where = where
        self.properties = properties
        unknown = set(properties) - known
        if unknown:
            raise TemplateError(f"{where}: properties {sorted(unknown)} are not run locally")

    def error(self, message: str) -> TemplateError:
        return TemplateError(f"{self.where}: {message}")

    def required(self, key: str) -> str:
        if key not in self.properties:
            raise self.error(f"{key} is required")
        return str(self.properties[key])

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.properties.get(key, default)
        try:
            number = int(str(value))
        except ValueError:
            raise self.error(f"{key} must be a whole number, not {value!r}") from None
        if not low <= number <= high:
            raise self.error(f"{key} must be between {low} and {high}, not {number}")
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self.properties.get(key, default)
        if str(value).lower() not in ("true", "false"):
            raise self.error(f"{key} must be true or false, not {value!r}")
        return str(value).lower() == "true"

    def reports_batch_item_failures(self) -> bool:
        types = self.properties.get("FunctionResponseTypes", [])
        if not isinstance(types, list) or set(types) - {REPORT_BATCH_ITEM_FAILURES}:
            raise self.error(f"FunctionResponseTypes takes [{REPORT_BATCH_ITEM_FAILURES}], not {types!r}")
        return REPORT_BATCH_ITEM_FAILURES in types

    def event_filter(self) -> EventFilter | None:
        if "FilterCriteria" not in self.properties:
            return None
        try:
            return read_filter_criteria(self.properties["FilterCriteria"])
        except PatternError as error:
            raise self.error(f"FilterCriteria: {error}") from None
