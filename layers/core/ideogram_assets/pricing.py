"""Estimated cost of a generation: USD per output image, by model and rendering speed.

The defaults are Ideogram's published prices (August 2025). Prices change, so a deployment
overrides them with PRICING_OVERRIDES, a JSON object such as {"V_3": {"TURBO": 0.025}}.
Unsafe images count: Ideogram bills them too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from ideogram_assets.config import ConfigurationError

DEFAULT_PRICES_USD: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "V_1": {"TURBO": "0.02", "DEFAULT": "0.06"},
        "V_2": {"TURBO": "0.05", "DEFAULT": "0.08"},
        "V_2A": {"TURBO": "0.025", "DEFAULT": "0.04"},
        "V_3": {"FLASH": "0.03", "TURBO": "0.03", "DEFAULT": "0.06", "QUALITY": "0.09"},
    }
)


class PricingError(ConfigurationError, ValueError):
    """PRICING_OVERRIDES is not a JSON object of model → speed → price."""


def _price(value: object) -> Decimal:
    """A price in USD: a finite, non-negative number (NaN or infinity would poison every total)."""
    price = Decimal(str(value))
    if not price.is_finite() or price < 0:
        raise ValueError(f"{value!r} is not a price")
    return price


class PriceTable:
    def __init__(self, overrides_json: str | None = None) -> None:
        prices = {
            model: {speed: Decimal(price) for speed, price in speeds.items()}
            for model, speeds in DEFAULT_PRICES_USD.items()
        }
        if overrides_json:
            try:
                overrides = json.loads(overrides_json)
                for model, speeds in overrides.items():
                    for speed, price in speeds.items():
                        prices.setdefault(str(model), {})[str(speed)] = _price(price)
            except (ValueError, AttributeError, ArithmeticError) as error:
                raise PricingError(f"PRICING_OVERRIDES is not valid: {error}") from None
        self._prices = prices

    def per_image(self, model: str, rendering_speed: str) -> Decimal | None:
        """Price of one image, or None when the table has no entry (cost unknown, not zero)."""
        return self._prices.get(model, {}).get(rendering_speed)
