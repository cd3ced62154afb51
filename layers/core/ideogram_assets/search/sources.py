"""Where a search reads candidates from, newest first: an index partition, a GSI, or the days.

Every source answers `read(after, count)` with at most `count` candidates older than `after`
(a key it gave before; None: from the newest), the key to go on from (None: nothing older), and
the items DynamoDB examined (its ScannedCount), so what a search costs is counted, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# An instant's upper bound within an index item's sort key `<createdAt>#<id>`: '~' sorts after '#'.
_AFTER_ID = "~"


@dataclass(frozen=True)
class Candidate:
    generation_id: str
    created_at: str
    after: Any  # the key to read on from, just past this candidate


@dataclass(frozen=True)
class Read:
    candidates: list[Candidate]
    after: Any  # None: the source has nothing older
    examined: int


class Source(Protocol):
    name: str

    def read(self, after: Any, count: int) -> Read: ...


@dataclass(frozen=True)
class Bounds:
    """Creation time bounds, both included (ISO-8601 UTC instants)."""

    start: str | None = None
    end: str | None = None


def _range_condition(name: str, bounds: Bounds, *, end_suffix: str = "") -> tuple[str, dict[str, Any]]:
    if bounds.start and bounds.end:
        return f" AND {name} BETWEEN :start AND :end", {
            ":start": {"S": bounds.start},
            ":end": {"S": bounds.end + end_suffix},
        }
    if bounds.start:
        return f" AND {name} >= :start", {":start": {"S": bounds.start}}
    if bounds.end:
        return f" AND {name} <= :end", {":end": {"S": bounds.end + end_suffix}}
    return "", {}


def generation_id(item: dict[str, Any]) -> str:
    """The record an index entry points to (whatever the index projects, it has the table's key)."""
    return str(item["id"]["S"]) if "id" in item else str(item["PK"]["S"]).removeprefix("GEN#")


class _Query:
    """One Query, newest first, with the keys that resume it."""

    def __init__(
        self, client: DynamoDBClient, table: str, index: str | None, key_names: Sequence[str]
    ) -> None:
        self._client = client
        self._table = table
        self._index = index
        self._key_names = key_names

    def run(
        self, condition: str, names: dict[str, str], values: dict[str, Any], after: Any, count: int
    ) -> tuple[list[dict[str, Any]], Any, int, list[Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": count,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        if self._index:
            request["IndexName"] = self._index
        if after:
            request["ExclusiveStartKey"] = after
        page = self._client.query(**request)
        items = page.get("Items", [])
        resume = [{name: item[name] for name in self._key_names} for item in items]
        return items, page.get("LastEvaluatedKey"), int(page.get("ScannedCount", len(items))), resume


class PartitionSource:
    """Index items of one partition (TOKEN#word, TAG#tag, STARRED): `<createdAt>#<id>` keys."""

    def __init__(self, client: DynamoDBClient, table: str, partition: str, bounds: Bounds) -> None:
        self.name = f"p:{partition}"
        self._query = _Query(client, table, None, ("PK", "SK"))
        self._partition = partition
        self._bounds = bounds

    def read(self, after: Any, count: int) -> Read:
        extra, values = _range_condition("SK", self._bounds, end_suffix=_AFTER_ID)
        values[":pk"] = {"S": self._partition}
        items, last, examined, resume = self._query.run("PK = :pk" + extra, {}, values, after, count)
        candidates = []
        for item, key in zip(items, resume, strict=True):
            created_at, _, generation_id = item["SK"]["S"].partition("#")
            candidates.append(Candidate(generation_id, created_at, key))
        return Read(candidates, last, examined)


class IndexSource:
    """A GSI keyed by one attribute and createdAt (BySeed, ByModel, ByStyle, ByPromptHash...)."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        index: str,
        attribute: str,
        value: dict[str, str],
        bounds: Bounds,
    ) -> None:
        self.name = f"i:{index}"
        self._query = _Query(client, table, index, ("PK", "SK", attribute, "createdAt"))
        self._attribute = attribute
        self._value = value
        self._bounds = bounds

    def read(self, after: Any, count: int) -> Read:
        extra, values = _range_condition("createdAt", self._bounds)
        values[":value"] = self._value
        condition = "#attribute = :value" + extra
        names = {"#attribute": self._attribute}
        items, last, examined, resume = self._query.run(condition, names, values, after, count)
        candidates = [
            Candidate(generation_id(item), item["createdAt"]["S"], key)
            for item, key in zip(items, resume, strict=True)
        ]
        return Read(candidates, last, examined)


class DaySource:
    """Everything, newest first: ByTimeBucket one day at a time, from the last day of the range
    back to its first, skipping months the counters say hold no record."""

    name = "days"

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        bounds: Bounds,
        today: date,
        months_with_records: Callable[[], set[str]],
    ) -> None:
        self._query = _Query(client, table, "ByTimeBucket", ("PK", "SK", "timeBucket", "createdAt"))
        self._bounds = bounds
        self._today = today
        self._months = months_with_records
        self._known_months: set[str] | None = None

    def _days(self, start_day: str | None) -> list[str]:
        months = self._known_months = self._known_months if self._known_months is not None else self._months()
        if not months:
            return []
        last = date.fromisoformat(self._bounds.end[:10]) if self._bounds.end else self._today
        first = date.fromisoformat(self._bounds.start[:10]) if self._bounds.start else None
        oldest = date.fromisoformat(min(months) + "-01")
        first = max(first, oldest) if first else oldest
        if start_day:
            last = min(last, date.fromisoformat(start_day))
        days = []
        day = last
        while day >= first:
            if f"{day:%Y-%m}" in months:
                days.append(day.isoformat())
            day -= timedelta(days=1)
        return days

    def read(self, after: Any, count: int) -> Read:
        start_day, key = (after["day"], after["key"]) if after else (None, None)
        candidates: list[Candidate] = []
        examined = 0
        extra, values = _range_condition("createdAt", self._bounds)
        for day in self._days(start_day):
            resume_key = key if day == start_day else None
            while len(candidates) < count:
                values[":day"] = {"S": day}
                items, last, scanned, resume = self._query.run(
                    "timeBucket = :day" + extra, {}, dict(values), resume_key, count - len(candidates)
                )
                examined += scanned
                candidates.extend(
                    Candidate(generation_id(item), item["createdAt"]["S"], {"day": day, "key": resume_key_})
                    for item, resume_key_ in zip(items, resume, strict=True)
                )
                if last is None:
                    break
                resume_key = last
            if len(candidates) >= count:
                return Read(candidates, candidates[-1].after, examined)
        return Read(candidates, None, examined)
