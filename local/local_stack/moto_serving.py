"""moto's server keeping its connections alive, and doing less per request: installed in the local
stack's moto server (moto_server.py).

moto's server runs werkzeug's development server, which closes the connection after every
response (http.server cannot tell where an unread request body ends, so the next request line
could be read out of it). Every AWS call of every client (the functions' boto3 and PynamoDB
clients, the local stack's pollers) then pays a new TCP connection and TLS handshake on both
sides; and each request also lists moto's ~200 package folders on disk and writes an access log
line. Here:

- `KeepAliveRequestHandler` answers HTTP/1.1 requests on the same connection, as AWS's endpoints
  do. The request body reaches moto as a stream that ends where the request ends (its
  Content-Length, or its last chunk); whatever moto leaves unread is read and dropped after the
  response, so the next request starts where it should. The connection is still closed after an
  HTTP/1.0 request, a client's `Connection: close`, a body whose end cannot be told, a failure
  while answering, or IDLE_TIMEOUT_SECONDS without a request (clients' pools open a new
  connection by themselves when they find an idle one closed). Nagle's algorithm is off on
  its connections: werkzeug sends a response's headers and body apart, and on a kept connection
  the body would otherwise wait for the client's delayed acknowledgement of the headers (~40 ms).
- moto's list of its own modules (looked up on every request to route it) is read once.
- werkzeug's access log line is not written; errors and warnings still are.

What moto stores and answers is unchanged. Importing this module changes nothing; install()
patches moto's server in the importing process, once, and raises RuntimeError if moto or
werkzeug no longer have the shape the patch relies on. The server's log says that the patch is
in place.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import moto.backends as backends
import moto.server
import werkzeug.serving as werkzeug_serving
from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import DechunkedInput, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

MARKER = "local stack: moto keeps connections alive"
# Longer than any pause inside one request; an idle pooled connection is simply reopened.
IDLE_TIMEOUT_SECONDS = 60.0
_DRAIN_CHUNK_BYTES = 64 * 1024
_FAILED = "local_stack.moto_serving.failed"  # environ key: the application raised

StartResponse = Callable[..., Any]
WsgiApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _NothingToRead(io.BytesIO):
    """Stands in for the connection while werkzeug answers: after the response, werkzeug reads
    whatever the client has sent and drops it (right for a connection it closes), which would
    drop the next request of a kept connection."""


class _RequestBody(LimitedStream):
    """werkzeug's LimitedStream, except that a read of no bytes is not taken for a client gone."""

    def readinto(self, buffer: bytearray) -> int | None:  # type: ignore[override]  # as LimitedStream's
        if not len(buffer):
            return 0
        return super().readinto(buffer)


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, keeping the connection for the next request when that is safe."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS  # socketserver applies it to every read and write of the connection

    _may_keep = False  # this request's end is known and nothing asked for a close
    _body: io.RawIOBase | None = None
    _connection_rfile: io.BufferedIOBase | None = None

    def setup(self) -> None:
        super().setup()
        # werkzeug writes a response as several small sends (headers, then body); on a kept
        # connection Nagle's algorithm would hold the body back until the client acknowledges
        # the headers, which it delays: tens of milliseconds per request.
        with contextlib.suppress(OSError):  # not a TCP socket
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._body = self._bounded_body(environ)
        self._may_keep = (
            self._body is not None and self.request_version == "HTTP/1.1" and not self.close_connection
        )
        self._connection_rfile = self.rfile
        self.rfile = _NothingToRead()
        return environ

    def _bounded_body(self, environ: dict[str, Any]) -> io.RawIOBase | None:
        """The body as a stream that ends where the request ends (also put in the environ), or
        None when the end cannot be told from the headers."""
        encodings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if encodings:
            codings = [coding.strip().lower() for header in encodings for coding in header.split(",")]
            stream = environ["wsgi.input"]
            if lengths or codings != ["chunked"] or not isinstance(stream, DechunkedInput):
                return None
            return stream  # werkzeug's own de-chunking stops at the last chunk
        if len(lengths) > 1:
            return None
        length = lengths[0].strip() if lengths else "0"  # a request without either has no body
        if not (length.isascii() and length.isdigit()):
            return None
        body = _RequestBody(environ["wsgi.input"], int(length))
        environ["wsgi.input"] = body
        return body

    def run_wsgi(self) -> None:
        self._may_keep = False
        self._body = self._connection_rfile = None
        try:
            super().run_wsgi()
        finally:
            if self._connection_rfile is not None:
                self.rfile = self._connection_rfile
        keep = self._keeps_alive() and self._drain_body()
        self._may_keep = False
        if not keep:
            self.close_connection = True

    def _keeps_alive(self) -> bool:
        environ = getattr(self, "environ", None) or {}
        return self._may_keep and not self.close_connection and not environ.get(_FAILED)

    def _drain_body(self) -> bool:
        """Reads what the application left of the body; False if the client did not send it all."""
        if self._body is None:
            return False
        try:
            while self._body.read(_DRAIN_CHUNK_BYTES):
                pass
        except (OSError, ValueError, ClientDisconnected):
            return False
        return True

    def send_header(self, keyword: str, value: str) -> None:
        # werkzeug's run_wsgi ends every response's headers with "Connection: close"; a WSGI
        # application may not set hop-by-hop headers (PEP 3333), so that header is werkzeug's.
        if keyword.lower() == "connection" and self._keeps_alive():
            return
        super().send_header(keyword, value)

    def connection_dropped(self, error: BaseException, environ: dict[str, Any] | None = None) -> None:
        self.close_connection = True
        super().connection_dropped(error, environ)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log line: writing one costs more than some of moto's answers."""

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):  # a kept connection left idle: routine
            return
        super().log_error(format, *args)


