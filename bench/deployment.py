"""A deployment tree as `sam build` makes it and Lambda runs it: source files only, no bytecode.

Lambda imports the function's code and its layers from a read-only file system, from the .py
files the build copied: `sam build` unpacks the layer's wheels without compiling them and copies
the sources as they are. Every cold start therefore compiles every module it imports (the
runtime's standard library comes precompiled). Timing imports from the development tree, whose
`__pycache__` folders are warm, would leave that cost out.

Here the layer's third-party dependencies are installed once per requirements file with
`pip install --target --no-compile`, and each run copies the functions and layers into a
temporary folder without `__pycache__`. Children run with `-B`, so nothing is written back.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from bench.harness import BenchmarkError

_BYTECODE = ("__pycache__", "*.pyc", "*.pyo")


def bytecode_files(roots: Iterable[Path]) -> list[Path]:
    """Compiled files or `__pycache__` folders under any of the roots (none must exist)."""
    found: list[Path] = []
    for root in roots:
        found += [
            path for path in root.rglob("*") if path.name == "__pycache__" or path.suffix in {".pyc", ".pyo"}
        ]
    return sorted(found)


def require_no_bytecode(roots: Iterable[Path], when: str) -> None:
    found = bytecode_files(roots)
    if found:
        listed = "\n".join(f"  {path}" for path in found[:10])
        raise BenchmarkError(f"compiled bytecode found {when} (a deployment has none):\n{listed}")


def dependency_site(project_root: Path, requirements: Path | None = None) -> Path | None:
    """The layer's pinned third-party packages, as `sam build` unpacks them: no bytecode.

    Installed once per requirements file (by its hash) under .local/bench/; None for a project
    without layers/core/requirements.txt (the running interpreter's packages then stand in).
    """
    requirements = requirements or project_root / "layers" / "core" / "requirements.txt"
    if not requirements.exists():
        return None
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    site = project_root / ".local" / "bench" / f"layer-deps-{digest}-no-bytecode"
    if not (site / ".complete").exists():
        shutil.rmtree(site, ignore_errors=True)
        command = [sys.executable, "-B", "-m", "pip", "install", "--quiet", "--no-compile"]
        command += ["--target", str(site), "-r", str(requirements)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise BenchmarkError(f"installing the layer's dependencies failed:\n{completed.stderr[-2000:]}")
        require_no_bytecode([site], f"in {site} after pip install --no-compile")
        (site / ".complete").touch()
    return site


def copy_sources(source: Path, destination: Path) -> Path:
    """The folder's files without bytecode, as the build copies a function's or a layer's code."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*_BYTECODE))
    return destination
