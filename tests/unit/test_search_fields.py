"""What callers write: the search filters of GET /generations and POST /exports (SearchFields)
and a PATCH of an image's labels and retention (GenerationChange); what each refuses, and the
domain filters a search turns into."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from ideogram_assets.api.generations import GenerationChange
from ideogram_assets.api.search import MAX_QUERY_CHARS, MAX_TAG_FILTERS, SearchFields, instant
from ideogram_assets.records.index_items import MAX_TAGS
from ideogram_assets.records.lifecycle import MAX_NOTE_CHARS
from ideogram_assets.search.filters import SearchFilters

HASH = "ab" * 32


def search(**fields: Any) -> SearchFilters:
    return SearchFields.model_validate(fields).filters()


def refused(model: type[SearchFields | GenerationChange], fields: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(fields)
    return str(caught.value)


# -- SearchFields: time bounds ----------------------------------------------------------------


def test_a_date_from_starts_at_the_beginning_of_its_day() -> None:
    assert search(**{"from": "2026-11-27"}).created_from == "2026-11-27T00:00:00.000Z"


def test_a_date_to_covers_its_whole_day() -> None:
    assert search(to="2026-11-27").created_to == "2026-11-27T23:59:59.999Z"


def test_a_datetime_with_an_offset_is_the_same_instant_in_utc() -> None:
    filters = search(**{"from": "2026-11-27T10:15:00+02:00", "to": "2026-11-27T10:15:00.5-05:00"})
    assert filters.created_from == "2026-11-27T08:15:00.000Z"
    assert filters.created_to == "2026-11-27T15:15:00.500Z"


def test_a_datetime_without_an_offset_is_utc() -> None:
    assert search(to="2026-11-27T10:15:00").created_to == "2026-11-27T10:15:00.000Z"


@pytest.mark.parametrize(
    ("bound", "expected_to"),
    [
        ("2026-11-27T00:00:00Z", "2026-11-27T00:00:00.000Z"),
        ("2026-11-27T00:00:00", "2026-11-27T00:00:00.000Z"),
        ("2026-11-27T00:00:00+02:00", "2026-11-26T22:00:00.000Z"),
    ],
)
def test_a_datetime_at_midnight_is_that_instant_not_the_whole_day(bound: str, expected_to: str) -> None:
    assert search(to=bound).created_to == expected_to


def test_bounds_given_as_python_dates_and_datetimes_become_instants() -> None:
    tz = timezone(timedelta(hours=1))
    fields = SearchFields.model_validate(
        {"created_from": date(2026, 11, 1), "created_to": datetime(2026, 11, 2, 1, 0, tzinfo=tz)}
    )
    assert (fields.filters().created_from, fields.filters().created_to) == (
        "2026-11-01T00:00:00.000Z",
        "2026-11-02T00:00:00.000Z",
    )


def test_instant_of_a_date_is_its_first_or_last_millisecond() -> None:
    assert instant(date(2026, 2, 28), end=False) == "2026-02-28T00:00:00.000Z"
    assert instant(date(2026, 2, 28), end=True) == "2026-02-28T23:59:59.999Z"
    assert instant(datetime(2026, 2, 28, 12, tzinfo=UTC), end=True) == "2026-02-28T12:00:00.000Z"


def test_from_after_to_is_refused() -> None:
    assert "'from' must not be after 'to'" in refused(
        SearchFields, {"from": "2026-11-28", "to": "2026-11-27"}
    )
    assert "'from'" in refused(SearchFields, {"from": "2026-11-27T10:00:01Z", "to": "2026-11-27T10:00:00Z"})


def test_from_and_to_on_the_same_day_or_instant_are_accepted() -> None:
    assert search(**{"from": "2026-11-27", "to": "2026-11-27"}).created_to == "2026-11-27T23:59:59.999Z"
    at = "2026-11-27T10:00:00Z"
    assert search(**{"from": at, "to": at}).created_from == search(**{"from": at, "to": at}).created_to


def test_a_time_within_a_date_to_is_not_after_it() -> None:
    filters = search(**{"from": "2026-11-27T22:00:00Z", "to": "2026-11-27"})
    assert filters.created_from == "2026-11-27T22:00:00.000Z"


@pytest.mark.parametrize("bound", ["yesterday", "2026-13-01", "27/11/2026", ""])
def test_a_bound_that_is_not_a_date_or_time_is_refused(bound: str) -> None:
    refused(SearchFields, {"from": bound})


# -- SearchFields: other filters --------------------------------------------------------------


def test_no_filter_is_an_empty_search() -> None:
    assert search() == SearchFilters()


def test_every_filter_reaches_the_domain_filters() -> None:
    filters = search(
        q="Red  fox, NEON",
        tags=["Winter", "client:acme"],
        seed=42,
        model="V_3",
        style_type="REALISTIC",
        status="STORED",
        starred=False,
        prompt_hash=HASH,
    )
    assert filters == SearchFilters(
        words=("Red", "fox,", "NEON"),
        tags=("winter", "client:acme"),
        seed=42,
        model="V_3",
        style_type="REALISTIC",
        status="STORED",
        starred=False,
        prompt_hash=HASH,
    )


def test_filters_can_be_given_by_their_python_names() -> None:
    fields = SearchFields.model_validate({"created_from": date(2026, 1, 1)})
    assert fields.filters().created_from == "2026-01-01T00:00:00.000Z"


@pytest.mark.parametrize("tag", ["has space", "-leading", "é", "a#b", "x" * 65])
def test_a_tag_outside_the_tag_rules_is_refused(tag: str) -> None:
    assert "tags" in refused(SearchFields, {"tags": [tag]})


def test_more_tag_filters_than_the_limit_are_refused() -> None:
    refused(SearchFields, {"tags": [f"t{number}" for number in range(MAX_TAG_FILTERS + 1)]})


def test_a_query_longer_than_the_limit_is_refused() -> None:
    longest = " ".join(["xy"] * (MAX_QUERY_CHARS // 3)).ljust(MAX_QUERY_CHARS, "z")
    assert len(search(q=longest).words) > 1
    refused(SearchFields, {"q": "x" * (MAX_QUERY_CHARS + 1)})


def test_a_query_with_no_word_is_refused() -> None:
    for query in ("!!!", "...", "x" * 41):  # punctuation only; a "word" longer than any word
        refused(SearchFields, {"q": query})


@pytest.mark.parametrize(
    "fields",
    [
        {"seed": -1},
        {"seed": "many"},
        {"model": "V_99"},
        {"style_type": "CUBIST"},
        {"status": "stored-ish"},
        {"starred": "perhaps"},
        {"prompt_hash": "AB" * 32},
        {"prompt_hash": "ab" * 31},
        {"words": ["fox"]},  # not a field: q is
    ],
)
def test_a_filter_outside_its_values_is_refused(fields: dict[str, Any]) -> None:
    refused(SearchFields, fields)


# -- GenerationChange -------------------------------------------------------------------------


@pytest.mark.parametrize("fields", [{}, {"add_tags": []}, {"add_tags": [], "remove_tags": []}])
def test_a_change_that_names_nothing_is_refused(fields: dict[str, Any]) -> None:
    assert "name what to change" in refused(GenerationChange, fields)


@pytest.mark.parametrize("fields", [{"starred": None}, {"retention_class": None}, {"legal_hold": None}])
def test_a_change_of_only_nulls_that_clear_nothing_is_refused(fields: dict[str, Any]) -> None:
    refused(GenerationChange, fields)


@pytest.mark.parametrize(
    ("fields", "labels", "retention"),
    [
        ({"add_tags": ["fox"]}, True, False),
        ({"remove_tags": ["fox"]}, True, False),
        ({"starred": False}, True, False),
        ({"note": "nice"}, True, False),
        ({"note": ""}, True, False),
        ({"note": None}, True, False),
        ({"retention_class": "permanent"}, False, True),
        ({"legal_hold": False}, False, True),
        ({"legal_hold": True, "starred": True}, True, True),
    ],
)
def test_a_change_says_whether_it_touches_labels_and_or_retention(
    fields: dict[str, Any], labels: bool, retention: bool
) -> None:
    change = GenerationChange.model_validate(fields)
    assert (change.changes_labels, change.changes_retention) == (labels, retention)


def test_a_tag_cannot_be_both_added_and_removed_whatever_its_case() -> None:
    assert "both added and removed: ['fox']" in refused(
        GenerationChange, {"add_tags": ["Fox", "snow"], "remove_tags": ["fox"]}
    )


def test_tags_to_change_are_lower_cased_sorted_and_distinct() -> None:
    change = GenerationChange.model_validate({"add_tags": ["Snow", "fox", "snow"]})
    assert change.add_tags == ["fox", "snow"]


def test_more_tags_than_a_record_may_carry_are_refused() -> None:
    refused(GenerationChange, {"add_tags": [f"t{number}" for number in range(MAX_TAGS + 1)]})


def test_an_invalid_tag_to_change_is_refused() -> None:
    refused(GenerationChange, {"remove_tags": ["not a tag"]})


@pytest.mark.parametrize("note", ["line one\nline two", "a\ttab", "émoji 🦊", "x" * MAX_NOTE_CHARS])
def test_a_note_of_text_tabs_and_newlines_is_accepted(note: str) -> None:
    assert GenerationChange.model_validate({"note": note}).note == note


@pytest.mark.parametrize("note", ["null\x00byte", "\x1b[31mred", "bell\x07", "carriage\rreturn"])
def test_a_note_with_control_characters_is_refused(note: str) -> None:
    assert "control characters" in refused(GenerationChange, {"note": note})


def test_a_note_longer_than_the_limit_is_refused() -> None:
    refused(GenerationChange, {"note": "x" * (MAX_NOTE_CHARS + 1)})


@pytest.mark.parametrize("value", ["true", 1, "yes", 0])
def test_star_and_legal_hold_must_be_json_booleans(value: Any) -> None:
    refused(GenerationChange, {"starred": value})
    refused(GenerationChange, {"legal_hold": value})


def test_an_unknown_field_is_refused() -> None:
    refused(GenerationChange, {"starred": True, "favourite": True})