class FailureMarking:
    """Marks the environ when the application raises, while calling it or reading its answer, so
    the handler closes that connection (the response may be cut short)."""

    def __init__(self, application: WsgiApplication) -> None:
        self._application = application

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            answer = self._application(environ, start_response)
        except BaseException:
            environ[_FAILED] = True
            raise
        return _MarkedAnswer(answer, environ)


class _MarkedAnswer:
    def __init__(self, answer: Iterable[bytes], environ: dict[str, Any]) -> None:
        self._answer = answer
        self._environ = environ

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._answer
        except BaseException:
            self._environ[_FAILED] = True
            raise

    def close(self) -> None:
        close = getattr(self._answer, "close", None)
        if close is not None:
            close()


_werkzeug_run_simple = werkzeug_serving.run_simple
moto_server: Any = moto.server  # patched by name: moto's main() looks run_simple up when it runs


def _run_simple(hostname: str, port: int, application: WsgiApplication, **options: Any) -> None:
    """What moto's main() starts werkzeug with, with the keep-alive handler in place of moto's."""
    if options.get("request_handler") is not MotoRequestHandler or not options.get("threaded"):
        raise RuntimeError(
            "moto's server changed how it starts werkzeug: the keep-alive patch does not apply"
        )
    options["request_handler"] = KeepAliveRequestHandler
    _werkzeug_run_simple(hostname, port, FailureMarking(application), **options)


def _source(function: Any) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _check_shape() -> None:
    """The patch relies on these details of werkzeug's and moto's code."""
    run_wsgi = _source(WSGIRequestHandler.run_wsgi)
    routing = _source(werkzeug_app.DomainDispatcherApplication.get_backend_for_host)
    checks = {
        "moto's main() no longer calls werkzeug's run_simple": moto_server.run_simple is _werkzeug_run_simple,
        "moto's server no longer uses MotoRequestHandler": moto_server.MotoRequestHandler
        is MotoRequestHandler,
        "werkzeug's environ no longer reads the connection": '"wsgi.input": self.rfile'
        in _source(WSGIRequestHandler.make_environ),
        "werkzeug no longer builds the environ in run_wsgi": "self.make_environ()" in run_wsgi,
        "werkzeug no longer closes every connection": 'self.send_header("Connection", "close")' in run_wsgi,
        "werkzeug no longer drains the connection after a response": "self.rfile.read(" in run_wsgi,
        "moto no longer routes through list_of_moto_modules": "backends.list_of_moto_modules()" in routing,
    }
    problems = [problem for problem, holds in checks.items() if not holds]
    if problems:
        raise RuntimeError(
            f"moto's server changed, the keep-alive patch does not apply: {'; '.join(problems)}"
        )


def install() -> bool:
    """Patches moto's server in this process; False when it was patched already."""
    if moto_server.run_simple is _run_simple:
        return False
    _check_shape()
    listed = tuple(backends.list_of_moto_modules())  # moto's package folders: fixed while it runs

    def list_of_moto_modules() -> tuple[str, ...]:
        return listed

    backends.list_of_moto_modules = list_of_moto_modules
    moto_server.run_simple = _run_simple
    print(MARKER, file=sys.stderr, flush=True)
    return True
