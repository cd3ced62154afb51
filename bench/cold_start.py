"""Cold start: the time to import each handler module, against importing boto3 and making a client.

Importing the handler module is the part of a Lambda cold start the code controls. Each import
is measured in a fresh interpreter set up like Lambda's (sys.path, environment); the baseline,
in another fresh interpreter, is `import boto3; boto3.client("s3")`, the least any function
that talks to AWS pays. Target: ratio of medians <= 1.3 for every function of template.yaml.

`python -m bench.cold_start --importtime [LogicalId]` lists the imports that dominate a
handler's import (`python -X importtime` in the same child), to decide what to defer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench.harness import Benchmark, BenchmarkError, Comparison, Progress, compare, run_rounds
from local_stack.template import TEMPLATE_PATH, load_template, resources_of_type

TARGET_RATIO = 1.3  # product requirement for the generate handler, applied to every handler
CHILD_TIMEOUT_SECONDS = 120
BASELINE = "baseline"

# Lambda puts the function's code first on sys.path, then each layer. The children run with
# -S (no site-packages): the layer's pinned dependencies come from a directory pip installs
# from layers/core/requirements.txt, so tools of the dev environment (the SAM CLI's awscrt and
# cryptography, which botocore imports when present) are not counted as they are not in Lambda.
# Output printed while importing goes to stderr so stdout carries only the JSON answer.
# __import__ rather than importlib.import_module: the latter bypasses the C import path,
# so -X importtime would not show the handler module as the root of its imports.
_IMPORT_HANDLER = """\
import sys, time
code_dir, module_name, function_name, *layer_dirs = sys.argv[1:]
sys.path[0:0] = [code_dir, *layer_dirs]
stdout, sys.stdout = sys.stdout, sys.stderr
start = time.perf_counter()
__import__(module_name)
elapsed = time.perf_counter() - start
sys.stdout = stdout
if not callable(getattr(sys.modules[module_name], function_name, None)):
    sys.exit(f"{module_name}.{function_name} is not a callable handler")
import json
print(json.dumps(elapsed))
"""

_IMPORT_BOTO3 = """\
import sys, time
sys.path[0:0] = sys.argv[1:]
stdout, sys.stdout = sys.stdout, sys.stderr
start = time.perf_counter()
import boto3
boto3.client("s3")
elapsed = time.perf_counter() - start
sys.stdout = stdout
import json
print(json.dumps(elapsed))
"""

# Fake credentials and a fixed region, as the local stack uses: nothing reaches AWS, and the
# machine's own profile or config files cannot change what botocore loads.
_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass(frozen=True)
class HandlerTarget:
    """One function of the template, as its cold start imports it."""

    logical_id: str
    code_dir: Path
    module: str
    function: str
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]
    project_root: Path

    @property
    def label(self) -> str:
        return f"{self.logical_id} ({self.code_dir.name}/{self.module.replace('.', '/')}.py)"


def _lambda_environment(
    function_name: str, handler: str, task_root: Path, memory_mb: int, variables: Mapping[str, str]
) -> dict[str, str]:
    """A clean environment with the variables Lambda defines: the developer's do not leak in.

    They matter: the X-Ray SDK, for one, takes its Lambda path (no sampler client made at
    import) only when LAMBDA_TASK_ROOT is set, which changes the import time by ~60 ms here.
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        **variables,
        **_AWS_ENVIRONMENT,
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        # Set by Lambda when active tracing is on (the template's Globals turn it on).
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }


def _variable(name: str, value: Any) -> str:
    # Intrinsics (!Ref AssetsTable, ...) have no local value; a placeholder is enough because
    # nothing may call AWS at import time.
    return str(value) if isinstance(value, str | int | float | bool) else f"placeholder-{name.lower()}"


