"""POST /batches' body: 1-1,000 generation requests, item ids unique in the batch (a missing one is
the item's 1-based position), and each item's message body as the ingest will read it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ideogram_assets.api.batches import MAX_BATCH_ITEMS, BatchRequest, item_ids


def batch(*items: dict[str, Any], **fields: Any) -> BatchRequest:
    return BatchRequest.model_validate({"items": list(items), **fields})


def refusal(body: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        BatchRequest.model_validate(body)
    return [dict(error) for error in caught.value.errors()]


def test_items_without_ids_are_known_by_their_position() -> None:
    request = batch({"prompt": "a fox"}, {"prompt": "a cat", "item_id": "cat"}, {"prompt": "a hen"})
    assert item_ids(request.items) == ["1", "cat", "3"]
    assert [item.item_id for item in request.new_items()] == ["1", "cat", "3"]


def test_a_batch_holds_one_to_a_thousand_items() -> None:
    assert len(batch(*[{"prompt": f"fox {n}"} for n in range(MAX_BATCH_ITEMS)]).items) == MAX_BATCH_ITEMS
    [too_many] = refusal({"items": [{"prompt": "fox"}] * (MAX_BATCH_ITEMS + 1)})
    assert too_many["loc"] == ("items",)
    assert too_many["type"] == "too_long"
    [empty] = refusal({"items": []})
    assert (empty["loc"], empty["type"]) == (("items",), "too_short")
    [missing] = refusal({})
    assert (missing["loc"], missing["type"]) == (("items",), "missing")


def test_an_item_id_used_twice_is_refused_naming_both_items() -> None:
    [error] = refusal({"items": [{"prompt": "a", "item_id": "x"}, {"prompt": "b", "item_id": "x"}]})
    assert error["loc"] == ("items",)
    assert "'x' is used twice: items[0] and items[1]" in error["msg"]


def test_an_item_id_equal_to_another_items_position_is_refused() -> None:
    # The second item has no id, so it is "2", which the first one named itself.
    [error] = refusal({"items": [{"prompt": "a", "item_id": "2"}, {"prompt": "b"}]})
    assert "'2' is used twice: items[0] and items[1]" in error["msg"]


def test_a_client_request_id_used_twice_is_refused() -> None:
    same = "campaign-0001"
    [error] = refusal(
        {"items": [{"prompt": "a", "client_request_id": same}, {"prompt": "b", "client_request_id": same}]}
    )
    assert "client_request_id 'campaign-0001' is used twice" in error["msg"]


@pytest.mark.parametrize("item_id", ["", "x" * 65, "a b", "a/b", "ä", "a#b"])
def test_item_ids_are_1_to_64_safe_characters(item_id: str) -> None:
    [error] = refusal({"items": [{"prompt": "a", "item_id": item_id}]})
    assert error["loc"] == ("items", 0, "item_id")


@pytest.mark.parametrize("item_id", ["a", "x" * 64, "row-1.v2:final_A"])
def test_item_ids_take_letters_digits_and_punctuation(item_id: str) -> None:
    assert batch({"prompt": "a", "item_id": item_id}).new_items()[0].item_id == item_id


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space"])
def test_client_request_ids_are_8_to_128_safe_characters(key: str) -> None:
    [error] = refusal({"items": [{"prompt": "a", "client_request_id": key}]})
    assert error["loc"] == ("items", 0, "client_request_id")


def test_each_item_is_checked_as_post_generations_checks_it() -> None:
    items = [{"prompt": "ok"}, {"prompt": " "}, {"prompt": "a", "num_images": 9}, {"prompt": "b", "x": 1}]
    errors = refusal({"items": items})
    assert {error["loc"] for error in errors} == {
        ("items", 1, "prompt"),
        ("items", 2, "num_images"),
        ("items", 3, "x"),
    }


def test_unknown_batch_fields_and_unknown_policies_are_refused() -> None:
    errors = refusal({"items": [{"prompt": "a"}], "priority": 1, "on_duplicate": "skip"})
    assert {error["loc"] for error in errors} == {("priority",), ("on_duplicate",)}


def test_the_message_body_is_what_the_caller_set_without_the_item_id() -> None:
    request = batch(
        {
            "item_id": "hero",
            "prompt": "a lighthouse",
            "seed": 7,
            "tags": ["Campaign", "hero"],
            "aspect_ratio": "16x9",
            "client_request_id": "cms-hero-0001",
        }
    )
    [item] = request.new_items()
    # Defaults are left to the ingest; tags arrive as the API stores them (lower case, sorted).
    assert item.body == {
        "prompt": "a lighthouse",
        "seed": 7,
        "tags": ["campaign", "hero"],
        "aspect_ratio": "16x9",
        "client_request_id": "cms-hero-0001",
    }


def test_the_batchs_on_duplicate_applies_to_the_items_that_do_not_name_one() -> None:
    request = batch(
        {"prompt": "a"},
        {"prompt": "b", "on_duplicate": "generate"},
        {"prompt": "c", "on_duplicate": "reject"},
        on_duplicate="reuse",
    )
    assert [item.body.get("on_duplicate") for item in request.new_items()] == ["reuse", "generate", "reject"]


def test_with_no_policy_anywhere_the_body_names_none() -> None:
    assert "on_duplicate" not in batch({"prompt": "a"}).new_items()[0].body
