"""moto as shipped beside the local stack's moto: the local stack's patches are checked against
moto's own answers by running the same requests on both."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local_stack.aws_emulator import AwsEmulator


@contextmanager
def shipped_and_local(logs: Path, marker: str) -> Iterator[tuple[AwsEmulator, AwsEmulator]]:
    """(moto as shipped, the local stack's moto), the patch that logs `marker` in the second only.
    One hash seed for both: moto keeps some sets as Python sets, so both answer in one order."""
    seed = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"
    try:
        with (
            AwsEmulator(log_path=logs / "shipped.log", moto_as_shipped=True) as shipped,
            AwsEmulator(log_path=logs / "local.log") as local,
        ):
            assert marker not in (logs / "shipped.log").read_text()
            assert marker in (logs / "local.log").read_text()
            yield shipped, local
    finally:
        if seed is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = seed
