"""CPU time used during a run, by part of the local stack, and by the whole machine (Linux /proc).

The local stack runs as this process (the Ideogram emulator, the gateway, the queue and stream
pollers, the benchmark itself), moto (one process) and one process per execution environment.
Their CPU seconds over a run say which part the machine's cores were busy with, and the machine's
own counters say how much of the cores other work took: on a shared machine with two cores, a
run that needs more CPU than the cores give cannot be as fast as its ideal.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
MOTO = "moto (AWS emulator)"
THIS_PROCESS = "benchmark process (Ideogram emulator, gateway, pollers)"


def _ticks_per_second() -> int:
    return os.sysconf("SC_CLK_TCK")


def parse_stat(text: str) -> tuple[int, float]:
    """(parent pid, user + system CPU ticks) from a /proc/<pid>/stat line."""
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), float(fields[11]) + float(fields[12])


def machine_ticks(text: str) -> tuple[float, float]:
    """(busy, total) CPU ticks of all cores, from the first line of /proc/stat."""
    values = [float(value) for value in text.splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def label_of(command: list[bytes], environment: list[bytes]) -> str:
    """Which part of the stack a child process is: moto, a function (by name), or something else."""
    if b"local_stack.moto_server" in command or b"moto.server" in command:
        return MOTO
    for variable in environment:
        if variable.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            return f"{variable.split(b'=', 1)[1].decode(errors='replace')} environments"
    return "other child processes"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return None


def _tree(root: int) -> dict[int, tuple[int, float]]:
    """Every process under `root` (root included): pid -> (parent, CPU ticks)."""
    stats: dict[int, tuple[int, float]] = {}
    children: dict[int, list[int]] = defaultdict(list)
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        raw = _read(entry / "stat")
        if raw is None:
            continue
        parent, ticks = parse_stat(raw.decode(errors="replace"))
        stats[int(entry.name)] = (parent, ticks)
        children[parent].append(int(entry.name))
    found, pending = {}, [root]
    while pending:
        pid = pending.pop()
        if pid in stats:
            found[pid] = stats[pid]
        pending += children.get(pid, [])
    return found


@dataclass(frozen=True)
class CpuSnapshot:
    ticks_by_pid: Mapping[int, float]
    labels: Mapping[int, str]
    machine_busy: float
    machine_total: float


def snapshot(root: int | None = None) -> CpuSnapshot:
    root = os.getpid() if root is None else root
    ticks: dict[int, float] = {}
    labels: dict[int, str] = {}
    for pid, (_, used) in _tree(root).items():
        ticks[pid] = used
        if pid == root:
            labels[pid] = THIS_PROCESS
            continue
        command = (_read(PROC / str(pid) / "cmdline") or b"").split(b"\0")
        environment = (_read(PROC / str(pid) / "environ") or b"").split(b"\0")
        labels[pid] = label_of(command, environment)
    busy, total = machine_ticks((PROC / "stat").read_text(encoding="utf-8"))
    return CpuSnapshot(ticks, labels, busy, total)


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds over a run: by part of the stack, all of the machine's cores, and their capacity."""

    by_part: Mapping[str, float]
    machine_busy: float
    machine_capacity: float

    @property
    def stack(self) -> float:
        return sum(self.by_part.values())

    @property
    def others(self) -> float:
        """CPU seconds the machine spent on work that is not this stack (other jobs)."""
        return max(0.0, self.machine_busy - self.stack)


def cpu_between(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    """CPU seconds each part used between two snapshots (processes started meanwhile from zero)."""
    per_second = _ticks_per_second()
    by_part: dict[str, float] = defaultdict(float)
    for pid, used in after.ticks_by_pid.items():
        by_part[after.labels[pid]] += (used - before.ticks_by_pid.get(pid, 0.0)) / per_second
    return CpuUse(
        by_part=dict(by_part),
        machine_busy=(after.machine_busy - before.machine_busy) / per_second,
        machine_capacity=(after.machine_total - before.machine_total) / per_second,
    )
