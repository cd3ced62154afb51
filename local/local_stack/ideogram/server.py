"""The HTTP side: routes, auth, fault injection, streaming downloads, request log and start/stop."""

from __future__ import annotations

import contextlib
import copy
import hmac
import io
import json
import re
import secrets
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit

from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from local_stack.ideogram.generation import GenerationError, generate, legacy_request, v3_request
from local_stack.ideogram.images import padded_png
from local_stack.ideogram.settings import (
    DEFAULT_STALL_SECONDS,
    EmulatorSettings,
    apply_faults,
    fault_view,
    snapshot_faults,
)
from local_stack.ideogram.signing import EPHEMERAL_PREFIX, UrlRefused, UrlSigner
from local_stack.ideogram.spec import FormError, OpenApiSpec, SpecError, ideogram_spec
from local_stack.ideogram.store import ImageStore, InflightLimiter

LEGACY_GENERATE = "/generate"
V3_GENERATE = "/v1/ideogram-v3/generate"
FAULTS_PATH = "/_emulator/faults"
RESET_PATH = "/_emulator/reset"
HEALTH_PATH = "/_emulator/health"
_IMAGE_PATH = re.compile(rf"^{re.escape(EPHEMERAL_PREFIX)}(?P<id>[A-Za-z0-9_-]{{1,64}})\.png$")
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_MAX_BODY_BYTES = 32 * 1024 * 1024  # style/character references are capped at 10 MB by Ideogram
_UNPACED_STEP = 256 * 1024
_STALL_POLL_SECONDS = 0.2
_INFLIGHT_BODY = {
    "error": "Too many in-flight image generations for this organisation; retry later.",
    "reject_reason": "inflight_limit",
}
_SAFETY_ERROR = "Prompt provided failed safety check due to the inclusion of prohibited content."
_SCRIPTED_ERRORS = {
    401: "Not authorized to generate an image (scripted by the emulator).",
    402: "Insufficient credits (scripted by the emulator).",
    422: _SAFETY_ERROR,
    500: "Internal server error (emulated).",
    503: "Service temporarily unavailable (emulated).",
}


class _BadRequest(ValueError):
    """Input the emulator refuses with 400 before or beside schema validation."""


