"""moto's server keeping connections alive (local_stack.moto_serving): the request handler, in
front of small WSGI applications on a loopback werkzeug server, keeps a connection only when the
next request is sure to start where the last one ended, and closes it otherwise."""

from __future__ import annotations

import http.client
import logging
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import ClassVar
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from local_stack.moto_serving import MARKER, FailureMarking, KeepAliveRequestHandler

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: moto\r\nContent-Length: 0\r\n\r\n"


def _failing_midway() -> Iterator[bytes]:
    yield b"half"
    raise RuntimeError("the answer broke off")


def _application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Answers its path and the `read` first bytes of the body it read (the rest left unread)."""
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("the application failed before answering")
    if path == "/fail-midway":
        start_response("200 OK", [("Content-Length", "10")])
        return _failing_midway()
    wanted = int(parse_qs(environ["QUERY_STRING"]).get("read", ["0"])[0])
    body = f"{path} read {environ['wsgi.input'].read(wanted)!r}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class _QuickIdleHandler(KeepAliveRequestHandler):
    timeout = 0.3


class _NagleRecordingHandler(KeepAliveRequestHandler):
    no_delay: ClassVar[list[int]] = []

    def setup(self) -> None:
        super().setup()
        self.no_delay.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def _serve(handler: type[KeepAliveRequestHandler]) -> Iterator[BaseWSGIServer]:
    server = make_server("127.0.0.1", 0, FailureMarking(_application), threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def server() -> Iterator[BaseWSGIServer]:
    yield from _serve(KeepAliveRequestHandler)


@pytest.fixture
def quick_idle_server() -> Iterator[BaseWSGIServer]:
    yield from _serve(_QuickIdleHandler)


def _connect(server: BaseWSGIServer) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
    return connection


def _exchange(connection: socket.socket, request: bytes, method: str = "GET") -> http.client.HTTPResponse:
    connection.sendall(request)
    response = http.client.HTTPResponse(connection, method=method)
    response.begin()
    response.read()
    return response


def _body(connection: socket.socket, request: bytes) -> tuple[int, bytes, str | None]:
    connection.sendall(request)
    response = http.client.HTTPResponse(connection)
    response.begin()
    return response.status, response.read(), response.getheader("Connection")


def _closed_by_server(connection: socket.socket, within: float = 5) -> bool:
    connection.settimeout(within)
    try:
        return connection.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _post(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: moto", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _get(path: str, version: str = "HTTP/1.1", *headers: str) -> bytes:
    return ("\r\n".join([f"GET {path} {version}", "Host: moto", *headers]) + "\r\n\r\n").encode()


def test_requests_share_one_connection_without_a_connection_header(server: BaseWSGIServer) -> None:
    with _connect(server) as connection:
        for number in range(5):
            status, body, header = _body(connection, _get(f"/call-{number}"))
            assert (status, body, header) == (200, f"/call-{number} read b''".encode(), None)
        assert not _closed_by_server(connection, within=0.2)


def test_requests_sent_back_to_back_are_all_answered(server: BaseWSGIServer) -> None:
    """werkzeug reads and drops what arrives after a response (right for a connection it closes)."""
    expected = [b"/first read b'ab'", b"/second read b''", b"/third read b''"]
    received = b""
    with _connect(server) as connection:
        connection.sendall(_post("/first?read=2", b"ab") + _get("/second") + _get("/third"))
        while not received.endswith(expected[-1]):
            chunk = connection.recv(65536)
            assert chunk, f"the connection closed after {received!r}"
            received += chunk
    assert re.findall(rb"/\w+ read b'\w*'", received) == expected


@pytest.mark.parametrize("read", [0, 5])
def test_the_unread_rest_of_a_body_is_dropped_before_the_next_request(
    server: BaseWSGIServer, read: int
) -> None:
    with _connect(server) as connection:
        assert _body(connection, _post(f"/first?read={read}", SMUGGLED))[1] == (
            f"/first read {SMUGGLED[:read]!r}".encode()
        )
        assert _body(connection, _get("/second"))[1] == b"/second read b''"


def test_the_unread_rest_of_a_chunked_body_is_dropped_before_the_next_request(server: BaseWSGIServer) -> None:
    chunked = b"%x\r\n%s\r\n5\r\nmore.\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
    head = b"POST /first?read=3 HTTP/1.1\r\nHost: moto\r\nTransfer-Encoding: chunked\r\n\r\n"
    with _connect(server) as connection:
        assert _body(connection, head + chunked)[1] == b"/first read b'GET'"
        assert _body(connection, _get("/second"))[1] == b"/second read b''"


def test_a_body_sent_after_100_continue_is_dropped_too(server: BaseWSGIServer) -> None:
    with _connect(server) as connection:
        head = _post("/first", SMUGGLED, "Expect: 100-continue")[: -len(SMUGGLED)]
        connection.sendall(head)
        assert connection.recv(25).startswith(b"HTTP/1.1 100 Continue\r\n")
        connection.sendall(SMUGGLED)
        response = http.client.HTTPResponse(connection)
        response.begin()
        assert response.read() == b"/first read b''"
        assert _body(connection, _get("/second"))[1] == b"/second read b''"


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(_get("/old", "HTTP/1.0"), id="HTTP/1.0"),
        pytest.param(_get("/old", "HTTP/1.0", "Connection: keep-alive"), id="HTTP/1.0 keep-alive"),
        pytest.param(_get("/bye", "HTTP/1.1", "Connection: close"), id="Connection: close"),
        pytest.param(_post("/two", b"abc", "Content-Length: 3"), id="two Content-Lengths"),
        pytest.param(_get("/odd", "HTTP/1.1", "Content-Length: 3x"), id="Content-Length not a number"),
        pytest.param(_get("/odd", "HTTP/1.1", "Content-Length: -1"), id="negative Content-Length"),
        pytest.param(_get("/zip", "HTTP/1.1", "Transfer-Encoding: gzip"), id="not chunked"),
        pytest.param(_post("/both", b"0\r\n\r\n", "Transfer-Encoding: chunked"), id="chunked and a length"),
    ],
)
def test_the_connection_closes_when_the_next_request_might_not_start_cleanly(
    server: BaseWSGIServer, request_bytes: bytes
) -> None:
    with _connect(server) as connection:
        response = _exchange(connection, request_bytes)
        assert response.getheader("Connection") == "close"
        assert _closed_by_server(connection)


def test_an_application_that_fails_before_answering_gets_a_500_and_a_closed_connection(
    server: BaseWSGIServer,
) -> None:
    with _connect(server) as connection:
        response = _exchange(connection, _get("/fail"))
        assert (response.status, response.getheader("Connection")) == (500, "close")
        assert _closed_by_server(connection)
    with _connect(server) as connection:
        assert _body(connection, _get("/after"))[:2] == (200, b"/after read b''")


def test_an_answer_that_breaks_off_closes_the_connection(server: BaseWSGIServer) -> None:
    with _connect(server) as connection:
        connection.sendall(_get("/fail-midway"))
        response = http.client.HTTPResponse(connection)
        response.begin()
        assert response.getheader("Content-Length") == "10"
        with pytest.raises(http.client.IncompleteRead) as cut:
            response.read()
        assert cut.value.partial == b"half"


def test_an_idle_connection_is_closed_quietly_after_the_idle_timeout(
    quick_idle_server: BaseWSGIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    with _connect(quick_idle_server) as connection:
        assert _body(connection, _get("/once"))[0] == 200
        assert not _closed_by_server(connection, within=0.05)
        assert _closed_by_server(connection, within=5)
    assert not [record for record in caplog.records if record.name == "werkzeug"]


def test_responses_are_not_held_back_by_nagles_algorithm() -> None:
    """werkzeug sends a response's headers and body apart: with Nagle's algorithm on, the body
    would wait for the client's delayed acknowledgement of the headers (~40 ms a request)."""
    for server in _serve(_NagleRecordingHandler):
        with _connect(server) as connection:
            assert _body(connection, _get("/quick"))[0] == 200
    assert _NagleRecordingHandler.no_delay == [1]


def test_install_patches_moto_once_and_says_so() -> None:
    script = (
        "import moto.backends as b; listed = list(b.list_of_moto_modules());"
        "from local_stack import moto_serving;"
        "print(moto_serving.install(), moto_serving.install(), list(b.list_of_moto_modules()) == listed,"
        " b.list_of_moto_modules() is b.list_of_moto_modules())"
    )
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["True", "False", "True", "True"]
    assert done.stderr.count(MARKER) == 1
