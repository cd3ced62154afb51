"""Search sources over a fake DynamoDB client (no network): the key conditions each one sends
(time bounds that include an index item created at the bound itself), the candidates and resume
keys it reads back, and the days the day source walks (newest first, skipping months without
records, resuming mid-day)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import pytest

from ideogram_assets.search.sources import (
    Bounds,
    Candidate,
    DaySource,
    IndexSource,
    PartitionSource,
    _range_condition,
    generation_id,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

START = "2026-11-01T00:00:00.000Z"
END = "2026-11-27T23:59:59.999Z"
TODAY = date(2026, 11, 3)


def item_key(generation: str) -> dict[str, Any]:
    return {"PK": {"S": f"GEN#{generation}"}, "SK": {"S": "META"}}


class ScriptedClient:
    """Answers each Query with the next scripted page and keeps the requests."""

    def __init__(self, *pages: dict[str, Any]) -> None:
        self._pages = list(pages)
        self.requests: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return self._pages.pop(0)


class DayTable:
    """ByTimeBucket as DynamoDB answers it: per day, newest first, `Limit` items, and a
    LastEvaluatedKey whenever the limit was reached (even when nothing is left)."""

    def __init__(self, created: list[str]) -> None:
        self.items = sorted(
            (
                {
                    **item_key(f"g{number:03d}"),
                    "id": {"S": f"g{number:03d}"},
                    "timeBucket": {"S": at[:10]},
                    "createdAt": {"S": at},
                }
                for number, at in enumerate(created)
            ),
            key=lambda item: item["createdAt"]["S"],
            reverse=True,
        )
        self.days_queried: list[str] = []

    def query(self, **request: Any) -> dict[str, Any]:
        values = request["ExpressionAttributeValues"]
        day = values[":day"]["S"]
        self.days_queried.append(day)
        rows = [item for item in self.items if item["timeBucket"]["S"] == day]
        rows = [row for row in rows if self._in_bounds(row["createdAt"]["S"], values)]
        start = request.get("ExclusiveStartKey")
        if start is not None:
            position = next(index for index, row in enumerate(rows) if row["PK"] == start["PK"])
            rows = rows[position + 1 :]
        page = rows[: request["Limit"]]
        reply: dict[str, Any] = {"Items": page, "ScannedCount": len(page)}
        if len(page) == request["Limit"]:
            last = page[-1]
            reply["LastEvaluatedKey"] = {name: last[name] for name in ("PK", "SK", "timeBucket", "createdAt")}
        return reply

    @staticmethod
    def _in_bounds(created_at: str, values: dict[str, Any]) -> bool:
        low: str = values.get(":start", {}).get("S", "")
        high: str = values.get(":end", {}).get("S", "\uffff")
        return low <= created_at <= high


def client(fake: object) -> DynamoDBClient:
    return cast("DynamoDBClient", fake)


def months(*names: str) -> Callable[[], set[str]]:
    return lambda: set(names)


# -- _range_condition -------------------------------------------------------------------------


def test_no_bounds_add_no_condition() -> None:
    assert _range_condition("SK", Bounds()) == ("", {})


def test_a_start_bound_alone_is_a_lower_limit() -> None:
    assert _range_condition("createdAt", Bounds(start=START)) == (
        " AND createdAt >= :start",
        {":start": {"S": START}},
    )


def test_an_end_bound_alone_is_an_upper_limit_with_its_suffix() -> None:
    assert _range_condition("SK", Bounds(end=END), end_suffix="~") == (
        " AND SK <= :end",
        {":end": {"S": END + "~"}},
    )


def test_both_bounds_make_a_between_with_the_suffix_on_the_end_only() -> None:
    assert _range_condition("SK", Bounds(START, END), end_suffix="~") == (
        " AND SK BETWEEN :start AND :end",
        {":start": {"S": START}, ":end": {"S": END + "~"}},
    )


def test_an_index_item_created_at_either_bound_is_inside_the_range() -> None:
    _, values = _range_condition("SK", Bounds(START, END), end_suffix="~")
    low, high = values[":start"]["S"], values[":end"]["S"]
    for created_at in (START, END):
        sort_key = f"{created_at}#{'f' * 32}"
        assert low <= sort_key <= high
    assert f"{END}#{'0' * 32}" > END  # why the end bound needs its suffix


def test_an_index_item_a_millisecond_outside_a_bound_is_outside_the_range() -> None:
    _, values = _range_condition("SK", Bounds(START, END), end_suffix="~")
    low, high = values[":start"]["S"], values[":end"]["S"]
    assert not low <= f"2026-10-31T23:59:59.999Z#{'0' * 32}" <= high
    assert not low <= f"2026-11-28T00:00:00.000Z#{'0' * 32}" <= high


# -- PartitionSource and IndexSource ----------------------------------------------------------


def test_a_partition_is_read_newest_first_within_the_bounds() -> None:
    fake = ScriptedClient({"Items": [], "ScannedCount": 0})
    PartitionSource(client(fake), "table", "TOKEN#fox", Bounds(START, END)).read(None, 25)
    (request,) = fake.requests
    assert request["TableName"] == "table"
    assert request["KeyConditionExpression"] == "PK = :pk AND SK BETWEEN :start AND :end"
    assert request["ExpressionAttributeValues"][":pk"] == {"S": "TOKEN#fox"}
    assert request["ExpressionAttributeValues"][":end"] == {"S": END + "~"}
    assert request["ScanIndexForward"] is False
    assert request["Limit"] == 25
    assert "IndexName" not in request
    assert "ExclusiveStartKey" not in request


def test_a_partition_read_gives_candidates_from_sort_keys_and_resumes_from_a_key() -> None:
    items = [
        {
            "PK": {"S": "TAG#fox"},
            "SK": {"S": f"2026-11-27T09:3{n}:00.000Z#{n:032x}"},
            "id": {"S": f"{n:032x}"},
        }
        for n in (2, 1)
    ]
    last = {"PK": items[-1]["PK"], "SK": items[-1]["SK"]}
    fake = ScriptedClient({"Items": items, "ScannedCount": 2, "LastEvaluatedKey": last})
    source = PartitionSource(client(fake), "table", "TAG#fox", Bounds())
    read = source.read({"PK": {"S": "TAG#fox"}, "SK": {"S": "x"}}, 2)
    assert fake.requests[0]["ExclusiveStartKey"] == {"PK": {"S": "TAG#fox"}, "SK": {"S": "x"}}
    assert read.candidates == [
        Candidate(f"{2:032x}", "2026-11-27T09:32:00.000Z", {"PK": items[0]["PK"], "SK": items[0]["SK"]}),
        Candidate(f"{1:032x}", "2026-11-27T09:31:00.000Z", last),
    ]
    assert read.after == last
    assert read.examined == 2
    assert source.name == "p:TAG#fox"


def test_an_index_source_queries_its_gsi_by_attribute_and_time() -> None:
    item = {**item_key("abc"), "id": {"S": "abc"}, "seed": {"N": "42"}, "createdAt": {"S": START}}
    fake = ScriptedClient({"Items": [item], "ScannedCount": 1})
    source = IndexSource(client(fake), "table", "BySeed", "seed", {"N": "42"}, Bounds(start=START))
    read = source.read(None, 10)
    (request,) = fake.requests
    assert request["IndexName"] == "BySeed"
    assert request["KeyConditionExpression"] == "#attribute = :value AND createdAt >= :start"
    assert request["ExpressionAttributeNames"] == {"#attribute": "seed"}
    assert request["ExpressionAttributeValues"][":value"] == {"N": "42"}
    assert read.candidates == [
        Candidate("abc", START, {**item_key("abc"), "seed": {"N": "42"}, "createdAt": {"S": START}})
    ]
    assert read.after is None
    assert source.name == "i:BySeed"


def test_the_record_an_index_entry_points_to_is_its_id_or_its_table_key() -> None:
    assert generation_id({"id": {"S": "abc"}, **item_key("other")}) == "abc"
    assert generation_id(item_key("abc")) == "abc"


# -- DaySource: the days it walks -------------------------------------------------------------


def days(bounds: Bounds, *names: str, start_day: str | None = None) -> list[str]:
    source = DaySource(client(None), "table", bounds, TODAY, months(*names))
    return source._days(start_day)


def test_days_run_from_today_back_to_the_first_day_of_the_oldest_month_with_records() -> None:
    assert days(Bounds(), "2026-11") == ["2026-11-03", "2026-11-02", "2026-11-01"]


def test_days_of_months_without_records_are_skipped() -> None:
    walked = days(Bounds(), "2026-09", "2026-11")
    assert walked[:3] == ["2026-11-03", "2026-11-02", "2026-11-01"]
    assert walked[3] == "2026-09-30"
    assert walked[-1] == "2026-09-01"
    assert len(walked) == 3 + 30
    assert not any(day.startswith("2026-10") for day in walked)


def test_days_start_at_the_end_bound_rather_than_today() -> None:
    assert days(Bounds(end="2026-09-02T10:00:00.000Z"), "2026-09", "2026-11") == ["2026-09-02", "2026-09-01"]


def test_days_stop_at_the_start_bound() -> None:
    assert days(Bounds(start="2026-11-02T23:00:00.000Z"), "2026-09", "2026-11") == [
        "2026-11-03",
        "2026-11-02",
    ]


def test_a_start_bound_before_the_oldest_month_stops_at_that_month() -> None:
    walked = days(Bounds(start="2020-01-01T00:00:00.000Z"), "2026-11")
    assert walked == ["2026-11-03", "2026-11-02", "2026-11-01"]


def test_a_resumed_walk_starts_at_the_day_it_stopped_on() -> None:
    assert days(Bounds(), "2026-11", start_day="2026-11-02") == ["2026-11-02", "2026-11-01"]


def test_a_resumed_walk_never_goes_past_the_end_bound() -> None:
    walked = days(Bounds(end="2026-11-01T12:00:00.000Z"), "2026-11", start_day="2026-11-03")
    assert walked == ["2026-11-01"]


def test_no_month_with_records_means_no_day_to_read() -> None:
    source = DaySource(client(None), "table", Bounds(), TODAY, months())
    assert source._days(None) == []


def test_bounds_in_the_wrong_order_walk_no_day() -> None:
    assert days(Bounds(start="2026-11-03T00:00:00.000Z", end="2026-11-01T00:00:00.000Z"), "2026-11") == []


# -- DaySource: reading -----------------------------------------------------------------------


def read_all(source: DaySource, count: int) -> list[str]:
    found, after = [], None
    while True:
        read = source.read(after, count)
        found += [candidate.generation_id for candidate in read.candidates]
        if read.after is None:
            return found
        after = read.after


CREATED = [
    "2026-09-15T08:00:00.000Z",  # g000
    "2026-11-01T08:00:00.000Z",  # g001
    "2026-11-01T09:00:00.000Z",  # g002
    "2026-11-02T07:00:00.000Z",  # g003
    "2026-11-03T06:00:00.000Z",  # g004
    "2026-11-03T06:30:00.000Z",  # g005
]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 10])
def test_reading_the_days_in_pages_gives_every_record_once_newest_first(count: int) -> None:
    table = DayTable(CREATED)
    source = DaySource(client(table), "table", Bounds(), TODAY, months("2026-09", "2026-11"))
    assert read_all(source, count) == ["g005", "g004", "g003", "g002", "g001", "g000"]


def test_a_read_fills_its_count_across_days() -> None:
    table = DayTable(CREATED)
    source = DaySource(client(table), "table", Bounds(), TODAY, months("2026-11"))
    read = source.read(None, 4)
    assert [candidate.generation_id for candidate in read.candidates] == ["g005", "g004", "g003", "g002"]
    assert read.after == read.candidates[-1].after
    assert read.after["day"] == "2026-11-01"


def test_the_days_read_respect_the_time_bounds() -> None:
    table = DayTable(CREATED)
    bounds = Bounds("2026-11-01T08:30:00.000Z", "2026-11-03T06:00:00.000Z")
    source = DaySource(client(table), "table", bounds, TODAY, months("2026-09", "2026-11"))
    assert read_all(source, 2) == ["g004", "g003", "g002"]
    assert set(table.days_queried) == {"2026-11-03", "2026-11-02", "2026-11-01"}


def test_the_months_with_records_are_asked_once_per_source() -> None:
    asked: list[int] = []

    def counted() -> set[str]:
        asked.append(1)
        return {"2026-11"}

    source = DaySource(client(DayTable(CREATED)), "table", Bounds(), TODAY, counted)
    read_all(source, 1)
    assert len(asked) == 1


def test_examined_sums_every_query_of_the_read() -> None:
    source = DaySource(client(DayTable(CREATED)), "table", Bounds(), TODAY, months("2026-09", "2026-11"))
    read = source.read(None, 10)
    assert read.examined == 6
    assert read.after is None