class EmulatorState:
    """What every request handler shares: settings, spec, signer, images and counters."""

    def __init__(self, settings: EmulatorSettings, spec: OpenApiSpec) -> None:
        self.settings = settings
        self.spec = spec
        self.startup_faults = snapshot_faults(settings)
        self.signer = UrlSigner(settings.signing_secret)
        self.store = ImageStore(max_cached_bytes=settings.max_cached_render_bytes)
        self.inflight = InflightLimiter()
        self.lock = threading.Lock()  # serialises fault updates and consumption of fail_next
        self.log_lock = threading.Lock()
        self.url = ""
        self.generate_requests = 0  # every request to a generate route, answered or refused
        self.rate_limited_requests = 0  # generate requests answered 429 (in-flight limit or scripted)
        # (image id, position of the rule in image_faults) → downloads that rule has failed so far.
        self.image_fault_uses: dict[tuple[str, int], int] = {}

    def next_scripted(self) -> dict[str, Any] | None:
        with self.lock:
            return self.settings.fail_next.pop(0) if self.settings.fail_next else None

    def count_generate_request(self) -> None:
        with self.lock:
            self.generate_requests += 1

    def count_rate_limited(self) -> None:
        with self.lock:
            self.rate_limited_requests += 1

    def take_image_fault(self, image_id: str, index: int) -> dict[str, Any] | None:
        """The first image_faults rule for this image's index with failures left, now used once."""
        with self.lock:
            for position, rule in enumerate(self.settings.image_faults):
                if rule["index"] != index:
                    continue
                used = self.image_fault_uses.get((image_id, position), 0)
                if rule.get("times") is not None and used >= rule["times"]:
                    continue
                self.image_fault_uses[(image_id, position)] = used + 1
                return rule
        return None

    def update_faults(self, updates: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            apply_faults(self.settings, updates)
            if "image_faults" in updates:
                self.image_fault_uses.clear()  # new rules count from zero
            return fault_view(self.settings)

    def reset_faults(self) -> dict[str, Any]:
        """Back to the values this run started with (constructor settings or CLI flags)."""
        return self.update_faults(copy.deepcopy(self.startup_faults))


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow download must never keep the process (or stop()) waiting

    def __init__(self, address: tuple[str, int], state: EmulatorState, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can take seconds on some machines.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_changed:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        # Runs in the handler thread once the connection is done (its last log line written).
        super().shutdown_request(request)
        with self._connections_changed:
            self._connections.discard(request)
            self._connections_changed.notify_all()

    def drop_connections(self, grace_seconds: float) -> None:
        """Cut open connections (idle keep-alives, downloads) and give their threads time to finish."""
        with self._connections_changed:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        with self._connections_changed:
            self._connections_changed.wait_for(lambda: not self._connections, timeout=grace_seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind a client's connection pool
    # Headers and body go out in separate writes: with Nagle's algorithm on, a kept-alive
    # connection's body waits for the client's delayed acknowledgement (~40 ms) every time.
    disable_nagle_algorithm = True
    server_version = "IdeogramEmulator/1.0"
    timeout = 120  # idle keep-alive connections release their thread eventually

    _status = 0
    _body = b""

    @property
    def state(self) -> EmulatorState:
        return cast(_Server, self.server).state

    # -- plumbing ----------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: one JSON line per request is written by _log_request instead."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        started = time.monotonic()
        self._status = 0
        path = urlsplit(self.path).path
        try:
            if self._read_body():
                self._route(method, path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-response
        except Exception:
            traceback.print_exc(file=sys.stderr)
            if self._status:
                self.close_connection = True  # headers already out: all we can do is cut the body
            else:
                self._send_json(500, {"error": "internal error in the Ideogram emulator"})
        finally:
            self._log_request(method, path, started)

    def _read_body(self) -> bool:
        """Read the whole request body (keep-alive needs it consumed); False when it was refused."""
        self._body = b""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send_json(411, {"error": "send a Content-Length; chunked request bodies are not supported"})
            return False
        length_header = self.headers.get("Content-Length", "0")
        if not length_header.isdigit():
            self.close_connection = True
            self._send_json(400, {"error": "Content-Length is not a number"})
            return False
        length = int(length_header)
        if length > _MAX_BODY_BYTES:
            self.close_connection = True
            self._send_json(413, {"error": f"request body larger than {_MAX_BODY_BYTES} bytes"})
            return False
        self._body = self.rfile.read(length) if length else b""
        return True

    def _log_request(self, method: str, path: str, started: float) -> None:
        if not self.state.settings.log_requests:
            return
        # Path only: the query holds URL signatures, and headers (the Api-Key) are never logged.
        line = json.dumps(
            {
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "service": "ideogram-emulator",
                "method": method,
                "path": path,
                "status": self._status,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            }
        )
        with self.state.log_lock:
            print(line, file=sys.stderr, flush=True)

    def _send_json(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _route(self, method: str, path: str) -> None:
        image = _IMAGE_PATH.match(path)
        allowed: tuple[str, ...]
        if path in (LEGACY_GENERATE, V3_GENERATE):
            allowed = ("POST",)
        elif image is not None:
            allowed = ("GET", "HEAD")
        elif path == FAULTS_PATH:
            allowed = ("GET", "PUT", "PATCH")  # both update only the fields given
        elif path == RESET_PATH:
            allowed = ("POST",)
        elif path == HEALTH_PATH:
            allowed = ("GET",)
        else:
            self._send_json(404, {"error": f"no such route: {path}"})
            return
        if method not in allowed:
            self._send_json(405, {"error": f"{method} not allowed on {path}"}, {"Allow": ", ".join(allowed)})
        elif image is not None:
            self._download(image["id"])
        elif path == FAULTS_PATH:
            self._faults(method)
        elif path == RESET_PATH:
            self._send_json(200, self.state.reset_faults())
        elif path == HEALTH_PATH:
            with self.state.lock:
                counts = {
                    "generate_requests": self.state.generate_requests,
                    "rate_limited_requests": self.state.rate_limited_requests,
                }
            health = {"status": "ok", "inflight_images": self.state.inflight.in_use}
            self._send_json(200, health | counts)
        else:
            self._generate(path)

    # -- control routes ----------------------------------------------------------------------

    def _faults(self, method: str) -> None:
        if method == "GET":
            with self.state.lock:
                self._send_json(200, fault_view(self.state.settings))
            return
        try:
            updates = json.loads(self._body or b"null")
        except ValueError:
            updates = None
        if not isinstance(updates, dict):
            self._send_json(400, {"error": "body must be a JSON object of fault fields to change"})
            return
        try:
            self._send_json(200, self.state.update_faults(updates))
        except ValueError as error:
            self._send_json(400, {"error": str(error)})

    # -- generation --------------------------------------------------------------------------

    def _authorized(self) -> bool:
        expected = self.state.settings.api_key.encode("utf-8")
        given = self.headers.get("Api-Key")
        if given is not None and hmac.compare_digest(given.encode("utf-8"), expected):
            return True
        if given is not None:
            message = "Invalid Api-Key."
        elif self.headers.get("Authorization"):
            message = "Authorization headers are not accepted; send the key in the Api-Key header."
        else:
            message = "Missing Api-Key header."
        self._send_json(401, {"error": message})
        return False

    def _parse_body(self, path: str) -> tuple[str, Any]:
        """The request body as data, and the media type it came as (one the spec accepts)."""
        mimetype, options = parse_options_header(self.headers.get("Content-Type"))
        accepted = self.state.spec.request_media_types(path)
        if mimetype not in accepted:
            given = mimetype or "(none)"
            raise _BadRequest(f"Content-Type {given!r} not accepted here; use one of {accepted}")
        if mimetype == "application/json":
            try:
                return mimetype, json.loads(self._body)
            except ValueError as error:
                raise _BadRequest(f"body is not valid JSON: {error}") from error
        parser = FormDataParser(max_form_memory_size=_MAX_BODY_BYTES, silent=False)
        try:
            _, form, files = parser.parse(io.BytesIO(self._body), mimetype, len(self._body), options)
        except ValueError as error:
            raise _BadRequest(f"body is not valid {mimetype}: {error}") from error
        fields = {name: form.getlist(name) for name in form}
        uploads = {name: [upload.read() for upload in files.getlist(name)] for name in files}
        return mimetype, self.state.spec.decode_form(path, fields, uploads)

    def _generate(self, path: str) -> None:
        state, settings = self.state, self.state.settings
        state.count_generate_request()
        if not self._authorized():
            return
        try:
            media_type, body = self._parse_body(path)
            errors = state.spec.errors(state.spec.request_schema_name(path, media_type), body)
            if errors:
                raise _BadRequest("; ".join(errors))
            request = legacy_request(body) if path == LEGACY_GENERATE else v3_request(body)
        except (_BadRequest, FormError, GenerationError) as error:
            self._send_json(400, {"error": str(error)})
            return

        scripted = state.next_scripted()
        if scripted is not None and scripted["status"] != 200:
            status = scripted["status"]
            message = _SCRIPTED_ERRORS.get(status, "Emulated failure.")
            default = _INFLIGHT_BODY if status == 429 else {"error": message}
            if status == 429:
                state.count_rate_limited()
            self._send_checked(path, status, scripted.get("body", default))
            return
        if settings.error_rate_5xx and secrets.SystemRandom().random() < settings.error_rate_5xx:
            status = secrets.choice((500, 503))
            self._send_checked(path, status, {"error": _SCRIPTED_ERRORS[status]})
            return
        if re.search(settings.safety_pattern, request.prompt, re.IGNORECASE):
            self._send_checked(path, 422, {"error": _SAFETY_ERROR})
            return
        if not state.inflight.try_acquire(request.num_images, settings.inflight_limit):
            state.count_rate_limited()
            self._send_checked(path, 429, _INFLIGHT_BODY)
            return
        try:
            if settings.latency_seconds:
                time.sleep(settings.latency_seconds)  # held while "generating", so it counts in-flight
            unsafe = re.search(settings.unsafe_pattern, request.prompt, re.IGNORECASE) is not None
            base_url = self._base_url()
            ttl = settings.url_ttl_seconds
            response = generate(
                request,
                unsafe=unsafe,
                store=state.store,
                url_for=lambda image_id: state.signer.url(base_url, image_id, time.time(), ttl),
                count=max(0, request.num_images + settings.return_images_delta),
            )
        finally:
            state.inflight.release(request.num_images)
        if settings.unreadable_response is not None:
            self._send_unreadable(settings.unreadable_response, response)
            return
        self._send_checked(path, 200, response)

    def _send_unreadable(self, how: str, response: Mapping[str, Any]) -> None:
        """A 200 whose body no client can read: generated (and, at Ideogram, billed) all the same."""
        if how == "not_json":
            text = json.dumps(response)
            payload = text[: len(text) // 2].encode("utf-8")  # as if cut short by a broken proxy
        else:  # "breaks_schema": the images under another name, as after an unannounced API change
            payload = json.dumps({"created": response["created"], "images": response["data"]}).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_checked(self, path: str, status: int, body: Mapping[str, Any]) -> None:
        """Send a generate response, refusing (500) to send one the spec's schema for it rejects."""
        try:
            schema = self.state.spec.response_schema_name(path, status)
        except SpecError:
            schema = None  # a status the spec does not document (500, 503, 402): no shape to check
        errors = [] if schema is None else self.state.spec.errors(schema, body)
        if errors:
            print(f"ideogram emulator: {status} response breaks {schema}: {errors}", file=sys.stderr)
            self._send_json(500, {"error": f"emulator bug: response violates {schema}: {'; '.join(errors)}"})
            return
        self._send_json(status, body)

    def _base_url(self) -> str:
        settings = self.state.settings
        if settings.public_base_url:
            return settings.public_base_url.rstrip("/")
        host = self.headers.get("Host", "")
        # Echo the address the client reached us at, so URLs work through port maps and proxies.
        return f"http://{host}" if _HOST_HEADER.match(host) else self.state.url

    # -- downloads ---------------------------------------------------------------------------

    def _download(self, image_id: str) -> None:
        state, settings = self.state, self.state.settings
        query = parse_qs(urlsplit(self.path).query)
        try:
            state.signer.verify(image_id, _first(query, "exp"), _first(query, "sig"), time.time())
        except UrlRefused as refusal:
            self._send_json(403, {"error": str(refusal)})
            return
        record = state.store.get(image_id)
        if record is None:
            self._send_json(404, {"error": "no such image"})
            return
        # HEAD shows the headers of a normal download and uses up no fault.
        fault = self.state.take_image_fault(image_id, record.index) if self.command == "GET" else None
        kind = None if fault is None else fault["fault"]
        pieces: Iterable[bytes]
        if settings.wrong_content_type or kind == "wrong_content_type":
            page = b"<!doctype html><title>Oops</title><p>Not an image.</p>"
            content_type, size, pieces = "text/html; charset=utf-8", len(page), (page,)
        elif settings.huge_image_bytes > 0:
            content_type = "image/png"
            size, pieces = padded_png(state.store.png(record), settings.huge_image_bytes)
        else:
            png = state.store.png(record)
            content_type, size, pieces = "image/png", len(png), (png,)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "private, max-age=0")
        self.end_headers()
        if self.command == "HEAD":
            return
        limit = None
        if settings.truncate_download or kind in ("truncate", "reset", "stall"):
            # Promise `size` bytes, send part of them, then hang up, reset or stall: the client
            # must notice the short body.
            after = size // 2 if fault is None else fault.get("after_bytes", size // 2)
            limit = min(after, size - 1)
            self.close_connection = True
        self._stream(pieces, settings.download_bandwidth_bps, limit)
        if kind == "reset":
            self._reset_connection()
        elif kind == "stall":
            assert fault is not None
            self._stall(float(fault.get("stall_seconds", DEFAULT_STALL_SECONDS)))

    def _reset_connection(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), as a crashed server or a middlebox would."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile holds a reference to the socket: only once it is closed does close() really
        # close (and reset) the connection. The server's own shutdown then finds it closed.
        self.rfile.close()
        self.connection.close()

    def _stall(self, seconds: float) -> None:
        """Send nothing more for `seconds` (ended early when the client hangs up), then close."""
        self.close_connection = True
        self.wfile.flush()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], min(left, _STALL_POLL_SECONDS))
            if not readable:
                continue
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    return  # the client closed its side: nobody is waiting any more
            except OSError:
                return
            time.sleep(min(left, _STALL_POLL_SECONDS))  # it sent something; keep ignoring it

    def _stream(self, pieces: Iterable[bytes], bandwidth_bps: int, limit: int | None) -> None:
        """Write the body piece by piece, sleeping as needed to stay under `bandwidth_bps`."""
        step = max(1024, bandwidth_bps // 20) if bandwidth_bps else _UNPACED_STEP  # ~20 writes a second
        started, sent = time.monotonic(), 0
        for piece in pieces:
            view = memoryview(piece)
            for offset in range(0, len(view), step):
                part = view[offset : offset + step]
                if limit is not None:
                    part = part[: limit - sent]
                self.wfile.write(part)
                sent += len(part)
                if bandwidth_bps:
                    delay = sent / bandwidth_bps - (time.monotonic() - started)
                    if delay > 0:
                        time.sleep(delay)
                if limit is not None and sent >= limit:
                    return


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class RunningEmulator:
    """A started emulator: `url`, the live `settings`, and `stop()` (also a context manager)."""

    def __init__(self, server: _Server, thread: threading.Thread, url: str) -> None:
        self._server = server
        self._thread = thread
        self.url = url

    @property
    def settings(self) -> EmulatorSettings:
        return self._server.state.settings

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def reset_faults(self) -> dict[str, Any]:
        """Same as POST /_emulator/reset."""
        return self._server.state.reset_faults()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections(grace_seconds=2)
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def start_emulator(
    settings: EmulatorSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Serve in a background thread; returns once the socket is listening (port 0 picks a free port)."""
    state = EmulatorState(settings or EmulatorSettings(), ideogram_spec())
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = _Server((host, port), state, family)
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    # A wildcard bind is reachable on loopback; URLs must name an address clients can dial.
    reachable = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(bound_host, bound_host)  # noqa: S104
    netloc = f"[{reachable}]" if ":" in reachable else reachable
    state.url = f"http://{netloc}:{bound_port}"
    name = f"ideogram-emulator:{bound_port}"
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return RunningEmulator(server, thread, state.url)
