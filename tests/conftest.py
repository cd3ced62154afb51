"""Shared fixtures: the embedded local stack, started once per test session on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local_stack.aws_emulator import LOCAL_AWS_ENVIRONMENT
from local_stack.stack import LocalStack, StackOptions

MAX_IMAGE_BYTES_IN_TESTS = 8 * 1024 * 1024


@pytest.fixture(scope="session", autouse=True)
def _local_aws_credentials() -> None:
    """Tests never reach a real account: fake credentials, whatever the machine has."""
    os.environ.update(LOCAL_AWS_ENVIRONMENT)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack: moto server, Ideogram emulator and gateway, as `make up` runs it."""
    options = StackOptions(
        log_dir=tmp_path_factory.mktemp("stack-logs"),
        ideogram_base_url=None,
        fault_proxy=True,
        # Small enough that the oversized-image test stays fast; large enough for multipart.
        extra_environment={"MAX_IMAGE_BYTES": str(MAX_IMAGE_BYTES_IN_TESTS)},
        # Batches of several messages (so one can fail while the rest succeed), and a short trip
        # to the dead-letter queue.
        parameter_overrides={"IngestBatchSize": "4", "IngestMaxReceives": "3"},
    )
    with LocalStack(options) as running:
        yield running
