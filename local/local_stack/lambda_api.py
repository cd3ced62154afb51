"""The local Lambda Invoke API: `aws lambda invoke --endpoint-url` and boto3 run any function.

`POST /2015-03-31/functions/{FunctionName}/invocations`, SigV4-signed for the `lambda` service
with the local caller's credentials, answered as Lambda answers: the function's result (200),
its error (200 with `X-Amz-Function-Error`), or Lambda's own errors in its JSON shape with
`x-amzn-ErrorType`. `X-Amz-Invocation-Type` is `RequestResponse` (the default), `Event` (202,
run in the background as Lambda's asynchronous invocations are) or `DryRun` (204). The function
is named by its logical id, its ARN or `account:function:name`, with `$LATEST` as the only
qualifier. `X-Amz-Log-Type: Tail` is accepted but no log tail is returned: function logs go
to the stack's console or log file.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from local_stack import sigv4
from local_stack.gateway import RequestRejected, content_length, read_chunked
from local_stack.lambda_runtime import FunctionRuntime, InvocationError, InvocationThrottled
from local_stack.processes import BackgroundServer

SERVICE = "lambda"
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024
_INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")
_INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
access_log = logging.getLogger("local_stack.lambda_api")


def outcome_of(runtime: FunctionRuntime, event: Any) -> dict[str, Any]:
    """Runs one invocation to its end and says how it went, for a log line."""
    started = time.monotonic()
    try:
        runtime.invoke(event)
        outcome: dict[str, Any] = {"outcome": "ok"}
    except InvocationThrottled:
        outcome = {"outcome": "throttled"}
    except InvocationError as error:
        outcome = {"outcome": "error", "errorType": error.kind}
    except Exception as error:  # the stack stopping under a running invocation, among others
        outcome = {"outcome": "error", "errorType": type(error).__name__}
    return outcome | {"latencyMs": round((time.monotonic() - started) * 1000)}


class AsyncInvocations:
    """Lambda's asynchronous invocations: accepted at once, each run in a thread of its own, its
    outcome logged. (Lambda would retry a failed one twice; locally the log line says it failed.)"""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def submit(self, runtime: FunctionRuntime, event: Any, entry: Mapping[str, Any]) -> None:
        thread = threading.Thread(
            target=self._run, args=(runtime, event, entry), name=f"async-{runtime.spec.function_name}"
        )
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, runtime: FunctionRuntime, event: Any, entry: Mapping[str, Any]) -> None:
        try:
            self._log.info(json.dumps({**entry, **outcome_of(runtime, event)}))
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def wait(self, timeout: float) -> None:
        """Waits up to `timeout` seconds in all for the invocations still running."""
        deadline = time.monotonic() + timeout
        with self._lock:
            running = list(self._threads)
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))


@dataclass
class LambdaApiConfig:
    runtimes: Mapping[str, FunctionRuntime]  # by function name (the logical id)
    callers: Mapping[str, sigv4.CallerCredentials]
    region: str
    account_id: str


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: dict[str, str]
    body: bytes = b""


class LambdaApiError(Exception):
    """One of Lambda's own errors: its HTTP status, `x-amzn-ErrorType` and message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.reply = _Reply(
            status,
            {"content-type": "application/json", "x-amzn-ErrorType": error_type},
            json.dumps({"Type": "User" if status < 500 else "Service", "Message": message}).encode(),
        )


def _signature_error(error: sigv4.SignatureError) -> LambdaApiError:
    message = str(error)
    if message == "Missing Authentication Token":
        return LambdaApiError(403, "MissingAuthenticationTokenException", message)
    if "security token" in message:
        return LambdaApiError(403, "UnrecognizedClientException", message)
    return LambdaApiError(403, "InvalidSignatureException", message)


def function_and_qualifier(identifier: str, region: str, account_id: str) -> tuple[str, str | None] | None:
    """(name, qualifier) from `name[:qualifier]`, `account:function:name[:qualifier]` or the ARN
    form; None when it names a function of another account or region, or is no function name."""
    parts = identifier.split(":")
    if parts[0] == "arn":
        if parts[1:6] != ["aws", "lambda", region, account_id, "function"] or len(parts) not in (7, 8):
            return None
        parts = parts[6:]
    elif len(parts) >= 3 and parts[1] == "function":
        if parts[0] != account_id or len(parts) > 4:
            return None
        parts = parts[2:]
    if len(parts) > 2 or not parts[0]:
        return None
    return parts[0], parts[1] if len(parts) == 2 else None


def _function_result(result: Any) -> _Reply:
    headers = {"content-type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
    try:
        return _Reply(200, headers, json.dumps(result).encode())
    except (TypeError, ValueError) as error:
        # Lambda's runtime cannot send a result that is not JSON: the invocation fails.
        return _function_error("Runtime.MarshalError", f"Unable to marshal response: {error}")


def _function_error(error_type: str, message: str) -> _Reply:
    headers = {
        "content-type": "application/json",
        "X-Amz-Executed-Version": "$LATEST",
        "X-Amz-Function-Error": "Unhandled",
    }
    return _Reply(200, headers, json.dumps({"errorMessage": message, "errorType": error_type}).encode())


class _LambdaApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: LambdaApiConfig) -> None:
        super().__init__(address, _LambdaApiHandler)
        self.config = config
        self.authority = f"{address[0]}:{self.server_address[1]}"
        self.async_invocations = AsyncInvocations(access_log)


