"""The search filters as command-line options (search, export and pull take the same ones), and
as the API takes them: query parameters of GET /generations, the `filters` member of POST /exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer

from ideogram_assets.ideogram import ModelVersion, StyleType
from ideogram_assets.ideogram.spec_values import MAX_SEED
from ideogram_assets.records.status import Status

FILTERS = "Filters"

QueryOption = Annotated[
    str | None,
    typer.Option(
        "--q",
        "-q",
        metavar="WORDS",
        help="Words of the prompt or of Ideogram's expanded prompt; every one must match "
        "(case, accents and punctuation do not matter).",
        rich_help_panel=FILTERS,
        show_default=False,
    ),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", metavar="TAG", help="A tag (repeatable; all must match).", rich_help_panel=FILTERS),
]
SeedOption = Annotated[
    int | None, typer.Option("--seed", min=0, max=MAX_SEED, help="The seed.", rich_help_panel=FILTERS)
]
ModelOption = Annotated[
    ModelVersion | None,
    typer.Option(
        "--model",
        case_sensitive=False,
        metavar="|".join(ModelVersion),
        help="The model.",
        rich_help_panel=FILTERS,
    ),
]
StyleOption = Annotated[
    StyleType | None,
    typer.Option(
        "--style",
        case_sensitive=False,
        metavar="|".join(StyleType),
        help="The style type.",
        rich_help_panel=FILTERS,
    ),
]
StatusOption = Annotated[
    Status | None,
    typer.Option(
        "--status",
        case_sensitive=False,
        metavar="|".join(Status),
        help="The record's status.",
        rich_help_panel=FILTERS,
    ),
]
StarredOption = Annotated[
    bool | None,
    typer.Option(
        "--starred/--not-starred",
        help="Only starred images, or only those not starred (default: both).",
        rich_help_panel=FILTERS,
        show_default=False,
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="WHEN",
        help="Created at or after: a day (YYYY-MM-DD, from its start, UTC) or an ISO-8601 instant.",
        rich_help_panel=FILTERS,
        show_default=False,
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="WHEN",
        help="Created at or before: a day (YYYY-MM-DD, to its end, UTC) or an ISO-8601 instant.",
        rich_help_panel=FILTERS,
        show_default=False,
    ),
]


@dataclass(frozen=True)
class SearchOptions:
    """The filters a command was given; None (or empty) is no filter on that field."""

    words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    seed: int | None = None
    model: str | None = None
    style_type: str | None = None
    status: str | None = None
    starred: bool | None = None
    created_from: str | None = None
    created_to: str | None = None

    @classmethod
    def of(
        cls,
        *,
        words: list[str] | None = None,
        q: str | None = None,
        tags: list[str] | None = None,
        seed: int | None = None,
        model: ModelVersion | None = None,
        style: StyleType | None = None,
        status: Status | None = None,
        starred: bool | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
    ) -> SearchOptions:
        """From the options as Typer passes them: QUERY words and --q join into one query."""
        joined = [*(words or []), *([q] if q else [])]
        return cls(
            words=tuple(word for text in joined for word in text.split()),
            tags=tuple(tags or ()),
            seed=seed,
            model=model.value if model else None,
            style_type=style.value if style else None,
            status=status.value if status else None,
            starred=starred,
            created_from=created_from,
            created_to=created_to,
        )

    def query_params(self) -> dict[str, str]:
        """GET /generations's query parameters (tags comma-separated, booleans as true/false)."""
        fields = self.fields()
        params = {name: value for name, value in fields.items() if not isinstance(value, list | bool)}
        if self.tags:
            params["tags"] = ",".join(self.tags)
        if self.starred is not None:
            params["starred"] = "true" if self.starred else "false"
        return {name: str(value) for name, value in params.items()}

    def fields(self) -> dict[str, Any]:
        """The filters as POST /exports takes them (its `filters` member); only those given."""
        values: dict[str, Any] = {
            "q": " ".join(self.words) or None,
            "tags": list(self.tags) or None,
            "seed": self.seed,
            "model": self.model,
            "style_type": self.style_type,
            "status": self.status,
            "starred": self.starred,
            "from": self.created_from,
            "to": self.created_to,
        }
        return {name: value for name, value in values.items() if value is not None}
