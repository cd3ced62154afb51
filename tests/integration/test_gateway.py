"""The local gateway routes signed HTTP requests to real handlers as API Gateway would.

Runs a fixture template's function (tests/fixtures) through the same gateway, runtime and
moto server the product uses, over real HTTP.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.functions import load_functions
from local_stack.gateway import Gateway, GatewayConfig
from local_stack.lambda_runtime import FunctionRuntime, InvocationError
from local_stack.provision import provision
from local_stack.sigv4 import sign
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


# ---------------------------------------------------------------- the wire, as API Gateway treats it


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # from sending the request to the server closing the connection


def _raw_exchange(url: str, request: bytes, wait: float = 6.0) -> RawReply:
    """Sends bytes as they are and reads until the gateway closes the connection.

    The read gives up after `wait` seconds: a gateway that keeps the connection open waiting for
    bytes that never come fails the test instead of hanging it.
    """
    parts = urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as connection:
        connection.sendall(request)
        received = bytearray()
        while True:
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                pytest.fail(f"the connection was still open after {wait} s; received {bytes(received)!r}")
            if not chunk:
                break
            received += chunk
    seconds = time.monotonic() - started
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), f"no status line: {bytes(received)!r}"
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawReply(int(status_line.split()[1]), headers, body, seconds)


def _signed_request(
    url: str,
    auth: SigV4Auth,
    method: str,
    path: str,
    body: bytes,
    extra: dict[str, str] | None = None,
    signed_extra: dict[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """A request line and headers signed as an SDK would, for sending by hand."""
    host = urlsplit(url).netloc
    headers = sign(method, f"{url}{path}", signed_extra or {}, body, "us-east-1", auth.caller)
    return f"{method} {path} HTTP/1.1", {"Host": host, **headers, **(extra or {})}


def _encode(request_line: str, headers: dict[str, str] | list[tuple[str, str]], body: bytes = b"") -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    head = "".join(f"{name}: {value}\r\n" for name, value in items)
    return f"{request_line}\r\n{head}\r\n".encode("latin-1") + body


def _assert_json_error(reply: RawReply, status: int) -> None:
    assert reply.status == status
    assert reply.headers["content-type"] == "application/json"
    assert set(json.loads(reply.body)) == {"message"}
    assert b"<html" not in reply.body.lower()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO", "HEAD", "OPTIONS"])
def test_a_method_no_route_takes_is_api_gateways_json_404(
    gateway: tuple[str, SigV4Auth], method: str
) -> None:
    url, auth = gateway
    reply = requests.request(method, f"{url}/items/1", auth=auth, timeout=30)
    assert reply.status_code == 404
    if method != "HEAD":
        assert reply.json() == {"message": "Not Found"}
        assert reply.headers["content-type"] == "application/json"


def test_connect_in_authority_form_is_a_json_404(gateway: tuple[str, SigV4Auth]) -> None:
    url, _ = gateway
    host = urlsplit(url).netloc
    reply = _raw_exchange(url, _encode("CONNECT example.com:443 HTTP/1.1", {"Host": host}))
    _assert_json_error(reply, 404)
    assert json.loads(reply.body) == {"message": "Not Found"}


def test_head_and_options_reach_an_any_route(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    options = requests.options(f"{url}/files/a.png", auth=auth, timeout=30)
    assert options.status_code == 200
    assert options.json()["event"]["requestContext"]["http"]["method"] == "OPTIONS"
    head = requests.head(f"{url}/files/a.png", auth=auth, timeout=30)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0  # what a GET would have sent


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("GARBAGE", 400),
        ("GET /items/1", 400),  # HTTP/0.9: no version
        ("GET /items/1 HTTP/1.1 extra", 400),
        ("GET /items/1 HTTX/1.1", 400),
        ("GET /items/1 HTTP/2.0", 505),
    ],
)
def test_a_malformed_request_line_gets_a_json_error_not_an_html_page(
    gateway: tuple[str, SigV4Auth], request_line: str, status: int
) -> None:
    url, _ = gateway
    reply = _raw_exchange(url, f"{request_line}\r\nHost: x\r\n\r\n".encode())
    _assert_json_error(reply, status)
    assert reply.seconds < 3


def test_oversized_headers_get_a_json_431(gateway: tuple[str, SigV4Auth]) -> None:
    url, _ = gateway
    reply = _raw_exchange(url, _encode("GET /items/1 HTTP/1.1", {"Host": "x", "X-Big": "a" * 70000}))
    _assert_json_error(reply, 431)


@pytest.mark.parametrize(
    "lengths",
    [["-1"], ["abc"], ["+5"], ["5", "6"], ["5, 6"], [""], ["0x10"]],
    ids=["negative", "non-numeric", "signed", "duplicated-different", "list-different", "empty", "hex"],
)
def test_a_bad_content_length_is_a_prompt_400_and_the_connection_closes(
    gateway: tuple[str, SigV4Auth], lengths: list[str]
) -> None:
    url, auth = gateway
    body = b'{"a": 1}'
    request_line, headers = _signed_request(url, auth, "POST", "/items", body)
    fields = [*headers.items(), *(("Content-Length", value) for value in lengths)]
    reply = _raw_exchange(url, _encode(request_line, fields, body))
    _assert_json_error(reply, 400)
    assert "Content-Length" in json.loads(reply.body)["message"]
    assert reply.seconds < 3


def test_repeated_identical_content_lengths_are_one_length(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    body = b'{"a": 1}'
    request_line, headers = _signed_request(url, auth, "POST", "/items", body, {"Connection": "close"})
    fields = [*headers.items(), ("Content-Length", str(len(body))), ("Content-Length", str(len(body)))]
    reply = _raw_exchange(url, _encode(request_line, fields, body))
    assert reply.status == 201
    assert json.loads(reply.body)["event"]["body"] == '{"a": 1}'


def test_a_body_shorter_than_its_content_length_is_a_prompt_400_not_a_hung_connection(
    gateway: tuple[str, SigV4Auth],
) -> None:
    url, auth = gateway
    body = b'{"a": 1}'
    request_line, headers = _signed_request(url, auth, "POST", "/items", body, {"Content-Length": "100"})
    reply = _raw_exchange(url, _encode(request_line, headers, body))  # 8 bytes sent, then silence
    _assert_json_error(reply, 400)
    assert json.loads(reply.body) == {"message": "Request body incomplete"}
    assert reply.seconds < 3


def test_headers_that_stop_coming_are_a_prompt_400(gateway: tuple[str, SigV4Auth]) -> None:
    url, _ = gateway
    reply = _raw_exchange(url, b"GET /items/1 HTTP/1.1\r\nHost: x\r\n")  # no blank line: never ends
    _assert_json_error(reply, 400)
    assert reply.seconds < 3


def test_a_body_over_the_payload_limit_is_refused_before_it_is_read(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    request_line, headers = _signed_request(url, auth, "POST", "/items", b"", {"Content-Length": "10485761"})
    reply = _raw_exchange(url, _encode(request_line, headers))
    _assert_json_error(reply, 413)
    assert reply.seconds < 3


def _chunked(body: bytes, size: int = 5) -> bytes:
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    encoded = b"".join(b"%x;note=1\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return encoded + b"0\r\nX-Trailer: ignored\r\n\r\n"


def test_a_chunked_body_is_decoded_and_reaches_the_handler(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    body = b'{"prompt": "a red fox in the snow"}'
    request_line, headers = _signed_request(
        url,
        auth,
        "POST",
        "/items",
        body,
        {"Transfer-Encoding": "chunked", "Connection": "close"},
        signed_extra={"content-type": "application/json"},
    )
    reply = _raw_exchange(url, _encode(request_line, headers, _chunked(body)))
    assert reply.status == 201, reply.body
    assert json.loads(json.loads(reply.body)["event"]["body"]) == {"prompt": "a red fox in the snow"}


def test_a_chunked_body_from_requests_is_accepted(gateway: tuple[str, SigV4Auth]) -> None:
    """requests sends a generator body chunked; the signature covers the bytes it yields."""
    url, auth = gateway
    body = b'{"prompt": "streamed"}'
    headers = sign(
        "POST", f"{url}/items", {"content-type": "application/json"}, body, "us-east-1", auth.caller
    )
    reply = requests.post(f"{url}/items", data=iter([body[:7], body[7:]]), headers=headers, timeout=30)
    assert reply.status_code == 201, reply.text
    assert json.loads(reply.json()["event"]["body"]) == {"prompt": "streamed"}


@pytest.mark.parametrize(
    ("transfer_encoding", "payload", "extra", "status"),
    [
        ("chunked", b"zz\r\nhello\r\n0\r\n\r\n", {}, 400),  # size is not hex
        ("chunked", b"5\r\nhelloXX0\r\n\r\n", {}, 400),  # chunk not followed by CRLF
        ("chunked", b"5\r\nhello\r\n0\r\n\r\n", {"Content-Length": "5"}, 400),  # both framings
        ("gzip, chunked", b"5\r\nhello\r\n0\r\n\r\n", {}, 400),
        ("chunked", b"ffffffffffff\r\n", {}, 413),
        ("chunked", b"5\r\nhel", {}, 400),  # stops mid-chunk
    ],
    ids=["size-not-hex", "missing-crlf", "with-content-length", "gzip", "over-limit", "truncated"],
)
def test_a_bad_chunked_body_is_a_prompt_json_error(
    gateway: tuple[str, SigV4Auth], transfer_encoding: str, payload: bytes, extra: dict[str, str], status: int
) -> None:
    url, auth = gateway
    request_line, headers = _signed_request(
        url, auth, "POST", "/items", b"hello", {"Transfer-Encoding": transfer_encoding, **extra}
    )
    reply = _raw_exchange(url, _encode(request_line, headers, payload))
    _assert_json_error(reply, status)
    assert reply.seconds < 3


def test_unsigned_payload_is_refused_as_api_gateway_refuses_it(gateway: tuple[str, SigV4Auth]) -> None:
    """UNSIGNED-PAYLOAD is for S3; execute-api signs the hash of the body actually sent."""
    url, auth = gateway
    body = b'{"a": 1}'
    unsigned = sign(
        "POST", f"{url}/items", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, body, "us-east-1", auth.caller
    )
    reply = requests.post(f"{url}/items", data=body, headers=unsigned, timeout=30)
    assert reply.status_code == 403
    assert "signature" in reply.json()["message"]


def test_a_signed_payload_hash_must_be_the_hash_of_the_body_sent(gateway: tuple[str, SigV4Auth]) -> None:
    url, auth = gateway
    body = b'{"a": 1}'
    claimed = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    signed = sign("POST", f"{url}/items", claimed, body, "us-east-1", auth.caller)
    assert requests.post(f"{url}/items", data=body, headers=signed, timeout=30).status_code == 201
    tampered = requests.post(f"{url}/items", data=b'{"a": 2}', headers=signed, timeout=30)
    assert tampered.status_code == 403


# ---------------------------------------------------------------- reserved concurrency


@pytest.fixture(scope="module")
def reserved_gateway(
    stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, SigV4Auth]]:
    """The fixture function with ReservedConcurrentExecutions 1, behind a gateway of its own."""
    resolver = Resolver(
        load_template(FIXTURES / "template.yaml"), "fixture-reserved", "us-east-1", "123456789012"
    )
    provision(resolver, stack.aws)
    [spec] = load_functions(resolver, base_dir=FIXTURES)
    log_path = tmp_path_factory.mktemp("reserved") / "functions.log"
    runtime = FunctionRuntime(
        replace(spec, reserved_concurrency=1), stack.function_environment(), concurrency=2, log_path=log_path
    )
    config = GatewayConfig(
        runtimes=dict.fromkeys(spec.routes, runtime),
        callers={stack.caller.access_key_id: stack.caller},
        region="us-east-1",
    )
    running = Gateway(config).start()
    try:
        yield running.url, SigV4Auth(stack.caller, "us-east-1")
    finally:
        running.stop()
        runtime.close()


def test_calls_over_the_reserved_concurrency_are_throttled_at_once_with_a_503(
    reserved_gateway: tuple[str, SigV4Auth],
) -> None:
    url, auth = reserved_gateway
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(requests.get, f"{url}/slow", auth=auth, timeout=60)  # holds the one slot
        time.sleep(0.5)
        started = time.monotonic()
        throttled = requests.get(f"{url}/items/1", auth=auth, timeout=30)
        throttled_after = time.monotonic() - started
        busy.result()
    assert throttled.status_code == 503
    assert throttled.json() == {"message": "Service Unavailable"}
    assert throttled_after < 1  # refused, not queued behind the busy call
    assert requests.get(f"{url}/items/1", auth=auth, timeout=30).status_code == 200  # the slot is free again


def test_the_timeout_starts_after_init_so_a_cold_call_that_overruns_it_is_stopped(
    stack: LocalStack, tmp_path: Path
) -> None:
    """Lambda's timeout clock starts when init ends: a cold start adds init time, not 30 s of grace."""
    resolver = Resolver(
        load_template(FIXTURES / "template.yaml"), "fixture-cold", "us-east-1", "123456789012"
    )
    provision(resolver, stack.aws)
    [spec] = load_functions(resolver, base_dir=FIXTURES)
    runtime = FunctionRuntime(spec, stack.function_environment(), log_path=tmp_path / "functions.log")
    try:
        started = time.monotonic()
        with pytest.raises(InvocationError) as failure:
            runtime.invoke({"routeKey": "GET /slow"})  # sleeps 5 s; the timeout is 2 s
        elapsed = time.monotonic() - started
    finally:
        runtime.close()
    assert failure.value.kind == "Timeout"
    assert elapsed < 4.5
