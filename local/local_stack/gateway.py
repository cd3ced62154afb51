"""The local HTTP API: HTTP request → SigV4 check → API Gateway event → real handler → HTTP.

Routes come from the HttpApi events of template.yaml's functions; authentication is the IAM
authorizer's rule (every request SigV4-signed), checked against the local caller's credentials.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_stack import apigw, sigv4
from local_stack.lambda_runtime import FunctionRuntime, InvocationError
from local_stack.processes import BackgroundServer
from local_stack.triggers.http import HttpRoute

MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit
access_log = logging.getLogger("local_stack.gateway")


@dataclass
class GatewayConfig:
    runtimes: Mapping[HttpRoute, FunctionRuntime]
    callers: Mapping[str, sigv4.CallerCredentials]
    region: str
    api_id: str = "local"


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: GatewayConfig) -> None:
        super().__init__(address, _GatewayHandler)
        self.config = config
        self.authority = f"{address[0]}:{self.server_address[1]}"  # port 0 becomes the bound one


class _GatewayHandler(BaseHTTPRequestHandler):
    server: _GatewayServer
    protocol_version = "HTTP/1.1"

    def _dispatch(self) -> None:
        started = time.monotonic()
        reply, route_key = self._handle()
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        entry = {
            "ip": self.client_address[0],
            "method": self.command,
            "path": self.path.split("?", 1)[0],
            "routeKey": route_key,
            "status": reply.status,
            "latencyMs": round((time.monotonic() - started) * 1000),
        }
        access_log.info(json.dumps(entry))

    def _handle(self) -> tuple[apigw.HttpReply, str]:
        config = self.server.config
        raw_path, _, raw_query = self.path.partition("?")
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return apigw.error_reply(413, "Request Entity Too Large"), "-"
        body = self.rfile.read(length) if length else b""
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
        except InvocationError:
            # API Gateway never passes a function's error details to the caller; a function
            # that errors or times out (within the integration's 30 s) is a 500 to it.
            return apigw.error_reply(500, "Internal Server Error"), match.route.route_key
        try:
            return apigw.build_reply(result), match.route.route_key
        except (TypeError, ValueError):
            return apigw.error_reply(500, "Internal Server Error"), match.route.route_key

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: _dispatch writes one structured access-log line per request instead."""


class Gateway(BackgroundServer):
    """A running local gateway on a loopback port (background thread)."""

    def __init__(self, config: GatewayConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_GatewayServer((host, port), config), name="gateway")
