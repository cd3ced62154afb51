"""A search's filters as a job keeps them: the domain SearchFilters as plain JSON, so the worker
runs exactly the search the API validated, whatever the caller's spelling was."""

from __future__ import annotations

import dataclasses
from typing import Any

from ideogram_assets.search.filters import SearchFilters


def query_json(filters: SearchFilters) -> dict[str, Any]:
    """The filters as a JSON-ready object (its tuples are written as arrays)."""
    return dataclasses.asdict(filters)


def query_filters(query: dict[str, Any]) -> SearchFilters:
    """The filters a job's JSON names; a field the JSON lacks keeps its default."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(SearchFilters):
        if field.name in query:
            value = query[field.name]
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return SearchFilters(**values)
