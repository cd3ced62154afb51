"""Fixtures shared by the end-to-end tests on the session stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.stack import LocalStack


@pytest.fixture
def faults_cleared(stack: LocalStack) -> Iterator[None]:
    """After the test, the emulator serves normally and the fault proxy passes every request."""
    yield
    assert stack.emulator is not None
    assert stack.proxy is not None
    stack.emulator.reset_faults()
    stack.emulator.settings.public_base_url = None
    stack.proxy.clear()
