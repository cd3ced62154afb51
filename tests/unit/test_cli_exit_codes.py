"""The command line's exit codes: one per kind of outcome, documented where people look."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ideogram_assets_cli.app import app
from ideogram_assets_cli.exit_codes import (
    MEANINGS,
    ExitCode,
    exit_code_for_function_error,
    exit_code_for_lambda_error,
    exit_code_for_status,
)

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (200, "", ExitCode.OK),
        (201, "", ExitCode.OK),
        (202, "", ExitCode.PARTIAL),
        (400, "Ideogram refused the prompt", ExitCode.BAD_INPUT),
        (422, "the request is not valid", ExitCode.BAD_INPUT),
        (401, "", ExitCode.AUTH_CONFIG),
        (403, "The request signature we calculated does not match", ExitCode.AUTH_CONFIG),
        (404, "generation 00 was not found", ExitCode.NOT_FOUND),
        (409, "a request with this Idempotency-Key is still running", ExitCode.UNAVAILABLE),
        (429, "Too Many Requests", ExitCode.UNAVAILABLE),
        (500, "Internal Server Error", ExitCode.UNAVAILABLE),
        (502, "the Ideogram API key is missing or invalid (configuration)", ExitCode.AUTH_CONFIG),
        (502, "Ideogram returned a response that could not be understood (HTTP 200)", ExitCode.UNAVAILABLE),
        (503, "Ideogram is unavailable right now; retry in 4 s", ExitCode.UNAVAILABLE),
        (504, "Endpoint request timed out", ExitCode.UNAVAILABLE),
        (301, "", ExitCode.UNEXPECTED),
        (418, "", ExitCode.UNEXPECTED),
    ],
)
def test_each_reply_status_gets_the_exit_code_of_its_kind(
    status: int, message: str, expected: ExitCode
) -> None:
    assert exit_code_for_status(status, message) is expected


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        (404, "ResourceNotFoundException", ExitCode.AUTH_CONFIG),  # --function names no function
        (403, "AccessDeniedException", ExitCode.AUTH_CONFIG),
        (403, "InvalidSignatureException", ExitCode.AUTH_CONFIG),
        (400, "ExpiredTokenException", ExitCode.AUTH_CONFIG),
        (400, "InvalidRequestContentException", ExitCode.BAD_INPUT),
        (409, "ResourceConflictException", ExitCode.UNAVAILABLE),  # the function is being updated
        (429, "TooManyRequestsException", ExitCode.UNAVAILABLE),
        (500, "ServiceException", ExitCode.UNAVAILABLE),
        (502, "EC2ThrottledException", ExitCode.UNAVAILABLE),
        (413, "RequestTooLargeException", ExitCode.UNEXPECTED),
    ],
)
def test_lambdas_own_refusals_get_the_exit_code_of_their_kind(
    status: int, error_code: str, expected: ExitCode
) -> None:
    assert exit_code_for_lambda_error(status, error_code) is expected


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        ("InvalidRetentionRequest", ExitCode.BAD_INPUT),  # the function refused the task itself
        ("ClientError", ExitCode.UNAVAILABLE),
        ("Sandbox.Timedout", ExitCode.UNAVAILABLE),
        ("Runtime.ExitError", ExitCode.UNAVAILABLE),
    ],
)
def test_a_function_error_is_bad_input_only_when_the_task_was_refused(
    error_type: str, expected: ExitCode
) -> None:
    assert exit_code_for_function_error(error_type) is expected


def test_the_codes_are_distinct_and_each_has_a_meaning() -> None:
    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    assert set(MEANINGS) == set(ExitCode)
    assert int(ExitCode.BAD_INPUT) == 2  # what a usage error exits with, so both mean "fix the command"


def test_help_lists_every_exit_code() -> None:
    commands: tuple[list[str], ...] = (
        [],
        ["generate"],
        ["show"],
        ["pin"],
        ["unpin"],
        ["hold"],
        ["release"],
        ["reconcile"],
    )
    for arguments in (*commands, ["retention", "run"], ["retention", "report"]):
        result = CliRunner().invoke(app, [*arguments, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        for code in ExitCode:
            assert re.search(rf"\b{int(code)}\b.*{re.escape(MEANINGS[code][:30])}", result.stdout), code


def test_the_readme_documents_every_exit_code() -> None:
    section = README.read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\d+)` \| `(\w+)` \|", section, flags=re.MULTILINE))
    assert rows == {str(int(code)): code.name for code in ExitCode}
