"""How a validation error's location is named to the caller: the body's fields by their own
names, list positions in brackets, other locations (path, query) with their prefix."""

from __future__ import annotations

from typing import Any

import pytest

from ideogram_assets.http_errors import _field


@pytest.mark.parametrize(
    ("location", "name"),
    [
        pytest.param(("body", "prompt"), "prompt", id="a body field"),
        pytest.param(("body", "tags", 0), "tags[0]", id="a list item"),
        pytest.param(("body", "tags", 12), "tags[12]", id="a list item past nine"),
        pytest.param(
            ("body", "color_palette", 1, "color_hex"),
            "color_palette[1].color_hex",
            id="a field in a list item",
        ),
        pytest.param(("body", "matrix", 0, 1), "matrix[0][1]", id="nested lists"),
    ],
)
def test_a_body_location_is_named_without_the_body_prefix(location: tuple[Any, ...], name: str) -> None:
    assert _field(location) == name


def test_the_body_itself_is_named_body() -> None:
    assert _field(("body",)) == "body"


def test_an_empty_location_is_named_body() -> None:
    assert _field(()) == "body"


@pytest.mark.parametrize(
    ("location", "name"),
    [
        pytest.param(("path", "generation_id"), "path.generation_id", id="a path parameter"),
        pytest.param(("query", "limit"), "query.limit", id="a query parameter"),
        pytest.param(("header", "content-type"), "header.content-type", id="a header"),
    ],
)
def test_a_location_outside_the_body_keeps_its_prefix(location: tuple[Any, ...], name: str) -> None:
    assert _field(location) == name
