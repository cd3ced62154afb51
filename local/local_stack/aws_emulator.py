"""The AWS emulator: moto in server mode, as a separate process on a loopback port.

Everything reaches it over real HTTPS through AWS_ENDPOINT_URL (with AWS_CA_BUNDLE trusting
its certificate), exactly as boto3 and PynamoDB reach AWS; nothing is patched in the clients'
processes. The server process runs moto with the local stack's patches (moto_server.py), which
change how long moto takes and how it isolates writes, not what it stores or answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import boto3
import requests
from botocore.config import Config

from local_stack.processes import free_port, wait_until
from local_stack.tls import Certificate, create_certificate

# moto accepts any credentials; fixed fake ones keep the local stack away from real accounts.
LOCAL_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account


def local_client(
    service: str,
    endpoint_url: str,
    ca_bundle: str,
    region: str = LOCAL_AWS_ENVIRONMENT["AWS_REGION"],
    max_pool_connections: int = 10,
) -> Any:
    """A boto3 client for the emulator, with explicit fake credentials: never a real profile."""
    return boto3.client(  # type: ignore[call-overload]  # the service is chosen at run time
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        verify=ca_bundle,
        aws_access_key_id=LOCAL_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
        config=Config(max_pool_connections=max_pool_connections),
    )


@dataclass
class AwsEmulator:
    """A running moto server; use as a context manager or call start()/stop()."""

    host: str = "127.0.0.1"
    port: int = 0
    log_path: Path | None = None  # None: moto's request log is discarded
    # True: moto's own server, without the local stack's patch (benchmarks compare the two).
    moto_as_shipped: bool = False
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)
    _tls_dir: Path | None = field(default=None, init=False, repr=False)
    _certificate: Certificate | None = field(default=None, init=False, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_bundle(self) -> str:
        """The certificate clients trust for the emulator (their AWS_CA_BUNDLE)."""
        assert self._certificate is not None, "the AWS emulator is not started"
        return str(self._certificate.cert_path)

    @property
    def _server_module(self) -> str:
        return "moto.server" if self.moto_as_shipped else "local_stack.moto_server"

    def _ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {self._process.returncode}")
        try:
            return requests.get(f"{self.endpoint_url}/moto-api/", timeout=1, verify=self.ca_bundle).ok
        except requests.ConnectionError:
            return False

    def start(self, timeout: float = 30) -> Self:
        self.port = self.port or free_port(self.host)
        environment = {**os.environ, **LOCAL_AWS_ENVIRONMENT}
        self._tls_dir = Path(tempfile.mkdtemp(prefix="ideogram-assets-tls-"))
        self._certificate = create_certificate(self._tls_dir, hosts=(self.host, "localhost"))
        self._log = self.log_path.open("ab") if self.log_path else None
        tls = ["--ssl-cert", str(self._certificate.cert_path), "--ssl-key", str(self._certificate.key_path)]
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-m", self._server_module, "-H", self.host, "-p", str(self.port), *tls],
            stdout=self._log or subprocess.DEVNULL,
            stderr=self._log or subprocess.DEVNULL,
            env=environment,
        )
        wait_until(self._ready, timeout, f"moto server on port {self.port}")
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def client(
        self, service: str, region: str = LOCAL_AWS_ENVIRONMENT["AWS_REGION"], max_pool_connections: int = 10
    ) -> Any:
        return local_client(service, self.endpoint_url, self.ca_bundle, region, max_pool_connections)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
