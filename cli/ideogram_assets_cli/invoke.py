"""Lambda's Invoke API: runs a function of the stack (the retention function) and returns its
reply, or says why it could not, as a CliError with the exit code of its kind.

Locally, the local stack's Invoke API (`lambda` in .local/endpoints.json) signed with the local
caller's credentials, functions named by their logical id; in AWS, Lambda itself in the stack's
region, with the credentials of the standard chain and the function's physical name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import (
    ExitCode,
    exit_code_for_function_error,
    exit_code_for_lambda_error,
)
from ideogram_assets_cli.target import API_ENV, Target

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

RETENTION_FUNCTION_ENV = "IDEOGRAM_ASSETS_RETENTION_FUNCTION"
# The local stack knows each function by its logical id in template.yaml.
LOCAL_RETENTION_FUNCTION = "RetentionFunction"
RETENTION_FUNCTION_OUTPUT = "RetentionFunctionName"
CONNECT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class FunctionReply:
    """What Invoke returned: the function's result, or its error (`function_error` set)."""

    payload: Any  # the parsed JSON payload, or None when it was not JSON
    text: str
    function_error: str | None = None  # Lambda's X-Amz-Function-Error: "Unhandled"

    @property
    def error_type(self) -> str:
        found = self.payload.get("errorType") if isinstance(self.payload, dict) else None
        return found if isinstance(found, str) and found else "UnknownError"

    @property
    def error_message(self) -> str:
        found = self.payload.get("errorMessage") if isinstance(self.payload, dict) else None
        if isinstance(found, str) and found.strip():
            return found.strip().splitlines()[0][:300]
        return self.text.strip().splitlines()[0][:200] if self.text.strip() else "no message"


def function_error(reply: FunctionReply, function_name: str) -> CliError:
    """The function raised (or timed out, or crashed): one line saying what it said."""
    code = exit_code_for_function_error(reply.error_type)
    hint = (
        "the function refused the task: is the deployed function older or newer than this command?"
        if code is ExitCode.BAD_INPUT
        else "running it again is safe (every change is conditional); the function's logs say more"
    )
    return CliError(f"{function_name} failed: {reply.error_type}: {reply.error_message}", code, hint=hint)


def retention_function_name(target: Target, function: str | None) -> str:
    """--function (or its variable) first; locally the logical id; a deployed stack's must be named."""
    if function and function.strip():
        return function.strip()
    if target.local:
        return LOCAL_RETENTION_FUNCTION
    raise CliError(
        "which retention function? a deployed stack's has a name of its own",
        ExitCode.AUTH_CONFIG,
        hint=f"pass --function NAME ({RETENTION_FUNCTION_ENV}): the stack's {RETENTION_FUNCTION_OUTPUT} "
        "output",
    )


def _client(target: Target, timeout_seconds: float) -> LambdaClient:
    # boto3 loads only when a command invokes a function: --help stays quick.
    import boto3
    from botocore.config import Config

    if target.local and not target.lambda_url:
        raise CliError(
            f"{target.description} names no Lambda Invoke API ('lambda')",
            ExitCode.AUTH_CONFIG,
            hint=f"restart the local stack with `make up`, or use --api URL ({API_ENV})",
        )
    # A snapshot of the credentials: one call signs with them, whatever refreshes them later.
    frozen = target.credentials.get_frozen_credentials()
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=timeout_seconds,
        # No retry: a retry after a read timeout would run the task a second time, concurrently.
        retries={"total_max_attempts": 1, "mode": "standard"},
        user_agent_extra="ideogram-assets-cli",
    )
    return boto3.session.Session().client(
        "lambda",
        region_name=target.region,
        endpoint_url=target.lambda_url,
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
        config=config,
    )


def invoke(target: Target, function_name: str, payload: Any, *, timeout_seconds: float) -> FunctionReply:
    """Runs the function once (RequestResponse) and returns its result or its error."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    where = target.lambda_url or f"Lambda in {target.region}"
    client = _client(target, timeout_seconds)
    try:
        reply = client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode("utf-8"),
        )
        text = reply["Payload"].read().decode("utf-8", errors="replace")
    except ClientError as error:
        details = error.response.get("Error", {})
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        error_code = str(details.get("Code", "")) or "UnknownError"
        code = exit_code_for_lambda_error(status, error_code)
        hint = (
            f"check --function ({RETENTION_FUNCTION_ENV}): the stack's {RETENTION_FUNCTION_OUTPUT} output"
            if error_code == "ResourceNotFoundException"
            else None
        )
        message = str(details.get("Message", "")) or "no message"
        raise CliError(
            f"Lambda refused to invoke {function_name}: {error_code}: {message} (HTTP {status})",
            code,
            hint=hint,
        ) from None
    except ReadTimeoutError:
        raise CliError(
            f"no answer from {function_name} within {timeout_seconds:g} s; it may still be running",
            ExitCode.UNAVAILABLE,
            hint="its summary is in the function's logs; running it again is safe",
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError):
        raise CliError(f"cannot reach {where}", ExitCode.UNAVAILABLE) from None
    except BotoCoreError as error:
        raise CliError(f"invoking {function_name} failed: {error}", ExitCode.UNAVAILABLE) from None
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return FunctionReply(payload=parsed, text=text, function_error=reply.get("FunctionError"))
