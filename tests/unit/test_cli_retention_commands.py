"""The retention commands' plumbing: which function they invoke, how its errors read, the
classes `pin`/`unpin` take, and the stack output that names the function in AWS."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from botocore.credentials import Credentials
from typer.testing import CliRunner

from ideogram_assets.retention.policy import RETENTION_CLASSES, RetentionPolicy
from ideogram_assets_cli.app import RETENTION_FUNCTION_ENV, PinnedClass, UnpinnedClass, app
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.invoke import (
    LOCAL_RETENTION_FUNCTION,
    RETENTION_FUNCTION_OUTPUT,
    FunctionReply,
    function_error,
    invoke,
    retention_function_name,
)
from ideogram_assets_cli.invoke import RETENTION_FUNCTION_ENV as INVOKE_FUNCTION_ENV
from ideogram_assets_cli.target import Target
from local_stack.template import load_template

CREDENTIALS = Credentials("AKIAEXAMPLE000000001", "secret")


def _target(*, local: bool, lambda_url: str | None = None) -> Target:
    return Target(
        api_url="http://127.0.0.1:1",
        region="us-east-1",
        credentials=CREDENTIALS,
        description="the local stack (test)" if local else "https://api.example.com",
        local=local,
        lambda_url=lambda_url,
    )


def test_the_local_stack_names_the_function_by_its_logical_id_and_function_wins() -> None:
    assert retention_function_name(_target(local=True), None) == LOCAL_RETENTION_FUNCTION
    assert retention_function_name(_target(local=True), "  Other  ") == "Other"
    deployed = retention_function_name(_target(local=False), "ideogram-assets-dev-RetentionFunction-AbC")
    assert deployed == "ideogram-assets-dev-RetentionFunction-AbC"


def test_a_deployed_stack_needs_the_functions_name_and_says_where_to_find_it() -> None:
    with pytest.raises(CliError) as raised:
        retention_function_name(_target(local=False), None)
    assert raised.value.code is ExitCode.AUTH_CONFIG
    assert raised.value.hint is not None
    assert "--function" in raised.value.hint
    assert RETENTION_FUNCTION_ENV in raised.value.hint
    assert RETENTION_FUNCTION_OUTPUT in raised.value.hint
    assert RETENTION_FUNCTION_ENV == INVOKE_FUNCTION_ENV  # one name, declared twice for a quick --help


def test_the_template_outputs_the_retention_functions_name() -> None:
    outputs = load_template()["Outputs"]
    assert outputs[RETENTION_FUNCTION_OUTPUT]["Value"] == {"Ref": "RetentionFunction"}
    assert LOCAL_RETENTION_FUNCTION in load_template()["Resources"]


def test_a_function_error_reads_as_one_line_with_its_type() -> None:
    reply = FunctionReply(
        payload={"errorMessage": "storage is down\n  File x.py, line 3", "errorType": "ClientError"},
        text="",
        function_error="Unhandled",
    )
    error = function_error(reply, "RetentionFunction")
    assert error.message == "RetentionFunction failed: ClientError: storage is down"
    assert error.code is ExitCode.UNAVAILABLE
    assert error.hint is not None
    assert "again is safe" in error.hint


def test_a_refused_task_is_bad_input_and_a_timeout_is_unavailable() -> None:
    refused = FunctionReply(
        payload={"errorMessage": 'expected {"task": ...}', "errorType": "InvalidRetentionRequest"},
        text="",
        function_error="Unhandled",
    )
    assert function_error(refused, "F").code is ExitCode.BAD_INPUT
    timed_out = FunctionReply(
        payload={"errorMessage": "Task timed out after 300.00 seconds", "errorType": "Sandbox.Timedout"},
        text="",
        function_error="Unhandled",
    )
    assert function_error(timed_out, "F").code is ExitCode.UNAVAILABLE


def test_an_error_payload_that_is_not_lambdas_shape_still_gives_a_message() -> None:
    reply = FunctionReply(payload=None, text="Internal failure\nmore", function_error="Unhandled")
    assert (reply.error_type, reply.error_message) == ("UnknownError", "Internal failure")
    assert FunctionReply(payload=[], text="", function_error="Unhandled").error_message == "no message"


def test_an_endpoints_file_without_the_lambda_api_says_to_restart_the_stack() -> None:
    with pytest.raises(CliError) as raised:
        invoke(_target(local=True), "RetentionFunction", {"task": "report"}, timeout_seconds=5)
    assert raised.value.code is ExitCode.AUTH_CONFIG
    assert "'lambda'" in raised.value.message
    assert raised.value.hint is not None
    assert "make up" in raised.value.hint


def test_a_lambda_api_that_cannot_be_reached_is_unavailable() -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = _target(local=True, lambda_url=f"http://127.0.0.1:{port}")
    with pytest.raises(CliError) as raised:
        invoke(target, "RetentionFunction", {"task": "report"}, timeout_seconds=5)
    assert raised.value.code is ExitCode.UNAVAILABLE
    assert f"cannot reach http://127.0.0.1:{port}" in raised.value.message


def test_pin_takes_every_retention_class_and_unpin_only_those_that_expire() -> None:
    assert {choice.value for choice in PinnedClass} == set(RETENTION_CLASSES)
    policy = RetentionPolicy(short_days=30, standard_days=90, grace_days=7)
    expiring = {name for name in RETENTION_CLASSES if policy.days(name) is not None}
    assert {choice.value for choice in UnpinnedClass} == expiring


@pytest.mark.parametrize(
    "arguments",
    [
        ["pin", "0" * 32, "--class", "forever"],
        ["unpin", "0" * 32, "--class", "permanent"],
        ["reconcile", "--dry-run", "--task", "sweep"],
    ],
)
def test_a_bad_option_is_a_usage_error_before_anything_is_sent(arguments: list[str], tmp_path: Path) -> None:
    # No endpoints file anywhere: had it tried to send, it would exit with AUTH_CONFIG.
    result = CliRunner().invoke(app, arguments, env={"COLUMNS": "200", "IDEOGRAM_ASSETS_ENDPOINTS": ""})
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Traceback" not in result.output


def test_the_commands_run_with_no_local_stack_say_how_to_start_one(tmp_path: Path) -> None:
    endpoints = str(tmp_path / "missing.json")
    for arguments in (["reconcile"], ["retention", "report"], ["hold", "0" * 32]):
        result = CliRunner().invoke(app, [*arguments, "--endpoints", endpoints])
        assert result.exit_code == ExitCode.AUTH_CONFIG, arguments
        assert "make up" in result.output