def discover(template_path: Path = TEMPLATE_PATH) -> list[HandlerTarget]:
    """Every AWS::Serverless::Function of the template, with Globals applied."""
    template = load_template(template_path)
    base_dir = template_path.parent
    globals_ = template.get("Globals", {}).get("Function", {})
    layers = resources_of_type(template, "AWS::Serverless::LayerVersion")
    targets = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = resource.get("Properties", {})
        runtime = properties.get("Runtime", globals_.get("Runtime", ""))
        handler = properties.get("Handler", globals_.get("Handler"))
        code_uri = properties.get("CodeUri", globals_.get("CodeUri"))
        memory_mb = properties.get("MemorySize", globals_.get("MemorySize", 128))
        if not str(runtime).startswith("python"):
            raise BenchmarkError(
                f"{logical_id}: runtime {runtime!r} is not Python; cold_start measures Python imports"
            )
        if not isinstance(handler, str) or "." not in handler or not isinstance(code_uri, str):
            raise BenchmarkError(f"{logical_id}: needs a Handler module.function and a local CodeUri")
        layer_dirs = []
        for layer in [*globals_.get("Layers", []), *properties.get("Layers", [])]:
            layer_id = layer.get("Ref") if isinstance(layer, dict) else None
            content_uri = (
                layers.get(layer_id, {}).get("Properties", {}).get("ContentUri") if layer_id else None
            )
            if not isinstance(content_uri, str):
                raise BenchmarkError(f"{logical_id}: layer {layer!r} is not a local layer of the template")
            layer_dirs.append(base_dir / content_uri)
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        module, function = handler.rsplit(".", 1)
        targets.append(
            HandlerTarget(
                logical_id=logical_id,
                code_dir=base_dir / code_uri,
                module=module,
                function=function,
                layer_dirs=tuple(layer_dirs),
                project_root=base_dir,
                environment=_lambda_environment(
                    logical_id,
                    handler,
                    base_dir / code_uri,
                    memory_mb if isinstance(memory_mb, int) else 128,
                    {name: _variable(name, value) for name, value in variables.items()},
                ),
            )
        )
    return targets


def layer_site(project_root: Path) -> Path | None:
    """The layer's third-party dependencies, installed once per requirements file (pip, cached).

    None for a project without layers/core/requirements.txt: the venv's packages stand in.
    """
    requirements = project_root / "layers" / "core" / "requirements.txt"
    if not requirements.exists():
        return None
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    site = project_root / ".local" / "bench" / f"layer-site-{digest}"
    if not (site / ".complete").exists():
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(site),
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise BenchmarkError(f"installing the layer's dependencies failed:\n{completed.stderr[-2000:]}")
        (site / ".complete").touch()
    return site


def _isolation(project_root: Path) -> tuple[list[str], list[str]]:
    """Interpreter options and extra sys.path entries: -S and the layer's site when there is one."""
    site = layer_site(project_root)
    return (["-S"], [str(site)]) if site else ([], [])


def _child_argv(target: HandlerTarget, python_options: Sequence[str] = ()) -> list[str]:
    # -I: no PYTHON* variables, no user site, no cwd on sys.path; -S: no site-packages at all,
    # the script puts the function's code, its layers and the layer's dependencies on sys.path.
    options, site = _isolation(target.project_root)
    return [
        sys.executable,
        "-I",
        *options,
        *python_options,
        "-c",
        _IMPORT_HANDLER,
        str(target.code_dir),
        target.module,
        target.function,
        *(str(layer) for layer in target.layer_dirs),
        *site,
    ]


