"""An HTTP proxy in front of the AWS emulator that injects faults on request, for failure tests.

Functions reach moto through it (AWS_ENDPOINT_URL); a rule makes matching requests fail with
an HTTP error or a dropped connection, e.g. "the second S3 UploadPart", "every DynamoDB
PutItem" or "the PutItem whose body names IDEMPOTENCY#". Everything else is forwarded
untouched, so the failure happens on the wire, between the real client and the real emulator.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import requests

from local_stack.processes import BackgroundServer

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


@dataclass
class FaultRule:
    """Fails requests whose method, path-and-query, X-Amz-Target and body match (regular expressions).

    `body`, when given, is searched in the raw request body (e.g. a DynamoDB key). `skip`
    matching requests pass first; then `times` of them fail (None: every one after). `status`
    None drops the connection instead of answering; otherwise the reply carries `error_code` as
    its AWS error type (a code clients do not retry, like ResourceNotFoundException, makes the
    failure immediate). `seen` and `failed` count matching and failed requests.
    """

    method: str = ".*"
    path: str = ".*"
    target: str = ".*"
    body: str | None = None
    skip: int = 0
    times: int | None = None
    status: int | None = 500
    error_code: str = "InternalFailure"
    seen: int = field(default=0, init=False)
    failed: int = field(default=0, init=False)

    def matches(self, method: str, path: str, target: str, body: bytes = b"") -> bool:
        return bool(
            re.fullmatch(self.method, method)
            and re.search(self.path, path)
            and re.search(self.target, target)
            and (self.body is None or re.search(self.body.encode("utf-8"), body))
        )


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], upstream: str, ca_bundle: str) -> None:
        super().__init__(address, _ProxyHandler)
        self.upstream = upstream.rstrip("/")
        self.rules: list[FaultRule] = []
        self.lock = threading.Lock()
        self.session = requests.Session()
        self.ca_bundle = ca_bundle

    def fault_for(self, method: str, path: str, target: str, body: bytes) -> FaultRule | None:
        with self.lock:
            for rule in self.rules:
                if not rule.matches(method, path, target, body):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip or (rule.times is not None and rule.failed >= rule.times):
                    continue
                rule.failed += 1
                return rule
        return None


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, a kept-alive
    # connection's body waits for the client's delayed acknowledgement (~40 ms) every time.
    disable_nagle_algorithm = True

    def _forward(self) -> None:
        body = self._read_body()
        target = self.headers.get("x-amz-target", "")
        rule = self.server.fault_for(self.command, self.path, target, body)
        if rule is not None:
            if rule.status is None:
                self.close_connection = True
                self.connection.close()
                return
            # In the service's own error format, so clients see the rule's error code.
            if target:  # JSON protocols (DynamoDB, Secrets Manager, ...) name the operation here
                content_type = "application/json"
                payload = json.dumps({"__type": rule.error_code, "message": "injected fault"}).encode()
            else:  # S3's REST-XML
                content_type = "application/xml"
                payload = (
                    f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(rule.error_code)}</Code>'
                    "<Message>injected fault</Message></Error>"
                ).encode()
            self.send_response(rule.status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        try:
            # verify= per request: a session-wide setting loses to REQUESTS_CA_BUNDLE.
            upstream = self.server.session.request(
                self.command,
                self.server.upstream + self.path,
                headers=headers,
                data=body,
                timeout=60,
                verify=self.server.ca_bundle,
            )
        except requests.RequestException:
            self.send_error(502, "the AWS emulator did not answer")
            return
        self.send_response(upstream.status_code)
        for name, value in upstream.headers.items():
            if name.lower() not in _HOP_BY_HOP | {"content-encoding"}:
                self.send_header(name, value)
        # HEAD has no body: its Content-Length describes the object, so it passes through.
        length = (
            upstream.headers.get("content-length", "0") if self.command == "HEAD" else len(upstream.content)
        )
        self.send_header("content-length", str(length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(upstream.content)

    def _read_body(self) -> bytes:
        """The request body, whether sent with a length or in HTTP chunks (botocore streams uploads)."""
        if "chunked" not in self.headers.get("transfer-encoding", "").lower():
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers: already carried inside the aws-chunked payload
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: moto's own log has every request."""


class FaultProxy(BackgroundServer):
    """Plain HTTP towards the functions; HTTPS to the emulator, so TLS-only policies still hold."""

    server: _ProxyServer

    def __init__(self, upstream: str, ca_bundle: str, host: str = "127.0.0.1") -> None:
        super().__init__(_ProxyServer((host, 0), upstream, ca_bundle), name="fault-proxy")

    def inject(self, rule: FaultRule) -> FaultRule:
        with self.server.lock:
            self.server.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.server.lock:
            self.server.rules.clear()
