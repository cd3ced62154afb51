"""Curating images: `tag`, `star`/`unstar` and `note` (PATCH /generations/{id})."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from ideogram_assets_cli.app import (
    EXIT_CODES_HELP,
    ApiOption,
    EndpointsOption,
    IdArgument,
    JsonOption,
    ProfileOption,
    RegionOption,
    TimeoutOption,
    Where,
    _patch_record,
    app,
)
from ideogram_assets_cli.output import Output
from ideogram_assets_cli.render_search import curation_panel
from ideogram_assets_cli.tag_changes import parse_tag_changes

MAX_NOTE_CHARS = 500  # the API's limit (it refuses a longer note with 422)


def curate(
    output: Output,
    generation_id: str,
    change: Callable[[], dict[str, Any]],
    where: Where,
    timeout: float,
) -> None:
    """PATCH /generations/{id} with the body `change` makes, then the record's tags, star and note."""
    _patch_record(output, generation_id, change, where, timeout, curation_panel)


# `-old` is a tag to remove, not an option: unknown options pass through as arguments. The command
# has no short options of its own, so no tag can be mistaken for one (and `--` still works).
@app.command(
    epilog=EXIT_CODES_HELP,
    context_settings={"ignore_unknown_options": True},
)
def tag(
    generation_id: IdArgument,
    changes: Annotated[
        list[str],
        typer.Argument(
            metavar="+TAG|-TAG...",
            help="+TAG adds a tag, -TAG removes one (a bare TAG adds it).",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Add and remove tags: `tag ID +campaign -draft` (PATCH /generations/{id}).

    Tags are stored lower case; search finds the record by its new tags at once."""
    where = Where(api, endpoints, profile, region)
    curate(Output(as_json=as_json), generation_id, lambda: parse_tag_changes(changes).body(), where, timeout)


@app.command(epilog=EXIT_CODES_HELP)
def star(
    generation_id: IdArgument,
    off: Annotated[bool, typer.Option("--off", help="Take the star away (as `unstar` does).")] = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Star an image, to find it again with `search --starred` (PATCH /generations/{id})."""
    where = Where(api, endpoints, profile, region)
    curate(Output(as_json=as_json), generation_id, lambda: {"starred": not off}, where, timeout)


@app.command(epilog=EXIT_CODES_HELP)
def unstar(
    generation_id: IdArgument,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Take an image's star away (PATCH /generations/{id})."""
    where = Where(api, endpoints, profile, region)
    curate(Output(as_json=as_json), generation_id, lambda: {"starred": False}, where, timeout)


@app.command(epilog=EXIT_CODES_HELP)
def note(
    generation_id: IdArgument,
    text: Annotated[
        str | None,
        typer.Argument(
            metavar="TEXT", help=f"The note (up to {MAX_NOTE_CHARS} characters).", show_default=False
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the note.")] = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Set an image's short note, or remove it with --clear (PATCH /generations/{id})."""
    if clear and text is not None:
        raise typer.BadParameter("give TEXT or --clear, not both")
    if not clear and text is None:
        raise typer.BadParameter("give the note's TEXT, or --clear to remove it")
    where = Where(api, endpoints, profile, region)
    curate(Output(as_json=as_json), generation_id, lambda: {"note": None if clear else text}, where, timeout)
