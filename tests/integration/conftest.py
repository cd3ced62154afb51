"""The retention and search-index tests' world (retention_world.py): the AWS emulator and the
Ideogram emulator once per module, template.yaml, and a fresh bucket and table for each test.
A module with fixtures of its own by these names uses its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ideogram_assets.observability import metrics
from local_stack.aws_emulator import AwsEmulator
from local_stack.ideogram import EmulatorSettings, RunningEmulator, start_emulator
from local_stack.template import load_template
from tests.integration.retention_world import API_KEY, POWERTOOLS_VARIABLES, World, reset_faults


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsEmulator]:
    """The AWS emulator for a test module. PynamoDB builds its own clients: it finds the emulator
    as the functions' SDK does, from AWS_ENDPOINT_URL and AWS_CA_BUNDLE."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    with AwsEmulator() as running, pytest.MonkeyPatch.context() as environment:
        environment.setenv("AWS_ENDPOINT_URL", running.endpoint_url)
        environment.setenv("AWS_CA_BUNDLE", running.ca_bundle)
        for name in POWERTOOLS_VARIABLES:
            environment.setenv(name, variables[name])
        yield running


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    """The Ideogram emulator for a test module."""
    running = start_emulator(EmulatorSettings(api_key=API_KEY, log_requests=False), port=0)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def world(
    request: pytest.FixtureRequest, aws: AwsEmulator, emulator: RunningEmulator, template: dict[str, Any]
) -> Iterator[World]:
    """A fresh bucket and table; a test may pass settings of its own (indirect parametrization)."""
    yield World(aws, emulator, template, environment=dict(getattr(request, "param", None) or {}))
    reset_faults(emulator)
    metrics.clear_metrics()  # the generation service's metrics, never flushed outside a handler
