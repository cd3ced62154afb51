"""The local Lambda Invoke API answers boto3 and signed HTTP requests as Lambda does.

Runs the fixture template (tests/fixtures) in a LocalStack of its own; the fixture function
appends every event it gets to EVENT_LOG and fails, sleeps or echoes as the payload asks.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from local_stack.aws_emulator import LOCAL_ACCOUNT_ID
from local_stack.sigv4 import CallerCredentials, sign
from local_stack.stack import LocalStack, StackOptions

FIXTURES = Path(__file__).parents[1] / "fixtures"
REGION = "us-east-1"
ARN = f"arn:aws:lambda:{REGION}:{LOCAL_ACCOUNT_ID}:function:EchoFunction"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    tmp_path = tmp_path_factory.mktemp("lambda-api")
    options = StackOptions(
        template_path=FIXTURES / "template.yaml",
        stack_name="fixture-lambda-api",
        log_dir=tmp_path / "logs",
        ideogram_base_url=None,
        extra_environment={"EVENT_LOG": str(tmp_path / "events.jsonl")},
    )
    with LocalStack(options) as stack:
        yield stack, tmp_path / "events.jsonl"


@pytest.fixture(scope="module")
def client(local: tuple[LocalStack, Path]) -> Any:
    stack, _ = local
    return boto3.client(
        "lambda",
        endpoint_url=stack.endpoints()["lambda"],
        region_name=REGION,
        aws_access_key_id=stack.caller.access_key_id,
        aws_secret_access_key=stack.caller.secret_access_key,
    )


def _events(log: Path) -> list[Any]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [json.loads(line)["event"] for line in lines]


def _wait_for(found: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _post(
    stack: LocalStack,
    body: bytes,
    function: str = "EchoFunction",
    headers: dict[str, str] | None = None,
    caller: CallerCredentials | None = None,
    service: str = "lambda",
) -> requests.Response:
    """A raw POST to the Invoke route, SigV4-signed (by the stack's caller unless told) as the CLI signs."""
    url = f"{stack.lambda_url}/2015-03-31/functions/{quote(function, safe='')}/invocations"
    signed = sign("POST", url, headers or {}, body, REGION, caller or stack.caller, service=service)
    return requests.post(url, data=body, headers={**(headers or {}), **signed}, timeout=30)


def test_boto3_invokes_a_function_by_name_and_gets_its_result(
    local: tuple[LocalStack, Path], client: Any
) -> None:
    marker = uuid.uuid4().hex
    reply = client.invoke(FunctionName="EchoFunction", Payload=json.dumps({"marker": marker}))
    assert reply["StatusCode"] == 200
    assert reply["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in reply
    assert json.loads(reply["Payload"].read()) == {
        "event": {"marker": marker},
        "function_name": "EchoFunction",
        "layer": "echo-layer",
    }
    assert {"marker": marker} in _events(local[1])


@pytest.mark.parametrize(
    ("function_name", "qualifier"),
    [
        (ARN, None),
        (f"{LOCAL_ACCOUNT_ID}:function:EchoFunction", None),
        ("EchoFunction:$LATEST", None),
        ("EchoFunction", "$LATEST"),
    ],
)
def test_the_function_may_be_named_by_arn_and_qualified_with_latest(
    client: Any, function_name: str, qualifier: str | None
) -> None:
    extra = {"Qualifier": qualifier} if qualifier else {}
    reply = client.invoke(FunctionName=function_name, Payload=b"[1, 2]", **extra)
    assert json.loads(reply["Payload"].read())["event"] == [1, 2]


def test_an_empty_payload_is_the_empty_object(client: Any) -> None:
    reply = client.invoke(FunctionName="EchoFunction")
    assert json.loads(reply["Payload"].read())["event"] == {}


def test_a_function_error_is_a_200_with_the_error_and_function_error_unhandled(client: Any) -> None:
    reply = client.invoke(FunctionName="EchoFunction", Payload=json.dumps({"fail": "no such asset"}))
    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    assert json.loads(reply["Payload"].read()) == {"errorMessage": "no such asset", "errorType": "ValueError"}


def test_a_timeout_and_a_result_json_cannot_carry_are_function_errors_too(client: Any) -> None:
    slow = client.invoke(FunctionName="EchoFunction", Payload=json.dumps({"sleep": 3}))  # Timeout: 2
    assert slow["FunctionError"] == "Unhandled"
    assert json.loads(slow["Payload"].read()) == {
        "errorMessage": "Task timed out after 2 seconds",
        "errorType": "Timeout",
    }
    odd = client.invoke(FunctionName="EchoFunction", Payload=json.dumps({"unserializable": True}))
    assert odd["FunctionError"] == "Unhandled"
    assert json.loads(odd["Payload"].read())["errorType"] == "Runtime.MarshalError"


@pytest.mark.parametrize(
    "function_name",
    [
        "Missing",
        "EchoFunction:7",  # versions are not published locally
        f"arn:aws:lambda:eu-west-1:{LOCAL_ACCOUNT_ID}:function:EchoFunction",
        "arn:aws:lambda:us-east-1:999999999999:function:EchoFunction",
    ],
)
def test_an_unknown_function_is_resource_not_found(
    local: tuple[LocalStack, Path], client: Any, function_name: str
) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="Function not found"):
        client.invoke(FunctionName=function_name)
    raw = _post(local[0], b"{}", function=function_name)
    assert raw.status_code == 404
    assert raw.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert raw.json()["Message"].startswith("Function not found: arn:aws:lambda:")


def test_a_payload_that_is_not_json_is_invalid_request_content(
    local: tuple[LocalStack, Path], client: Any
) -> None:
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="EchoFunction", Payload=b"{not json")
    before = len(_events(local[1]))
    raw = _post(local[0], b'{"prompt": ')
    assert raw.status_code == 400
    assert raw.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
    assert raw.json()["Message"].startswith("Could not parse request body into json")
    assert len(_events(local[1])) == before  # the function never ran


