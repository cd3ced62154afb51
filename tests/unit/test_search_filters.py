"""SearchFilters: every filter given must hold; the same search, however it is spelled, has one
fingerprint (so its cursors stay valid), and a different search another."""

from __future__ import annotations

from typing import Any

import pytest

from ideogram_assets.search.filters import SearchFilters
from tests.unit.search_records import CREATED_AT, PROMPT_HASH, record


def matches(record_fields: dict[str, Any], **filters: Any) -> bool:
    return SearchFilters(**filters).normalized().matches(record(**record_fields))


# -- normalized -------------------------------------------------------------------------------


def test_normalized_words_are_folded_split_and_distinct() -> None:
    filters = SearchFilters(words=("Café-Racer,", "NEON", "neon!")).normalized()
    assert filters.words == ("cafe", "neon", "racer")  # sorted: their order does not matter


def test_normalized_tags_are_lower_case_sorted_and_distinct() -> None:
    assert SearchFilters(tags=("B", "a", "b")).normalized().tags == ("a", "b")


def test_normalized_leaves_every_other_filter_as_it_is() -> None:
    filters = SearchFilters(seed=7, model="V_3", starred=False, created_from=CREATED_AT)
    assert filters.normalized() == filters


def test_normalizing_twice_changes_nothing() -> None:
    once = SearchFilters(words=("Café-Racer", "the"), tags=("X", "y")).normalized()
    assert once.normalized() == once


# -- fingerprint ------------------------------------------------------------------------------


def test_the_fingerprint_is_32_hex_characters() -> None:
    fingerprint = SearchFilters(words=("fox",)).fingerprint()
    assert len(fingerprint) == 32
    assert int(fingerprint, 16) >= 0


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (SearchFilters(words=("Café",)), SearchFilters(words=("cafe",))),
        (SearchFilters(words=("neon", "NEON")), SearchFilters(words=("neon",))),
        (SearchFilters(words=("café-racer",)), SearchFilters(words=("cafe", "racer"))),
        (SearchFilters(tags=("B", "a")), SearchFilters(tags=("a", "b"))),
        (SearchFilters(tags=("a", "a")), SearchFilters(tags=("a",))),
    ],
)
def test_spellings_of_the_same_search_share_a_fingerprint(one: SearchFilters, other: SearchFilters) -> None:
    assert one.fingerprint() == other.fingerprint()


def test_word_order_does_not_change_the_fingerprint() -> None:
    assert (
        SearchFilters(words=("red", "fox")).fingerprint() == SearchFilters(words=("fox", "red")).fingerprint()
    )


@pytest.mark.parametrize(
    "other",
    [
        SearchFilters(words=("fox", "snow")),
        SearchFilters(tags=("fox",)),
        SearchFilters(words=("fox",), seed=1),
        SearchFilters(words=("fox",), model="V_3"),
        SearchFilters(words=("fox",), style_type="REALISTIC"),
        SearchFilters(words=("fox",), status="STORED"),
        SearchFilters(words=("fox",), starred=True),
        SearchFilters(words=("fox",), starred=False),
        SearchFilters(words=("fox",), created_from=CREATED_AT),
        SearchFilters(words=("fox",), created_to=CREATED_AT),
        SearchFilters(words=("fox",), prompt_hash=PROMPT_HASH),
    ],
)
def test_any_other_filter_changes_the_fingerprint(other: SearchFilters) -> None:
    assert SearchFilters(words=("fox",)).fingerprint() != other.fingerprint()


def test_a_word_and_a_tag_of_the_same_name_are_different_searches() -> None:
    assert SearchFilters(words=("fox",)).fingerprint() != SearchFilters(tags=("fox",)).fingerprint()


# -- matches ----------------------------------------------------------------------------------


def test_no_filter_matches_every_record() -> None:
    assert matches({})
    assert matches({"status": "FAILED", "seed": None, "tags": None})


def test_every_word_must_be_in_the_prompt_or_the_expanded_prompt() -> None:
    fields = {"prompt": "a red fox", "expanded_prompt": "A red fox in a misty, snowy forest"}
    assert matches(fields, words=("fox", "misty"))
    assert matches(fields, words=("Snowy", "FOREST!"))
    assert not matches(fields, words=("fox", "desert"))


def test_words_match_whatever_their_case_accents_or_punctuation() -> None:
    assert matches({"prompt": "Café-Racer at NIGHT"}, words=("cafe", "racer", "night"))
    assert matches({"prompt": "cafe racer"}, words=("Café-Racer",))


def test_words_match_whole_words_only() -> None:
    assert not matches({"prompt": "foxglove meadow"}, words=("fox",))


def test_stop_words_in_a_query_must_still_be_in_the_text() -> None:
    assert matches({"prompt": "the fox"}, words=("the", "fox"))
    assert not matches({"prompt": "fox"}, words=("the", "fox"))


def test_words_match_words_the_record_was_not_indexed_under() -> None:
    long_prompt = " ".join(f"w{number}" for number in range(100))
    assert matches({"prompt": long_prompt, "index_words": {"w0"}}, words=("w99",))


def test_every_tag_must_be_on_the_record() -> None:
    assert matches({"tags": {"fox", "winter", "client-a"}}, tags=("Winter", "fox"))
    assert not matches({"tags": {"fox"}}, tags=("fox", "winter"))
    assert not matches({"tags": None}, tags=("fox",))


def test_seed_matches_the_seed_ideogram_used() -> None:
    assert matches({"seed": 42}, seed=42)
    assert not matches({"seed": 43}, seed=42)
    assert not matches({"seed": None}, seed=0)


@pytest.mark.parametrize(
    ("field", "value", "other"),
    [
        ("model", "V_3", "V_2"),
        ("style_type", "REALISTIC", "DESIGN"),
        ("status", "STORED", "UNSAFE"),
        ("prompt_hash", PROMPT_HASH, "cd" * 32),
    ],
)
def test_exact_value_filters_match_only_that_value(field: str, value: str, other: str) -> None:
    assert matches({field: value}, **{field: value})
    assert not matches({field: other}, **{field: value})


def test_starred_true_matches_only_starred_records() -> None:
    assert matches({"starred": True}, starred=True)
    assert not matches({"starred": None}, starred=True)


def test_starred_false_matches_only_records_without_a_star() -> None:
    assert matches({"starred": None}, starred=False)
    assert matches({"starred": False}, starred=False)
    assert not matches({"starred": True}, starred=False)


def test_time_bounds_include_both_ends() -> None:
    at = {"created_at": "2026-11-27T09:30:00.000Z"}
    assert matches(at, created_from="2026-11-27T09:30:00.000Z", created_to="2026-11-27T09:30:00.000Z")
    assert not matches(at, created_from="2026-11-27T09:30:00.001Z")
    assert not matches(at, created_to="2026-11-27T09:29:59.999Z")


def test_every_filter_must_hold_together() -> None:
    fields = {"prompt": "a red fox", "tags": {"winter"}, "seed": 42, "starred": True}
    assert matches(fields, words=("fox",), tags=("winter",), seed=42, starred=True, model="V_3")
    assert not matches(fields, words=("fox",), tags=("winter",), seed=42, starred=True, model="V_2")
