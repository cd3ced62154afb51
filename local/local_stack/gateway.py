"""The local HTTP API: HTTP request → SigV4 check → API Gateway event → real handler → HTTP.

Routes come from the HttpApi events of template.yaml's functions; authentication is the IAM
authorizer's rule (every request SigV4-signed), checked against the local caller's credentials.
Whatever arrives on the wire gets an answer in API Gateway's JSON error shape: unroutable methods
a 404, malformed request lines and framing a 4xx, a request that stops arriving a prompt 400.
Locally it also serves the API's documentation, unsigned (api_docs.py).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any

from local_stack import apigw, sigv4
from local_stack.api_docs import ApiDocs
from local_stack.lambda_runtime import FunctionRuntime, InvocationError, InvocationThrottled
from local_stack.processes import BackgroundServer
from local_stack.triggers.http import HttpRoute

MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit
# The methods an HTTP API route can name (ANY stands for all of them); any other method matches
# no route, so API Gateway answers it as it answers a path without a route: 404 Not Found.
ROUTABLE_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
IDLE_TIMEOUT_SECONDS = 60.0  # a kept-alive connection that sends no new request is closed
# Once a request line has arrived, its headers and body must keep coming: a client that stops
# mid-request gets a prompt 400 and the connection closes, instead of holding a thread.
STALL_TIMEOUT_SECONDS = 1.0
_MAX_CHUNK_LINE_BYTES = 4096
_MAX_TRAILER_LINES = 100
_DIGITS = re.compile(r"[0-9]+")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")
access_log = logging.getLogger("local_stack.gateway")


class RequestRejected(Exception):
    """The request cannot be read as HTTP/1.1 frames it; replied to, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.reply = apigw.error_reply(status, message)


def content_length(values: Sequence[str]) -> int:
    """The body length that the request's Content-Length fields declare (none: 0).

    Repeated fields, or a comma-separated list, are accepted only when every value is the same
    (RFC 9112, 6.3); anything but plain decimal digits is refused rather than guessed at.
    """
    declared = {part.strip() for value in values for part in value.split(",")}
    if not declared:
        return 0
    if len(declared) > 1 or not _DIGITS.fullmatch(only := declared.pop()):
        raise RequestRejected(400, "Invalid Content-Length")
    length = int(only)
    if length > MAX_BODY_BYTES:
        raise RequestRejected(413, "Request Entity Too Large")
    return length


def _read_exactly(stream: BufferedIOBase, count: int) -> bytes:
    data = stream.read(count)
    if len(data) != count:  # the client closed its side early
        raise RequestRejected(400, "Request body incomplete")
    return data


def _read_line(stream: BufferedIOBase) -> bytes:
    line = stream.readline(_MAX_CHUNK_LINE_BYTES + 1)
    if len(line) > _MAX_CHUNK_LINE_BYTES:
        raise RequestRejected(400, "Malformed chunked body")
    if not line.endswith(b"\n"):
        raise RequestRejected(400, "Request body incomplete")
    return line.rstrip(b"\r\n")


def read_chunked(stream: BufferedIOBase) -> bytes:
    """A chunked body, decoded; chunk extensions and trailer fields are read and dropped."""
    body = bytearray()
    while True:
        size_text = _read_line(stream).split(b";", 1)[0].strip()
        if not _HEX_DIGITS.fullmatch(size_text):
            raise RequestRejected(400, "Malformed chunked body")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise RequestRejected(413, "Request Entity Too Large")
        body += _read_exactly(stream, size)
        if _read_exactly(stream, 2) != b"\r\n":
            raise RequestRejected(400, "Malformed chunked body")
    for _ in range(_MAX_TRAILER_LINES):
        if not _read_line(stream):
            return bytes(body)
    raise RequestRejected(400, "Malformed chunked body")


@dataclass
class GatewayConfig:
    runtimes: Mapping[HttpRoute, FunctionRuntime]
    callers: Mapping[str, sigv4.CallerCredentials]
    region: str
    api_id: str = "local"
    # GET /openapi.json and Swagger UI at /docs, unauthenticated (a local convenience; see api_docs).
    docs: ApiDocs | None = None


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: GatewayConfig) -> None:
        if config.docs is not None:
            config.docs.check_routes(config.runtimes)
        super().__init__(address, _GatewayHandler)
        self.config = config
        self.authority = f"{address[0]}:{self.server_address[1]}"  # port 0 becomes the bound one


