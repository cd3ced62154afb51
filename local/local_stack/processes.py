"""Small helpers for the local stack's child processes and ports."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Self


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago on host (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls ready() until it returns True; raises TimeoutError naming what did not start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not become ready within {timeout:.0f} s")


class BackgroundServer:
    """An HTTP server answering from a daemon thread: its URL, start() and stop()."""

    def __init__(self, server: ThreadingHTTPServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
