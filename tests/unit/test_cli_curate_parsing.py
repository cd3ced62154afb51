"""`tag ID +a -b`: a `-b` is a tag to remove, never an unknown option; and the +/- list as PATCH takes it."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ideogram_assets_cli.app import app
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.tag_changes import TagChanges, parse_tag_changes

GENERATION_ID = "666e21fa47864eff96273e5412cceb5c"


def _parsed(*arguments: str) -> dict[str, Any]:
    """The parameters click hands the command, for these words (nothing is called)."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    command = group.commands["tag"]
    context = command.make_context("tag", list(arguments))
    return dict(context.params)


@pytest.mark.parametrize(
    ("arguments", "changes", "as_json"),
    [
        ((GENERATION_ID, "+a", "-b"), ["+a", "-b"], False),
        ((GENERATION_ID, "-b"), ["-b"], False),
        ((GENERATION_ID, "-b", "--json"), ["-b"], True),
        ((GENERATION_ID, "--json", "-b", "+c"), ["-b", "+c"], True),
        ((GENERATION_ID, "-draft-2024", "+x"), ["-draft-2024", "+x"], False),
        ((GENERATION_ID, "--", "-b", "+c"), ["-b", "+c"], False),
        # a word that spells an option of another command is still a tag here
        ((GENERATION_ID, "-q", "-jsonish"), ["-q", "-jsonish"], False),
    ],
)
def test_minus_words_are_tags_to_remove_and_known_options_still_work(
    arguments: tuple[str, ...], changes: list[str], as_json: bool
) -> None:
    params = _parsed(*arguments)
    assert params["generation_id"] == GENERATION_ID
    assert params["changes"] == changes
    assert params["as_json"] is as_json


def test_tag_with_no_change_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["tag", GENERATION_ID])
    assert result.exit_code == ExitCode.BAD_INPUT


def test_plus_adds_minus_removes_and_a_bare_word_adds() -> None:
    assert parse_tag_changes(["+campaign", "-draft", "sky"]) == TagChanges(
        add=("campaign", "sky"), remove=("draft",)
    )
    assert parse_tag_changes(["-a", "-b"]).body() == {"remove_tags": ["a", "b"]}
    assert parse_tag_changes(["+a"]).body() == {"add_tags": ["a"]}
    assert parse_tag_changes(["+a", "-b"]).body() == {"add_tags": ["a"], "remove_tags": ["b"]}


def test_a_tag_named_twice_is_sent_once_as_first_written() -> None:
    assert parse_tag_changes(["+Sky", "+sky", "sky"]).add == ("Sky",)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["+"], "names no tag"),
        (["-"], "names no tag"),
        (["+sky", "-sky"], "both added and removed: sky"),
        (["+Sky", "-sky"], "both added and removed: sky"),  # the API stores tags lower case
        ([], "name a change"),
    ],
)
def test_changes_that_cannot_be_meant_are_refused_before_any_request(words: list[str], message: str) -> None:
    with pytest.raises(CliError) as raised:
        parse_tag_changes(words)
    assert raised.value.code is ExitCode.BAD_INPUT
    assert message in raised.value.message


def test_a_refused_change_exits_with_the_bad_input_code_and_no_traceback() -> None:
    # Refused before the command looks for a stack or sends anything.
    result = CliRunner().invoke(app, ["tag", GENERATION_ID, "+sky", "-sky"], env={"COLUMNS": "200"})
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "both added and removed: sky" in result.output
    assert "Traceback" not in result.output


def test_note_takes_text_or_clear_but_not_both() -> None:
    neither = CliRunner().invoke(app, ["note", GENERATION_ID])
    both = CliRunner().invoke(app, ["note", GENERATION_ID, "hello", "--clear"])
    assert neither.exit_code == both.exit_code == ExitCode.BAD_INPUT
