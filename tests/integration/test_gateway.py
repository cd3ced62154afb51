"""The local gateway routes signed HTTP requests to real handlers as API Gateway would.

Runs a fixture template's function (tests/fixtures) through the same gateway, runtime and
moto server the product uses, over real HTTP.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.functions import load_functions
from local_stack.gateway import Gateway, GatewayConfig
from local_stack.lambda_runtime import FunctionRuntime
from local_stack.provision import provision
from local_stack.stack import LocalStack
from local_stack.template import Resolver, load_template
from local_stack.triggers.http import HttpRoute

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def gateway(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SigV4Auth]]:
    resolver = Resolver(
        load_template(FIXTURES / "template.yaml"), "fixture-gateway", "us-east-1", "123456789012"
    )
    provision(resolver, stack.aws)
    log_path = tmp_path_factory.mktemp("echo") / "functions.log"
    [spec] = load_functions(resolver, base_dir=FIXTURES)
    runtime = FunctionRuntime(spec, stack.function_environment(), concurrency=2, log_path=log_path)
    routes: dict[HttpRoute, FunctionRuntime] = dict.fromkeys(spec.routes, runtime)
    config = GatewayConfig(
        runtimes=routes, callers={stack.caller.access_key_id: stack.caller}, region="us-east-1"
    )
    running = Gateway(config).start()
    try:
        yield running.url, SigV4Auth(stack.caller, "us-east-1")
    finally:
        running.stop()
        runtime.close()


def test_a_signed_request_reaches_the_handler_with_an_api_gateway_event(
    gateway: tuple[str, SigV4Auth],
) -> None:
    url, auth = gateway
    reply = requests.get(f"{url}/items/42?color=red&color=blue", auth=auth, timeout=30)
    assert reply.status_code == 200
    assert reply.headers["x-echo"] == "yes"
    assert reply.cookies["session"] == "abc"
    echoed = reply.json()
    event = echoed["event"]
    assert event["routeKey"] == "GET /items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"color": "red,blue"}
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == auth.caller.access_key_id
    assert echoed["function_name"] == "EchoFunction"
    assert 0 < echoed["remaining_ms"] <= 2000


def test_the_function_gets_the_template_environment_and_its_layers(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    echoed = requests.get(f"{url}/items/1", auth=auth, timeout=30).json()
    assert echoed["environment"]["GREETING"] == "hello from us-east-1"
    assert echoed["environment"]["QUEUE_URL"].endswith("/fixture-gateway-workqueue")
    assert echoed["environment"]["BUS_NAME"] == "fixture-gateway-bus"
    assert echoed["environment"]["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert echoed["layer"] == "echo-layer"


def test_warm_environments_are_reused(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    first = requests.get(f"{url}/items/1", auth=auth, timeout=30).json()
    second = requests.get(f"{url}/items/2", auth=auth, timeout=30).json()
    assert first["pid"] == second["pid"] == second["cold_start_pid"]


def test_routing_prefers_literals_and_supports_greedy_any(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    special = requests.get(f"{url}/items/special", auth=auth, timeout=30).json()
    assert special["event"]["routeKey"] == "GET /items/special"
    greedy = requests.delete(f"{url}/files/a/b.png", auth=auth, timeout=30).json()
    assert greedy["event"]["routeKey"] == "ANY /files/{proxy+}"
    assert greedy["event"]["pathParameters"] == {"proxy": "a/b.png"}


def test_post_bodies_and_status_codes_pass_through(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    reply = requests.post(f"{url}/items", json={"prompt": "a red fox"}, auth=auth, timeout=30)
    assert reply.status_code == 201
    assert json.loads(reply.json()["event"]["body"]) == {"prompt": "a red fox"}


def test_binary_and_bare_results(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    binary = requests.get(f"{url}/binary", auth=auth, timeout=30)
    assert binary.headers["content-type"] == "image/png"
    assert binary.content == b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    assert requests.get(f"{url}/bare", auth=auth, timeout=30).json() == {"bare": True}


def test_unsigned_and_badly_signed_requests_get_403_and_never_reach_the_handler(
    gateway: tuple[str, SigV4Auth],
) -> None:
    url, auth = gateway
    unsigned = requests.get(f"{url}/items/1", timeout=30)
    assert unsigned.status_code == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}
    prepared = requests.Request("POST", f"{url}/items", json={"a": 1}, auth=auth).prepare()
    prepared.body = b'{"a": 2}'
    tampered = requests.Session().send(prepared, timeout=30)
    assert tampered.status_code == 403
    assert "signature" in tampered.json()["message"]


def test_unknown_routes_get_404(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    assert requests.get(f"{url}/nowhere", auth=auth, timeout=30).status_code == 404
    assert requests.post(f"{url}/items/1", auth=auth, timeout=30).status_code == 404


def test_a_handler_error_is_a_500_without_details(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    reply = requests.get(f"{url}/boom", auth=auth, timeout=30)
    assert reply.status_code == 500
    assert reply.json() == {"message": "Internal Server Error"}
    assert "secret detail" not in reply.text


def test_a_timeout_kills_the_environment_and_the_next_call_still_works(
    gateway: tuple[str, SigV4Auth],
) -> None:
    url, auth = gateway
    slow = requests.get(f"{url}/slow", auth=auth, timeout=60)
    assert slow.status_code == 500
    assert slow.json() == {"message": "Internal Server Error"}
    assert requests.get(f"{url}/items/1", auth=auth, timeout=30).status_code == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_aws_sigv4_is_accepted(gateway: tuple[str, SigV4Auth]) -> None:
    """The README's curl examples work: curl signs the same way the SDKs do."""
    url, auth = gateway
    credentials = f"{auth.caller.access_key_id}:{auth.caller.secret_access_key}"
    result = subprocess.run(
        [
            "curl",
            "-s",
            "--aws-sigv4",
            "aws:amz:us-east-1:execute-api",
            "--user",
            credentials,
            f"{url}/items/7?x=1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout)["event"]["pathParameters"] == {"id": "7"}
