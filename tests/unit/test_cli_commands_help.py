"""The commands that find, curate, report on, export and pull images: each documents its filters
and the exit codes in --help, and the top-level help lists them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ideogram_assets_cli.app import app
from ideogram_assets_cli.exit_codes import MEANINGS, ExitCode

COMMANDS = ("search", "tag", "star", "unstar", "note", "open", "download", "report", "export", "pull")
FILTERS = ("--q", "--tag", "--seed", "--model", "--style", "--status", "--starred", "--from", "--to")


def _help(*arguments: str) -> str:
    result = CliRunner().invoke(app, [*arguments, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_top_level_help_lists_every_command() -> None:
    listed = _help()
    for command in COMMANDS:
        assert f" {command} " in listed, command


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_json_and_the_exit_codes(command: str) -> None:
    text = _help(command)
    assert "--json" in text
    for code in ExitCode:
        assert MEANINGS[code][:30] in " ".join(text.split()), (command, code)


@pytest.mark.parametrize("command", ["search", "export", "pull"])
def test_search_export_and_pull_take_the_same_filters(command: str) -> None:
    text = _help(command)
    for option in FILTERS:
        assert option in text, (command, option)
    assert "--not-starred" in text


def test_help_loads_no_http_or_aws_library() -> None:
    # --help stays quick: requests, botocore and PynamoDB load only when a command calls the API.
    script = (
        "import sys, ideogram_assets_cli.app\n"
        "heavy = {'requests', 'botocore', 'boto3', 'pynamodb'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