def _run_child(
    argv: Sequence[str], environment: Mapping[str, str], cwd: Path, what: str
) -> subprocess.CompletedProcess[str]:
    try:
        completed = subprocess.run(
            list(argv),
            env=dict(environment),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchmarkError(
            f"{what}: the child interpreter did not finish within {CHILD_TIMEOUT_SECONDS} s"
        ) from None
    if completed.returncode != 0:
        stderr_tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise BenchmarkError(
            f"{what}: the child interpreter exited with status {completed.returncode}:\n{stderr_tail}"
        )
    return completed


def parse_seconds(stdout: str, what: str) -> float:
    """The child's answer: one JSON number of seconds, nothing else."""
    try:
        value = json.loads(stdout)
    except json.JSONDecodeError:
        raise BenchmarkError(
            f"{what}: expected one JSON number on the child's stdout, got {stdout[:200]!r}"
        ) from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BenchmarkError(f"{what}: expected a positive number of seconds, got {value!r}")
    return float(value)


def measure_handler_import(target: HandlerTarget) -> float:
    what = f"importing {target.label}"
    completed = _run_child(_child_argv(target), target.environment, target.code_dir, what)
    return parse_seconds(completed.stdout, what)


def measure_boto3_baseline(project_root: Path) -> float:
    what = 'baseline (import boto3; boto3.client("s3"))'
    environment = _lambda_environment("bench-baseline", "baseline.handler", project_root, 128, {})
    options, site = _isolation(project_root)
    argv = [sys.executable, "-I", *options, "-c", _IMPORT_BOTO3, *site]
    completed = _run_child(argv, environment, project_root, what)
    return parse_seconds(completed.stdout, what)


def run(rounds: int, progress: Progress, template_path: Path = TEMPLATE_PATH) -> list[Comparison]:
    targets = discover(template_path)
    if not targets:
        raise BenchmarkError(f"{template_path} declares no AWS::Serverless::Function")
    progress(f"cold_start: {len(targets)} function(s): {', '.join(t.label for t in targets)}")
    arms = {BASELINE: partial(measure_boto3_baseline, template_path.parent)}
    arms |= {target.logical_id: partial(measure_handler_import, target) for target in targets}
    samples = run_rounds(arms, rounds, progress)
    return [compare(t.label, samples[t.logical_id], samples[BASELINE], TARGET_RATIO, "s") for t in targets]


BENCHMARK = Benchmark(
    name="cold_start",
    title='Cold start: handler import vs `import boto3; boto3.client("s3")`',
    run=run,
)


@dataclass
class ImportTime:
    module: str
    depth: int  # nesting level as -X importtime prints it; 0 for the handler module itself
    self_us: int
    cumulative_us: int
    children: list[ImportTime] = field(default_factory=list)


def parse_importtime(stderr: str) -> list[ImportTime]:
    """The import tree of `python -X importtime` output, roots in the order they finished.

    Lines are 'import time: self [us] | cumulative | <two spaces per level>name' and come in
    post-order (a module after the modules it imported), which is how the tree is rebuilt.
    """
    pending: dict[int, list[ImportTime]] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        module = name.strip()
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        node = ImportTime(
            module, depth, int(self_us), int(cumulative_us), children=pending.pop(depth + 1, [])
        )
        pending.setdefault(depth, []).append(node)
    return pending.get(0, [])


def _tree_lines(node: ImportTime, min_us: int, max_depth: int) -> list[str]:
    lines = [f"  {node.cumulative_us / 1000:8.1f} ms  {'  ' * node.depth}{node.module}"]
    if node.depth < max_depth:
        for child in sorted(node.children, key=lambda c: c.cumulative_us, reverse=True):
            if child.cumulative_us >= min_us:
                lines += _tree_lines(child, min_us, max_depth)
    return lines


def importtime_report(target: HandlerTarget, min_ms: float = 5.0, max_depth: int = 3) -> str:
    """The handler's import tree, heaviest first, pruned to imports of at least min_ms."""
    what = f"importtime of {target.label}"
    completed = _run_child(
        _child_argv(target, ["-X", "importtime"]), target.environment, target.code_dir, what
    )
    roots = [root for root in parse_importtime(completed.stderr) if root.module == target.module]
    if not roots:
        raise BenchmarkError(f"{what}: no import of {target.module} in the -X importtime output")
    lines = [f"{target.label}: cumulative import time (-X importtime adds overhead), imports >= {min_ms} ms:"]
    return "\n".join(lines + _tree_lines(roots[-1], int(min_ms * 1000), max_depth))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cold_start", description=__doc__.split("\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--importtime", action="store_true", help="list the imports that dominate each handler's import"
    )
    parser.add_argument("--min-ms", type=float, default=5.0, help="hide imports cheaper than this")
    parser.add_argument("--depth", type=int, default=3, help="how deep to show the import tree")
    parser.add_argument("functions", nargs="*", help="logical ids (default: every function)")
    args = parser.parse_args(argv)
    if not args.importtime:
        parser.error(
            "use `python -m bench cold_start` to run the benchmark; this entry point only has --importtime"
        )
    targets = [t for t in discover() if not args.functions or t.logical_id in args.functions]
    try:
        for target in targets:
            print(importtime_report(target, args.min_ms, args.depth), end="\n\n")
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
