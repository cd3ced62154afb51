"""The search benchmark's pure logic: the plan of records, the searches chosen from it, the
Scan-and-filter baseline's paging, the bulk loader, the write-cost pricing and the verdicts.

Nothing here talks to a server: clients are small fakes that answer as DynamoDB would.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from bench.harness import BenchmarkError
from bench.search import Loaded, PageFigures, Results, examined_bound, verdicts
from bench.search_cases import SearchCase, choose, newest_first, scan_and_filter
from bench.search_fixture import (
    PLANTED_WITHIN,
    PLANTED_WORD,
    TAGS,
    BulkLoader,
    CounterItems,
    RecordBuilder,
    Zipf,
    frequencies,
    items_of,
    plan,
    vocabulary,
)
from bench.search_write_cost import (
    Gsi,
    ItemWrite,
    Step,
    costs,
    gsi_writes,
    item_bytes,
    options,
    step_cost,
    template_gsis,
    value_bytes,
    write_units,
)
from bench.search_writes_child import keys_named
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.records.counters import totals
from ideogram_assets.retention.policy import RetentionPolicy
from ideogram_assets.search.filters import SearchFilters

POLICY = RetentionPolicy(short_days=30, standard_days=365, grace_days=7)
PLANNED = list(plan(3000))

# ------------------------------------------------------------------------------------ the plan


def test_a_smaller_plan_is_the_start_of_a_larger_one() -> None:
    assert list(plan(700)) == PLANNED[:700]


def test_the_planted_word_is_in_the_same_records_at_every_size() -> None:
    holders = [planned.number for planned in PLANNED if PLANTED_WORD in planned.prompt.split()]
    assert len(holders) == PLANTED_WITHIN // 20
    assert max(holders) < PLANTED_WITHIN
    assert PLANTED_WORD not in vocabulary()


def test_words_follow_a_zipf_like_distribution() -> None:
    found = frequencies(PLANNED, (3000,))[3000]
    ranked = [count for _, count in found.words.most_common()]
    assert ranked[0] > 0.5 * found.records  # the head is in most prompts
    assert ranked[len(ranked) // 2] < 0.01 * found.records  # the middle of the tail is rare
    assert len(ranked) > 1000


def test_zipf_draws_favour_the_first_ranks() -> None:
    import random

    draws = Counter(Zipf(["a", "b", "c", "d"], 1.0).draw(random.Random(1), 20_000))
    assert draws["a"] > draws["b"] > draws["c"] > draws["d"]
    assert 1.7 < draws["a"] / draws["b"] < 2.3


def test_records_vary_as_a_library_does() -> None:
    tag_counts = Counter(len(planned.tags) for planned in PLANNED)
    assert set(tag_counts) == {0, 1, 2, 3, 4, 5}
    assert all(set(planned.tags) <= set(TAGS) for planned in PLANNED)
    assert len({f"{planned.created:%Y-%m}" for planned in PLANNED}) == 12
    outcomes = Counter(planned.outcome for planned in PLANNED)
    assert outcomes["STORED"] > 0.9 * len(PLANNED)
    assert outcomes["UNSAFE"]
    assert outcomes["FAILED"]
    assert 0.6 < sum(planned.expanded_prompt is not None for planned in PLANNED) / len(PLANNED) < 0.8
    seeds = Counter(planned.seed for planned in PLANNED)
    assert seeds.most_common(1)[0][1] > 20  # a favourite seed, reused


def test_every_planned_record_is_one_the_product_accepts_and_indexes() -> None:
    builder = RecordBuilder("bucket", POLICY)
    for planned in PLANNED[:300]:
        generate_params(builder.spec(planned))  # raises on what the model cannot take
        record = builder.build(planned)
        assert record.status == planned.outcome
        items = items_of(record)
        assert items[0]["PK"] == {"S": f"GEN#{record.id}"}
        partitions = {item["PK"]["S"] for item in items[1:]}
        if planned.indexed:
            assert partitions == {f"TOKEN#{word}" for word in planned.words()} | {
                f"TAG#{tag}" for tag in planned.tags
            }
        else:
            assert partitions == set()


def test_counter_items_add_up_the_records() -> None:
    builder = RecordBuilder("bucket", POLICY)
    counters = CounterItems()
    for planned in PLANNED[:200]:
        counters.add(builder.build(planned))
    rows = [
        {"SK": item["SK"]["S"], **{name: int(value["N"]) for name, value in item.items() if "N" in value}}
        for item in counters.items()
    ]
    summed = totals(rows)
    assert sum(values["records"] for values in summed["status"].values()) == 200
    stored = sum(planned.outcome == "STORED" for planned in PLANNED[:200])
    assert summed["status"]["STORED"]["images"] == stored


# ------------------------------------------------------------------------------- the searches


def test_the_searches_are_chosen_from_the_frequencies() -> None:
    found = frequencies(PLANNED, (1000, 3000))
    cases = {case.key: case for case in choose(found)}
    assert list(cases) == ["rare", "mid", "common", "tag", "seed", "model+month"]
    assert cases["rare"].filters.words == (PLANTED_WORD,)
    largest = found[3000]
    assert abs(largest.words[cases["mid"].filters.words[0]] - 90) < 30
    assert largest.words[cases["common"].filters.words[0]] > 600
    for case in cases.values():
        assert case.filters.words or case.filters.tags or case.filters.seed or case.filters.model


def test_index_item_searches_skip_records_search_does_not_index() -> None:
    builder = RecordBuilder("bucket", POLICY)
    failed = builder.build(next(planned for planned in PLANNED if planned.outcome == "FAILED"))
    by_model = SearchCase("m", "m", SearchFilters(model=failed.model), False, "", {})
    by_word = SearchCase("w", "w", SearchFilters(words=(failed.prompt.split()[0],)), True, "", {})
    assert by_model.finds(failed)
    assert not by_word.finds(failed)


def test_newest_first_breaks_ties_by_id_as_the_indexes_do() -> None:
    found = [("2025-01-02", "a"), ("2025-03-01", "b"), ("2025-01-02", "c")]
    assert newest_first(found) == ["b", "c", "a"]


class _ScanClient:
    """Pages of 3 items, each page counting 10 items read."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.requests: list[dict[str, Any]] = []

    def scan(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        start = int(request.get("ExclusiveStartKey", {}).get("n", 0))
        page = self.items[start : start + 3]
        answer: dict[str, Any] = {"Items": page, "ScannedCount": 10}
        if start + 3 < len(self.items):
            answer["LastEvaluatedKey"] = {"n": start + 3}
        return answer


def test_scan_and_filter_reads_every_page_then_keeps_the_newest() -> None:
    items = [{"createdAt": {"S": f"2025-01-{day:02d}"}, "id": {"S": f"id{day}"}} for day in range(1, 9)]
    client = _ScanClient(items)
    case = SearchCase(
        "t", "t", SearchFilters(tags=("x",)), True, "contains(tags, :tag)", {":tag": {"S": "x"}}
    )
    answer = scan_and_filter(client, "table", case, limit=2)
    assert (answer.pages, answer.scanned, answer.matches) == (3, 30, 8)
    assert answer.top == ["id8", "id7"]
    assert client.requests[0]["FilterExpression"] == "contains(tags, :tag)"
    assert "ExpressionAttributeNames" not in client.requests[0]


# ------------------------------------------------------------------------------------- loading


class _WriteClient:
    def __init__(self, unprocessed_first: bool = False, never: bool = False) -> None:
        self.batches: list[int] = []
        self._unprocessed_first = unprocessed_first
        self._never = never

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        [(table, requests)] = RequestItems.items()
        self.batches.append(len(requests))
        if self._never or (self._unprocessed_first and len(self.batches) == 1):
            return {"UnprocessedItems": {table: requests[:1]}}
        return {}


def test_the_loader_writes_batches_of_25_and_retries_what_was_left() -> None:
    client = _WriteClient(unprocessed_first=True)
    loader = BulkLoader(lambda: client, threads=1)
    loader.add("t", ({"n": {"N": str(n)}} for n in range(60)))
    loader.add("u", [{"n": {"N": "1"}}])
    loader.close()
    assert loader.items_written == Counter({"t": 60, "u": 1})
    assert sorted(client.batches) == [1, 1, 10, 25, 25]


def test_the_loader_fails_when_items_stay_unprocessed() -> None:
    loader = BulkLoader(lambda: _WriteClient(never=True), threads=1)
    loader.add("t", [{"n": {"N": "1"}}])
    with pytest.raises(BenchmarkError):
        loader.close()


# ----------------------------------------------------------------------------------- write cost


def test_values_are_sized_as_dynamodb_sizes_them() -> None:
    assert value_bytes({"S": "héllo"}) == 6
    assert value_bytes({"N": "1234567"}) == 5  # 7 significant digits: 4 bytes, plus 1
    assert value_bytes({"N": "100"}) == 2
    assert value_bytes({"BOOL": True}) == 1
    assert value_bytes({"SS": ["ab", "cde"]}) == 5
    assert value_bytes({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert value_bytes({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert item_bytes({"PK": {"S": "GEN#1"}, "n": {"N": "5"}}) == 2 + 5 + 1 + 2


def test_write_units_round_up_to_the_kilobyte_and_double_in_transactions() -> None:
    assert write_units(1) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(1025, transactional=True) == 4


def _record(**extra: str) -> dict[str, Any]:
    return {
        "PK": {"S": "GEN#1"},
        "SK": {"S": "META"},
        **{name: {"S": value} for name, value in extra.items()},
    }


BY_MODEL = Gsi("ByModel", "model", "createdAt", "ALL")


def test_a_gsi_is_written_when_the_item_enters_leaves_or_changes_there() -> None:
    before = _record(model="V_2", createdAt="t", note="a")
    assert [write.kind for write in gsi_writes(BY_MODEL, None, before)] == ["put"]
    assert [write.kind for write in gsi_writes(BY_MODEL, before, None)] == ["delete"]
    assert [write.kind for write in gsi_writes(BY_MODEL, before, _record(model="V_3", createdAt="t"))] == [
        "delete",
        "put",
    ]
    assert [
        write.kind for write in gsi_writes(BY_MODEL, before, _record(model="V_2", createdAt="t", note="b"))
    ] == ["update"]
    assert gsi_writes(BY_MODEL, before, dict(before)) == []
    assert gsi_writes(BY_MODEL, _record(note="a"), _record(note="b")) == []  # never in the index


def test_keys_only_and_include_ignore_attributes_they_do_not_project() -> None:
    before = _record(model="V_2", createdAt="t", note="a", status="PENDING")
    after = _record(model="V_2", createdAt="t", note="b", status="PENDING")
    assert gsi_writes(BY_MODEL.projected_as("KEYS_ONLY"), before, after) == []
    include = Gsi("ByModel", "model", "createdAt", "INCLUDE", ("status",))
    assert gsi_writes(include, before, after) == []
    assert len(gsi_writes(include, before, {**after, "status": {"S": "STORED"}})) == 1


def test_a_transaction_costs_twice_the_larger_of_before_and_after_for_each_item() -> None:
    big = _record(model="V_2", createdAt="t", note="x" * 1500)
    small = _record(model="V_2", createdAt="t", note="y")
    step = Step("stored", "TransactWriteItems", [ItemWrite(big, small), ItemWrite(None, _record())])
    cost = step_cost(step, [BY_MODEL])
    assert cost.items == 2
    assert cost.table_units == 2 * 2 + 2 * 1
    assert [(write.kind, write.units) for write in cost.gsi] == [("update", 2)]


def test_requests_of_one_step_are_added_up() -> None:
    counter = Step("counters", "UpdateItem", [ItemWrite(None, {"PK": {"S": "COUNTER"}, "SK": {"S": "a#0"}})])
    merged = costs([counter, counter, counter], [BY_MODEL])
    assert len(merged) == 1
    assert (merged[0].operation, merged[0].items, merged[0].table_units) == ("UpdateItem x 3", 3, 3)


def test_the_template_s_indexes_and_the_options_priced() -> None:
    gsis = {gsi.name: gsi for gsi in template_gsis()}
    assert gsis["ByExpiryDay"].projection == "INCLUDE"
    assert "status" in gsis["ByExpiryDay"].included
    choices = options(list(gsis.values()))
    assert choices[0].name == "as in template.yaml"
    keys_only = {gsi.name: gsi.projection for gsi in choices[-1].apply(list(gsis.values()))}
    assert keys_only["ByExpiryDay"] == "INCLUDE"
    assert {keys_only[name] for name in gsis if gsis[name].projection == "ALL"} <= {"KEYS_ONLY"}


def test_the_keys_a_write_request_names() -> None:
    key = {"PK": {"S": "GEN#1"}, "SK": {"S": "META"}}
    transaction = {
        "TransactItems": [
            {"Update": {"TableName": "t", "Key": key}},
            {"Put": {"TableName": "t", "Item": {**key, "x": {"S": "y"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": key}},
        ]
    }
    assert keys_named("TransactWriteItems", transaction) == [("t", key), ("t", key)]
    assert keys_named("UpdateItem", {"TableName": "t", "Key": key}) == [("t", key)]
    assert keys_named("PutItem", {"TableName": "t", "Item": {**key, "x": {"S": "y"}}}) == [("t", key)]


# -------------------------------------------------------------------------------------- verdicts


def test_the_bound_and_the_verdicts_take_the_worst_page() -> None:
    assert examined_bound(20) == 65
    assert examined_bound(0) == 25
    cases = choose(frequencies(PLANNED, (1000, 3000)))
    pages = {
        (case.key, size): [PageFigures(20, 40, 40, 1, 1, 0.1), PageFigures(5, 30, 30, 2, 1, 0.1)]
        for case, size in itertools.product(cases, (1000, 3000))
    }
    timed = {
        (case.key, size): [
            PageFigures(20, 40, 40, 1, 1, seconds, seconds / 2, seconds / 3) for seconds in (0.1, 0.12)
        ]
        for case, size in itertools.product(cases, (1000, 3000))
    }
    loaded = Loaded(1.0, 0.5, {1000: 1, 3000: 3}, 1, None, {}, {})
    results = Results((1000, 3000), cases, loaded, pages, timed, {})
    comparisons = verdicts(results)
    assert len(comparisons) == len(cases) * 2 + len(cases)
    examined = comparisons[0]
    assert (examined.candidate, examined.baseline) == ((30,), (35,))  # 30 of 35 is worse than 40 of 65
    assert all(comparison.passed for comparison in comparisons)
    assert comparisons[-1].candidate == (0.1, 0.12)
    assert results.part_ms(("rare", 1000)) == "55 / 37"


def test_the_recommendation_names_what_keys_only_saves() -> None:
    from bench.search_write_cost import recommendation

    gsis = [Gsi("BySeed", "seed", "createdAt", "ALL"), Gsi("ByTimeBucket", "timeBucket", "createdAt", "ALL")]
    pending = _record(seed="1", timeBucket="d", createdAt="t", note="a")
    stored = _record(seed="1", timeBucket="d", createdAt="t", note="b")
    steps = [
        Step("create", "TransactWriteItems", [ItemWrite(None, pending)]),
        Step("stored", "TransactWriteItems", [ItemWrite(pending, stored)]),
    ]
    text = recommendation(steps, gsis, stored)
    # Template: 2 + 2 table units, BySeed put + update, ByTimeBucket put + update: 8 units.
    # KEYS_ONLY on BySeed drops its update: 7 units; on both: 6 units.
    assert "writes 7 units instead of 8 (1 fewer, 12%" in text
    assert "would bring it to 6 units (2 in GSIs)" in text
