"""Runs a function's real handler the way Lambda does, in execution environments of its own.

Each environment is a separate process (its own os.environ, imports and cold start), serves
one invocation at a time, is reused while warm, and is killed when an invocation overruns the
function's timeout, as Lambda does. A function's reserved concurrency is honoured as Lambda
honours it: an invocation beyond it is throttled at once, never queued.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local_stack.functions import FunctionSpec


class InvocationError(RuntimeError):
    """The invocation did not return a result: the handler raised, timed out or crashed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class InvocationThrottled(RuntimeError):
    """Lambda refused the invocation: the function's reserved concurrency is all in use."""

    def __init__(self, function_name: str, reserved: int) -> None:
        super().__init__(
            f"TooManyRequestsException: {function_name} is at its reserved concurrency ({reserved})"
        )


@dataclass
class _Environment:
    process: subprocess.Popen[bytes]
    connection: Connection


class FunctionRuntime:
    """The pool of execution environments of one function (at most `concurrency`).

    `concurrency` is this machine's limit: invocations beyond it wait for an environment. The
    function's reserved concurrency is Lambda's: invocations beyond it are throttled.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        concurrency: int = 4,
        log_path: Path | None = None,
    ) -> None:
        self.spec = spec
        self._log_path = log_path
        # A clean environment, as in Lambda: the developer's own variables do not leak in. The
        # stack's variables come last and win, as `sam local --env-vars` overrides do.
        self._environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            **spec.environment,
            **environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            # Libraries (the X-Ray SDK behind Powertools' Tracer among them) read these to know
            # they run inside Lambda; without them they behave differently than in the cloud.
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
        }
        self._idle: list[_Environment] = []
        self._all: list[_Environment] = []
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._in_flight = 0  # invocations admitted and not yet finished, waiting ones included

    def _start_environment(self) -> _Environment:
        parent, child = socket.socketpair()
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(child.close)
            log = cleanup.enter_context(open(self._log_path, "ab")) if self._log_path else None
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "local_stack.lambda_worker", str(child.fileno())],
                pass_fds=[child.fileno()],
                env=self._environment,
                stdout=log,
                stderr=log,
            )
        connection = Connection(parent.detach())
        connection.send(self.spec)
        environment = _Environment(process=process, connection=connection)
        with self._lock:
            self._all.append(environment)
        return environment

    def _discard(self, environment: _Environment) -> None:
        environment.process.kill()
        environment.process.wait(5)
        environment.connection.close()
        with self._lock:
            if environment in self._all:
                self._all.remove(environment)

    def _await_init(self, environment: _Environment, allowance: float) -> None:
        """Waits for a new environment's init (its imports), which the function's timeout excludes."""
        if not environment.connection.poll(allowance):
            self._discard(environment)
            raise InvocationError("Runtime.InitError", f"init did not finish within {allowance:.0f} s")
        try:
            environment.connection.recv()
        except EOFError:
            self._discard(environment)
            raise InvocationError(
                "Runtime.ExitError", "the execution environment exited during init"
            ) from None

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        reserved = self.spec.reserved_concurrency
        with self._lock:
            if reserved is not None and self._in_flight >= reserved:
                raise InvocationThrottled(self.spec.function_name, reserved)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def invoke(self, event: Any, cold_start_allowance: float = 30.0) -> Any:
        """Runs one invocation and returns the handler's result.

        A new environment's init may take up to cold_start_allowance seconds; the function's
        timeout starts after it, as in Lambda. Raises InvocationThrottled over the reserved
        concurrency, InvocationError when the invocation returns no result.
        """
        with self._admitted(), self._slots:
            with self._lock:
                environment = self._idle.pop() if self._idle else None
            if environment is None:
                environment = self._start_environment()
                self._await_init(environment, cold_start_allowance)
            request_id = str(uuid.uuid4())
            # Any JSON value is an event (the Invoke API takes lists and strings too).
            payload = dict(event) if isinstance(event, Mapping) else event
            environment.connection.send((payload, request_id, self.spec.timeout_seconds))
            if not environment.connection.poll(self.spec.timeout_seconds):
                self._discard(environment)
                raise InvocationError("Timeout", f"Task timed out after {self.spec.timeout_seconds} seconds")
            try:
                status, payload = environment.connection.recv()
            except EOFError:
                self._discard(environment)
                raise InvocationError("Runtime.ExitError", "the execution environment exited") from None
            with self._lock:
                self._idle.append(environment)
            if status == "error":
                raise InvocationError(*payload)
            return payload

    def close(self) -> None:
        with self._lock:
            environments, self._all, self._idle = list(self._all), [], []
        for environment in environments:
            environment.connection.close()  # the worker sees EOF and exits
            try:
                environment.process.wait(2)
            except subprocess.TimeoutExpired:
                environment.process.kill()
                environment.process.wait(2)
