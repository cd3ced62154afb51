"""Words as search sees them: the same word whatever its case, accents or punctuation; stop
words kept in a query but never indexed; a record indexed under a bounded number of words."""

from __future__ import annotations

import pytest

from ideogram_assets.search.words import (
    MAX_WORD_CHARS,
    STOPWORDS,
    distinct_words,
    index_words,
    query_words,
    selective,
    words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NEON Fox", ["neon", "fox"]),
        ("Café crème brûlée", ["cafe", "creme", "brulee"]),
        ("Café-Racer, NEON!", ["cafe", "racer", "neon"]),
        ("snake_case/and.dots", ["snake", "case", "and", "dots"]),
        ("  tabs\tand\nnewlines  ", ["tabs", "and", "newlines"]),
        ("Straße", ["strasse"]),  # casefold, not just lower
        ("ﬁre", ["fire"]),  # compatibility ligature folded by NFKD
        ("4k 1080p", ["4k", "1080p"]),
    ],
)
def test_words_are_lower_case_accent_folded_and_split_on_punctuation(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_accented_and_plain_spellings_are_the_same_words() -> None:
    assert words("Café-Racer, NEON!") == words("cafe racer neon")


def test_words_keep_order_and_repeats() -> None:
    assert words("fox red fox") == ["fox", "red", "fox"]


def test_text_of_only_punctuation_has_no_words() -> None:
    assert words("!!! -- ... ,,,") == []
    assert words("") == []


def test_words_of_non_latin_scripts_are_kept() -> None:
    assert words("東京 タワー, Москва") == ["東京", "タワー", "москва"]


def test_a_run_longer_than_the_word_limit_is_not_a_word() -> None:
    longest = "a" * MAX_WORD_CHARS
    assert words(f"{longest} {longest}b fox") == [longest, "fox"]


def test_distinct_words_keep_first_appearance_order_across_texts() -> None:
    assert distinct_words("Red fox, red", None, "a FOX in snow") == ["red", "fox", "a", "in", "snow"]


def test_index_words_skip_stop_words() -> None:
    assert index_words("The fox and the hound in a forest", limit=10) == ["fox", "hound", "forest"]


def test_index_words_are_distinct_over_prompt_and_expanded_prompt() -> None:
    assert index_words("red fox", "A red fox under neon rain", limit=10) == [
        "red",
        "fox",
        "under",
        "neon",
        "rain",
    ]


def test_index_words_keep_only_the_first_words_up_to_the_limit() -> None:
    prompt = " ".join(f"w{number}" for number in range(100))
    indexed = index_words(prompt, limit=70)
    assert indexed == [f"w{number}" for number in range(70)]


def test_stop_words_do_not_use_up_the_index_word_limit() -> None:
    # The limit counts indexed words only: stop words before them do not use it up.
    assert index_words("the the of a red fox", limit=2) == ["red", "fox"]


def test_a_text_made_only_of_stop_words_is_indexed_under_no_word() -> None:
    assert index_words("The one and the", limit=10) == ["one"]
    assert index_words("to be or not", None, limit=10) == ["not"]
    assert index_words("the and of", limit=10) == []


def test_query_words_are_normalized_and_distinct_in_order() -> None:
    assert query_words(["Neon", "FOX,", "neon", "Café-Racer"]) == ("neon", "fox", "cafe", "racer")


def test_query_words_keep_stop_words() -> None:
    assert query_words(["The", "fox"]) == ("the", "fox")


def test_selective_words_leave_stop_words_to_the_record_check() -> None:
    assert selective(("the", "fox", "in", "snow")) == ["fox", "snow"]
    assert selective(("the", "of")) == []


def test_stop_words_are_themselves_normalized() -> None:
    assert all(words(word) == [word] for word in STOPWORDS)