class _LambdaApiHandler(BaseHTTPRequestHandler):
    server: _LambdaApiServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, a kept-alive
    # connection's body waits for the client's delayed acknowledgement (~40 ms) every time.
    disable_nagle_algorithm = True
    timeout = 60  # a client that stops sending gets its connection closed, not a thread held

    def _dispatch(self) -> None:
        started = time.monotonic()
        self._function = "-"
        try:
            reply = self._handle()
        except RequestRejected as rejected:
            self.close_connection = True  # where the next request would start is unknown
            status = rejected.reply.status
            error_type = "RequestTooLargeException" if status == 413 else "InvalidRequestContentException"
            reply = LambdaApiError(status, error_type, str(rejected)).reply
        except LambdaApiError as error:
            reply = error.reply
        request_id = str(uuid.uuid4())
        self.send_response(reply.status)
        for name, value in {**reply.headers, "x-amzn-RequestId": request_id}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        entry = {
            "ip": self.client_address[0],
            "function": self._function,
            "invocationType": self.headers.get("x-amz-invocation-type", "RequestResponse"),
            "status": reply.status,
            "functionError": reply.headers.get("X-Amz-Function-Error"),
            "latencyMs": round((time.monotonic() - started) * 1000),
        }
        access_log.info(json.dumps(entry))

    def _read_body(self) -> bytes:
        coding = self.headers.get("transfer-encoding")
        if coding is not None:
            # Both framings at once is how requests are smuggled past proxies: refused outright.
            if "content-length" in self.headers:
                raise RequestRejected(400, "Content-Length and Transfer-Encoding must not be combined")
            if coding.strip().lower() != "chunked":
                raise RequestRejected(400, "Unsupported Transfer-Encoding")
            return read_chunked(self.rfile)
        length = content_length(self.headers.get_all("content-length") or [])
        body = self.rfile.read(length)
        if len(body) != length:
            raise RequestRejected(400, "Request body incomplete")
        return body

    def _handle(self) -> _Reply:
        config = self.server.config
        raw_path, _, raw_query = self.path.partition("?")
        try:
            body = self._read_body()
        except TimeoutError:
            raise RequestRejected(400, "Request body incomplete") from None
        host = self.headers.get("host") or self.server.authority
        try:
            sigv4.verify(
                self.command,
                f"http://{host}{self.path}",
                dict(self.headers.items()),
                body,
                config.region,
                config.callers,
                service=SERVICE,
            )
        except sigv4.SignatureError as error:
            raise _signature_error(error) from None
        match = _INVOKE_PATH.fullmatch(raw_path)
        if self.command != "POST" or match is None:
            raise LambdaApiError(404, "UnknownOperationException", "Unknown operation")
        self._function = unquote(match["name"])  # as asked for, in the access log
        runtime = self._runtime(self._function, parse_qs(raw_query).get("Qualifier", [None])[0])
        self._function = runtime.spec.function_name
        invocation_type = self.headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type not in _INVOCATION_TYPES:
            raise LambdaApiError(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to"
                f" satisfy constraint: Member must satisfy enum value set: [{', '.join(_INVOCATION_TYPES)}]",
            )
        limit = MAX_ASYNC_PAYLOAD_BYTES if invocation_type == "Event" else MAX_SYNC_PAYLOAD_BYTES
        if len(body) > limit:
            raise LambdaApiError(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
        try:
            # An empty payload is the empty object, as in Lambda.
            event = json.loads(body) if body.strip() else {}
        except ValueError as error:
            raise LambdaApiError(
                400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
            ) from None
        if invocation_type == "DryRun":
            return _Reply(204, {})
        if invocation_type == "Event":
            entry = {"function": self._function, "invocationType": "Event"}
            self.server.async_invocations.submit(runtime, event, entry)
            return _Reply(202, {})
        try:
            result = runtime.invoke(event)
        except InvocationThrottled:
            raise LambdaApiError(429, "TooManyRequestsException", "Rate Exceeded.") from None
        except InvocationError as error:
            return _function_error(error.kind, str(error).removeprefix(f"{error.kind}: "))
        return _function_result(result)

    def _runtime(self, identifier: str, query_qualifier: str | None) -> FunctionRuntime:
        config = self.server.config
        parsed = function_and_qualifier(identifier, config.region, config.account_id)
        name, qualifier = parsed if parsed else (identifier, None)
        qualifier = qualifier or query_qualifier
        runtime = config.runtimes.get(name) if parsed else None
        if runtime is None or qualifier not in (None, "$LATEST"):
            arn = f"arn:aws:lambda:{config.region}:{config.account_id}:function:{name}"
            raise LambdaApiError(
                404,
                "ResourceNotFoundException",
                f"Function not found: {arn}{f':{qualifier}' if qualifier else ''}",
            )
        return runtime

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: _dispatch writes one structured access-log line per request instead."""

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced, as log_request is."""


class LambdaApi(BackgroundServer):
    """A running local Lambda Invoke API on a loopback port (background thread)."""

    def __init__(self, config: LambdaApiConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _LambdaApiServer((host, port), config)
        super().__init__(self._server, name="lambda-api")

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Stops taking requests, then gives Event invocations still running a moment to end."""
        super().stop()
        self._server.async_invocations.wait(grace_seconds)