def test_unsigned_and_badly_signed_requests_are_403(local: tuple[LocalStack, Path]) -> None:
    stack, log = local
    before = len(_events(log))
    url = f"{stack.lambda_url}/2015-03-31/functions/EchoFunction/invocations"
    unsigned = requests.post(url, data=b"{}", timeout=30)
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    stranger = CallerCredentials("AKIASTRANGER", "secret", LOCAL_ACCOUNT_ID, "arn:aws:iam::1:user/x")
    assert _post(stack, b"{}", caller=stranger).headers["x-amzn-ErrorType"] == "UnrecognizedClientException"
    wrong_secret = CallerCredentials(stack.caller.access_key_id, "not-the-secret", LOCAL_ACCOUNT_ID, "")
    forged = _post(stack, b"{}", caller=wrong_secret)
    assert (forged.status_code, forged.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    for_the_api = _post(stack, b"{}", service="execute-api")  # signed, but for another service
    assert for_the_api.status_code == 403
    assert "lambda service" in for_the_api.json()["Message"]
    assert len(_events(log)) == before


def test_boto3_with_wrong_credentials_gets_the_403_as_an_error(local: tuple[LocalStack, Path]) -> None:
    stack, _ = local
    wrong = boto3.client(
        "lambda",
        endpoint_url=stack.lambda_url,
        region_name=REGION,
        aws_access_key_id=stack.caller.access_key_id,
        aws_secret_access_key="not-the-secret",
    )
    with pytest.raises(ClientError) as refused:
        wrong.invoke(FunctionName="EchoFunction")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_dry_run_checks_the_function_and_the_signature_without_running_it(
    local: tuple[LocalStack, Path], client: Any
) -> None:
    before = len(_events(local[1]))
    reply = client.invoke(FunctionName="EchoFunction", InvocationType="DryRun", Payload=b"{}")
    assert reply["StatusCode"] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="Missing", InvocationType="DryRun")
    assert len(_events(local[1])) == before


def test_an_event_invocation_is_accepted_at_once_and_runs_in_the_background(
    local: tuple[LocalStack, Path], client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="local_stack.lambda_api")
    marker = uuid.uuid4().hex
    started = time.monotonic()
    reply = client.invoke(
        FunctionName="EchoFunction",
        InvocationType="Event",
        Payload=json.dumps({"sleep": 1, "marker": marker}),
    )
    assert time.monotonic() - started < 1  # the reply does not wait for the function
    assert reply["StatusCode"] == 202
    assert reply["Payload"].read() == b""
    _wait_for(lambda: {"sleep": 1, "marker": marker} in _events(local[1]))

    def finished() -> list[dict[str, Any]]:
        entries = [json.loads(record.getMessage()) for record in caplog.records]
        return [entry for entry in entries if entry.get("invocationType") == "Event" and "outcome" in entry]

    _wait_for(lambda: bool(finished()))
    assert finished()[0]["outcome"] == "ok"
    assert finished()[0]["function"] == "EchoFunction"


def test_an_unknown_invocation_type_is_a_validation_error(local: tuple[LocalStack, Path]) -> None:
    reply = _post(local[0], b"{}", headers={"X-Amz-Invocation-Type": "Later"})
    assert reply.status_code == 400
    assert reply.headers["x-amzn-ErrorType"] == "ValidationException"


def test_an_event_payload_over_lambdas_limit_is_request_too_large(local: tuple[LocalStack, Path]) -> None:
    body = json.dumps({"data": "x" * (1024 * 1024)}).encode()
    reply = _post(local[0], body, headers={"X-Amz-Invocation-Type": "Event"})
    assert reply.status_code == 413
    assert reply.headers["x-amzn-ErrorType"] == "RequestTooLargeException"


def test_the_endpoints_file_names_the_lambda_api(local: tuple[LocalStack, Path], tmp_path: Path) -> None:
    stack, _ = local
    written = json.loads(stack.write_endpoints(tmp_path / "endpoints.json").read_text(encoding="utf-8"))
    assert written["lambda"] == stack.lambda_url
    assert written["lambda"].startswith("http://127.0.0.1:")
