"""Running one retention arm in its child process and checking its counts against moto's log."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.harness import BenchmarkError
from bench.retention_fixture import RetentionWorld
from bench.wire_counts import WireCounts, log_tally, mismatch

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT_SECONDS = 4 * 3600
LOG_SETTLE_SECONDS = 10.0  # moto writes a request's log line just after its reply


@dataclass(frozen=True)
class ArmResult:
    seconds: float
    outcome: dict[str, Any]
    counts: WireCounts
    first_call: dict[str, float]

    def outcome_count(self, name: str) -> int:
        return int(self.outcome.get("counts", {}).get(name, 0))


def run_arm(world: RetentionWorld, arm: str, now: datetime, environment: dict[str, str]) -> ArmResult:
    """Runs `arm` in a fresh child with the function's environment; its counts must match the
    requests moto logged meanwhile, one for one."""
    offset = world.log_size()
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as scratch:
        result_path = Path(scratch) / "result.json"
        output_path = Path(scratch) / "output.log"
        job = json.dumps({"arm": arm, "now": now.isoformat()})
        with output_path.open("wb") as output:
            try:
                completed = subprocess.run(
                    [sys.executable, "-m", "bench.retention_child", job, str(result_path)],
                    cwd=PROJECT_ROOT,
                    env=environment,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    timeout=CHILD_TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise BenchmarkError(f"the {arm} run took more than {CHILD_TIMEOUT_SECONDS} s") from None
        if completed.returncode != 0 or not result_path.exists():
            tail = output_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise BenchmarkError(f"the {arm} run failed (exit {completed.returncode}):\n{tail}")
        answer = json.loads(result_path.read_text(encoding="utf-8"))
    result = ArmResult(
        seconds=float(answer["seconds"]),
        outcome=answer["outcome"],
        counts=WireCounts.from_json(answer["counts"]),
        first_call={name: float(value) for name, value in answer["first_call"].items()},
    )
    _check_against_log(world, offset, result.counts, arm)
    return result


def _check_against_log(world: RetentionWorld, offset: int, counts: WireCounts, arm: str) -> None:
    deadline = time.monotonic() + LOG_SETTLE_SECONDS
    while True:
        problem = mismatch(counts, log_tally(world.log_since(offset)))
        if problem is None:
            return
        if time.monotonic() > deadline:
            raise BenchmarkError(f"the {arm} run's counters and moto's request log disagree: {problem}")
        time.sleep(0.2)