class _GatewayHandler(BaseHTTPRequestHandler):
    server: _GatewayServer
    raw_requestline: bytes  # set by http.server before parse_request
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, a kept-alive
    # connection's body waits for the client's delayed acknowledgement (~40 ms) every time.
    disable_nagle_algorithm = True
    # Error replies to requests whose version is unreadable still get a status line (http.server
    # would otherwise answer them as HTTP/0.9: a bare body).
    default_request_version = "HTTP/1.1"

    def handle_one_request(self) -> None:
        self._started = time.monotonic()
        self.connection.settimeout(IDLE_TIMEOUT_SECONDS)
        super().handle_one_request()

    def parse_request(self) -> bool:
        self.connection.settimeout(STALL_TIMEOUT_SECONDS)
        if len(self.raw_requestline.split()) not in (0, 3):
            # "GET /" (HTTP/0.9) or extra words: http.server would serve the first as HTTP/0.9.
            self.command, self.request_version = "", self.default_request_version
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        try:
            parsed = super().parse_request()
        except TimeoutError:
            self.send_error(HTTPStatus.BAD_REQUEST)  # headers stopped coming
            return False
        if parsed and self.command not in ROUTABLE_METHODS:
            self.close_connection = True  # its body, if any, is left unread
            self._send(apigw.error_reply(404, "Not Found"), "-")
            return False
        return parsed

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own rejections (malformed request line, headers too large, ...) in API
        Gateway's JSON shape instead of its HTML page; the connection closes after them."""
        self.close_connection = True
        self._send(apigw.error_reply(code, HTTPStatus(code).phrase), "-")

    def _send(self, reply: apigw.HttpReply, route_key: str) -> None:
        self.connection.settimeout(IDLE_TIMEOUT_SECONDS)  # a large reply may take the reader a while
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        entry = {
            "ip": self.client_address[0],
            "method": self.command or "-",
            "path": getattr(self, "path", "-").split("?", 1)[0],
            "routeKey": route_key,
            "status": reply.status,
            "latencyMs": round((time.monotonic() - self._started) * 1000),
        }
        access_log.info(json.dumps(entry))

    def _dispatch(self) -> None:
        try:
            reply, route_key = self._handle()
        except RequestRejected as rejected:
            self.close_connection = True  # where the next request would start is unknown
            reply, route_key = rejected.reply, "-"
        self._send(reply, route_key)

    def _read_body(self) -> bytes:
        lengths = self.headers.get_all("content-length") or []
        codings = [
            coding.strip().lower()
            for value in self.headers.get_all("transfer-encoding") or []
            for coding in value.split(",")
            if coding.strip()
        ]
        try:
            if not codings:
                return _read_exactly(self.rfile, content_length(lengths))
            # Both framings at once is how requests are smuggled past proxies: refused outright.
            if lengths:
                raise RequestRejected(400, "Content-Length and Transfer-Encoding must not be combined")
            if codings != ["chunked"]:
                raise RequestRejected(400, "Unsupported Transfer-Encoding")
            return read_chunked(self.rfile)
        except TimeoutError:
            raise RequestRejected(400, "Request body incomplete") from None

    def _handle(self) -> tuple[apigw.HttpReply, str]:
        config = self.server.config
        raw_path, _, raw_query = self.path.partition("?")
        body = self._read_body()
        if config.docs is not None and (docs := config.docs.reply(self.command, raw_path)) is not None:
            return docs, "local docs"
        match = apigw.match_route(config.runtimes, self.command, raw_path)
        if match is None:
            return apigw.error_reply(404, "Not Found"), "-"
        host = self.headers.get("host") or self.server.authority
        try:
            caller = sigv4.verify(
                self.command,
                f"http://{host}{self.path}",
                dict(self.headers.items()),
                body,
                config.region,
                config.callers,
            )
        except sigv4.SignatureError as error:
            return apigw.error_reply(403, str(error)), match.route.route_key
        event = apigw.build_event(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            match=match,
            caller=caller,
            source_ip=self.client_address[0],
            api_id=config.api_id,
            region=config.region,
        )
        try:
            result: Any = config.runtimes[match.route].invoke(event)
        except InvocationThrottled:
            # Lambda throttled the call (reserved concurrency in use): the HTTP API gets no
            # response from its integration and answers 503.
            return apigw.error_reply(503, "Service Unavailable"), match.route.route_key
        except InvocationError:
            # API Gateway never passes a function's error details to the caller; a function
            # that errors or times out (within the integration's 30 s) is a 500 to it.
            return apigw.error_reply(500, "Internal Server Error"), match.route.route_key
        try:
            return apigw.build_reply(result), match.route.route_key
        except (TypeError, ValueError):
            return apigw.error_reply(500, "Internal Server Error"), match.route.route_key

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: _send writes one structured access-log line per request instead."""

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced, as log_request is."""


class Gateway(BackgroundServer):
    """A running local gateway on a loopback port (background thread)."""

    def __init__(self, config: GatewayConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_GatewayServer((host, port), config), name="gateway")
