"""PriceTable: Ideogram's published prices by default, PRICING_OVERRIDES merged per model and speed,
exact Decimal amounts, and None (not zero) for what the table does not know."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ideogram_assets.pricing import DEFAULT_PRICES_USD, PriceTable, PricingError

# -- defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "speed", "price"),
    [
        ("V_1", "TURBO", "0.02"),
        ("V_1", "DEFAULT", "0.06"),
        ("V_2", "TURBO", "0.05"),
        ("V_2", "DEFAULT", "0.08"),
        ("V_2A", "TURBO", "0.025"),
        ("V_2A", "DEFAULT", "0.04"),
        ("V_3", "FLASH", "0.03"),
        ("V_3", "TURBO", "0.03"),
        ("V_3", "DEFAULT", "0.06"),
        ("V_3", "QUALITY", "0.09"),
    ],
)
def test_without_overrides_the_price_is_ideograms_published_price(model: str, speed: str, price: str) -> None:
    assert PriceTable().per_image(model, speed) == Decimal(price)


def test_every_published_price_is_in_the_default_table() -> None:
    table = PriceTable()
    for model, speeds in DEFAULT_PRICES_USD.items():
        for speed, price in speeds.items():
            assert table.per_image(model, speed) == Decimal(price)


@pytest.mark.parametrize("overrides", [None, ""])
def test_no_overrides_and_empty_overrides_both_mean_the_defaults(overrides: str | None) -> None:
    assert PriceTable(overrides).per_image("V_3", "DEFAULT") == Decimal("0.06")


def test_prices_are_exact_decimals_not_floats() -> None:
    price = PriceTable().per_image("V_2A", "TURBO")
    assert isinstance(price, Decimal)
    assert price == Decimal("0.025")
    assert str(price) == "0.025"


def test_the_default_table_cannot_be_modified() -> None:
    with pytest.raises(TypeError):
        DEFAULT_PRICES_USD["V_3"] = {"DEFAULT": "0"}  # type: ignore[index]


# -- unknown model or speed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "speed"),
    [
        ("V_4", "DEFAULT"),  # unknown model
        ("V_3", "BALANCED"),  # a real speed Ideogram publishes no price for
        ("V_1", "QUALITY"),  # a speed the model does not offer
        ("v_3", "default"),  # names are exact, not case-insensitive
        ("", ""),
    ],
)
def test_an_unknown_model_or_speed_has_no_price_rather_than_zero(model: str, speed: str) -> None:
    assert PriceTable().per_image(model, speed) is None


# -- overrides --------------------------------------------------------------------------------


def test_an_override_replaces_only_the_speed_it_names() -> None:
    table = PriceTable(json.dumps({"V_3": {"TURBO": "0.025"}}))

    assert table.per_image("V_3", "TURBO") == Decimal("0.025")
    assert table.per_image("V_3", "DEFAULT") == Decimal("0.06")
    assert table.per_image("V_3", "QUALITY") == Decimal("0.09")
    assert table.per_image("V_2", "TURBO") == Decimal("0.05")


def test_an_override_can_add_a_speed_to_a_known_model() -> None:
    table = PriceTable(json.dumps({"V_3": {"BALANCED": "0.045"}}))

    assert table.per_image("V_3", "BALANCED") == Decimal("0.045")
    assert table.per_image("V_3", "DEFAULT") == Decimal("0.06")


def test_an_override_can_add_a_new_model() -> None:
    table = PriceTable(json.dumps({"V_4": {"DEFAULT": "0.1"}}))

    assert table.per_image("V_4", "DEFAULT") == Decimal("0.1")
    assert table.per_image("V_4", "TURBO") is None


def test_overrides_for_several_models_all_apply() -> None:
    table = PriceTable(json.dumps({"V_1": {"TURBO": "0.01"}, "V_2": {"DEFAULT": "0.07"}}))

    assert table.per_image("V_1", "TURBO") == Decimal("0.01")
    assert table.per_image("V_2", "DEFAULT") == Decimal("0.07")
    assert table.per_image("V_1", "DEFAULT") == Decimal("0.06")


def test_a_json_number_override_keeps_the_decimal_it_was_written_as() -> None:
    # 0.1 as a float is 0.1000000000000000055...; the table must hold exactly 0.1.
    table = PriceTable('{"V_3": {"TURBO": 0.1}}')

    assert table.per_image("V_3", "TURBO") == Decimal("0.1")


def test_an_integer_override_is_a_price_too() -> None:
    assert PriceTable('{"V_3": {"QUALITY": 1}}').per_image("V_3", "QUALITY") == Decimal(1)


def test_a_string_override_keeps_every_digit() -> None:
    table = PriceTable('{"V_3": {"TURBO": "0.0333333333333333333333"}}')

    assert table.per_image("V_3", "TURBO") == Decimal("0.0333333333333333333333")


def test_a_zero_override_is_a_known_price_of_zero() -> None:
    price = PriceTable('{"V_3": {"TURBO": "0"}}').per_image("V_3", "TURBO")

    assert price is not None
    assert price == 0


def test_overrides_do_not_leak_into_other_tables_or_the_defaults() -> None:
    PriceTable('{"V_3": {"TURBO": "9.99"}, "V_9": {"DEFAULT": "1"}}')

    assert PriceTable().per_image("V_3", "TURBO") == Decimal("0.03")
    assert PriceTable().per_image("V_9", "DEFAULT") is None
    assert DEFAULT_PRICES_USD["V_3"]["TURBO"] == "0.03"
    assert "V_9" not in DEFAULT_PRICES_USD


# -- bad overrides ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param("{not json", id="not JSON"),
        pytest.param("   ", id="blank"),
        pytest.param("[]", id="a list, not an object"),
        pytest.param('"V_3"', id="a string, not an object"),
        pytest.param("null", id="null"),
        pytest.param("0.05", id="a bare number"),
        pytest.param('{"V_3": 0.05}', id="a model without speeds"),
        pytest.param('{"V_3": ["TURBO"]}', id="speeds as a list"),
        pytest.param('{"V_3": {"TURBO": "cheap"}}', id="a price that is not a number"),
        pytest.param('{"V_3": {"TURBO": ""}}', id="an empty price"),
        pytest.param('{"V_3": {"TURBO": null}}', id="a null price"),
        pytest.param('{"V_3": {"TURBO": true}}', id="a boolean price"),
        pytest.param('{"V_3": {"TURBO": [0.05]}}', id="a list price"),
        pytest.param('{"V_3": {"TURBO": {"usd": 0.05}}}', id="an object price"),
    ],
)
def test_overrides_that_are_not_model_to_speed_to_price_raise_pricing_error(overrides: str) -> None:
    with pytest.raises(PricingError, match="PRICING_OVERRIDES is not valid"):
        PriceTable(overrides)


def test_pricing_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="PRICING_OVERRIDES"):
        PriceTable("{")


def test_pricing_error_does_not_chain_the_parser_trace() -> None:
    with pytest.raises(PricingError) as caught:
        PriceTable("{")

    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param('{"V_3": {"TURBO": "NaN"}}', id="NaN"),
        pytest.param('{"V_3": {"TURBO": "sNaN"}}', id="sNaN"),
        pytest.param('{"V_3": {"TURBO": "Infinity"}}', id="Infinity"),
        pytest.param('{"V_3": {"TURBO": 1e400}}', id="overflowing number"),
    ],
)
def test_a_price_that_is_not_a_finite_number_raises_pricing_error(overrides: str) -> None:
    with pytest.raises(PricingError):
        PriceTable(overrides)


def test_a_negative_price_raises_pricing_error() -> None:
    with pytest.raises(PricingError):
        PriceTable('{"V_3": {"TURBO": -0.03}}')
