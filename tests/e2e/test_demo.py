"""`make demo` end to end: the demo starts its own local stack, and every step of it checks what it
shows (demo_find.DemoStepFailed), so a demo that exits 0 showed the product working."""

from __future__ import annotations

import os
import subprocess
import sys

from local_stack.template import PROJECT_ROOT

SECTIONS = (
    "1. Resources created in the AWS emulator",
    "2. The API through the local gateway",
    "3. POST /generations",
    "4. The Ideogram emulator on its own",
    "5. The same job from the command line",
    "6. Find it again",
    "7. Nothing paid is lost",
)


def test_make_demo_runs_every_section_and_each_step_shows_what_it_says() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local_stack", "demo"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    transcript = result.stdout + result.stderr
    assert result.returncode == 0, transcript[-4000:]
    positions = [result.stdout.find(f"\n{title}") for title in SECTIONS]
    assert -1 not in positions, transcript[-4000:]
    assert positions == sorted(positions)
    assert "Traceback" not in transcript
    find_it_again = result.stdout[positions[5] : positions[6]]
    for command in ("search", "tag", "star", "open", "report", "export", "pull"):
        assert f"$ ideogram-assets {command}" in find_it_again
    assert "Swagger UI" in result.stdout
    assert result.stdout.rstrip().endswith("`make test` runs the test suite.")
