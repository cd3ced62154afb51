"""Cold start: importing a handler and setting up its first request, against boto3 and an S3 client.

A Lambda cold start runs the handler module's import, and its first request builds what the
module deferred (clients, sessions, PynamoDB, the Ideogram client): both are paid before the
first reply. Each sample is a fresh interpreter that times the import, then each step of the
first request's setup (bench/first_request.py), with no network call. The baseline, in another
fresh interpreter under the same conditions, times `import boto3` and `boto3.client("s3")`,
the least any function that talks to AWS pays. Both sides run as Lambda runs them: the code and
the layer's dependencies as `sam build` lays them out, with no compiled bytecode anywhere
(bench/deployment.py), and nothing written back (-B). Target: total over total <= 1.5.

`python -m bench.cold_start --importtime [LogicalId]` lists the imports that dominate a
function's cold start (`python -X importtime` in the same child), to decide what to defer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.deployment import copy_sources, dependency_site, require_no_bytecode
from bench.first_request import FIRST_REQUESTS, FirstRequest, SetupStep
from bench.harness import (
    Benchmark,
    BenchmarkError,
    Outcome,
    Progress,
    compare,
    parts_table,
    run_rounds,
)
from local_stack.template import TEMPLATE_PATH, load_template, resources_of_type

TARGET_RATIO = 1.5
CHILD_TIMEOUT_SECONDS = 120
BASELINE = "baseline"
BASELINE_LABEL = 'import boto3; boto3.client("s3")'
_BASELINE_STEPS = (
    SetupStep("import boto3", "import boto3\n"),
    SetupStep('boto3.client("s3")', 'boto3.client("s3")\n'),
)

# One sample. argv[1] is a JSON spec: sys.path entries to put first (Lambda's order: the
# function's code, then its layers, then the layers' dependencies), the steps to time one by one,
# a check to run afterwards, and whether to refuse network calls (an audit hook, installed only
# in the warm-up round: it runs on every audited event and would cost time). Steps are compiled
# before the clock starts. Output printed while importing goes to stderr so that stdout carries
# only the JSON answer: each step's seconds, in order.
_CHILD = """\
import json, sys, time
spec = json.loads(sys.argv[1])
sys.path[0:0] = spec["path"]
steps = [compile(source, label, "exec") for label, source in spec["steps"]]
check = compile(spec["check"], "check", "exec")
if spec["refuse_network"]:
    def refuse(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto"):
            raise RuntimeError(f"a cold start must not use the network: {event} {args!r}")
    sys.addaudithook(refuse)
stdout, sys.stdout = sys.stdout, sys.stderr
namespace = {"__name__": "__bench__"}
seconds = []
for step in steps:
    start = time.perf_counter()
    exec(step, namespace)
    seconds.append(time.perf_counter() - start)
exec(check, namespace)
sys.stdout = stdout
print(json.dumps(seconds))
"""

# Fake credentials and a fixed region, as the local stack uses: nothing reaches AWS, and the
# machine's own profile or config files cannot change what botocore loads. No instance metadata
# lookups either: with credentials in the environment botocore never asks, and this makes sure.
_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class HandlerTarget:
    """One function of the template, as its cold start imports it and sets up its first request."""

    logical_id: str
    code_dir: Path
    module: str
    function: str
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]
    project_root: Path
    first_request: FirstRequest | None = None

    @property
    def label(self) -> str:
        return f"{self.logical_id} ({self.code_dir.name}/{self.module.replace('.', '/')}.py)"

    @property
    def steps(self) -> tuple[SetupStep, ...]:
        setup = self.first_request.steps if self.first_request else ()
        return (SetupStep(f"import {self.module}", f"import {self.module}\n"), *setup)

    @property
    def check(self) -> str:
        return (
            "import sys\n"
            f"if not callable(getattr(sys.modules[{self.module!r}], {self.function!r}, None)):\n"
            f"    sys.exit('{self.module}.{self.function} is not a callable handler')\n"
        )


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


def resolve_variable(name: str, value: Any, parameters: Mapping[str, Any]) -> str:
    """A template variable's value: literals as they are, a parameter's Ref as its Default.

    Resources have no local value (a Ref to the table, say): a placeholder is enough, because
    nothing may call AWS during the measurement.
    """
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        declared = parameters.get(value["Ref"])
        if isinstance(declared, dict) and "Default" in declared:
            return str(declared["Default"])
    return f"placeholder-{name.lower().replace('_', '-')}"


def discover(
    template_path: Path = TEMPLATE_PATH, first_requests: Mapping[str, FirstRequest] = FIRST_REQUESTS
) -> list[HandlerTarget]:
    """Every AWS::Serverless::Function of the template, with Globals applied."""
    template = load_template(template_path)
    base_dir = template_path.parent
    globals_ = template.get("Globals", {}).get("Function", {})
    parameters = template.get("Parameters", {})
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
        first_request = first_requests.get(logical_id)
        module, function = handler.rsplit(".", 1)
        resolved = {name: resolve_variable(name, value, parameters) for name, value in variables.items()}
        targets.append(
            HandlerTarget(
                logical_id=logical_id,
                code_dir=base_dir / code_uri,
                module=module,
                function=function,
                layer_dirs=tuple(layer_dirs),
                project_root=base_dir,
                first_request=first_request,
                environment=_lambda_environment(
                    logical_id,
                    handler,
                    base_dir / code_uri,
                    memory_mb if isinstance(memory_mb, int) else 128,
                    {**resolved, **(first_request.environment if first_request else {})},
                ),
            )
        )
    return targets


@dataclass(frozen=True)
class Deployed:
    """The functions as deployed for this run: copies without bytecode, and the dependencies."""

    targets: list[HandlerTarget]
    dependencies: tuple[Path, ...]  # the layers' third-party packages (empty: the interpreter's own)
    baseline_task_root: Path  # an empty function folder for the baseline, which has no code
    roots: tuple[Path, ...]  # everything the children import from, checked for bytecode

    @property
    def interpreter_options(self) -> list[str]:
        # -I: no PYTHON* variables, no user site, no cwd on sys.path; -S (with a dependency tree
        # of our own): no site-packages at all, so the dev environment's extras (the SAM CLI's
        # awscrt and cryptography, which botocore imports when present) stay out; -B: no .pyc
        # written, as on Lambda's read-only file system.
        return ["-I", "-B", *(["-S"] if self.dependencies else [])]


@contextmanager
def deployed(targets: Sequence[HandlerTarget], progress: Progress | None = None) -> Iterator[Deployed]:
    """Copies each function's code and each layer without bytecode; removed afterwards."""
    if not targets:
        raise BenchmarkError("no function to deploy")
    project_root = targets[0].project_root
    site = dependency_site(project_root)
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as temporary:
        root = Path(temporary)
        layer_copies: dict[Path, Path] = {}
        copies = []
        for target in targets:
            for layer in target.layer_dirs:
                if layer not in layer_copies:
                    layer_copies[layer] = copy_sources(layer, root / "opt" / str(len(layer_copies)))
            # task/<LogicalId>/<folder>: the folder keeps its name, which the results show.
            code = copy_sources(target.code_dir, root / "task" / target.logical_id / target.code_dir.name)
            environment = {**target.environment, "LAMBDA_TASK_ROOT": str(code)}
            layer_dirs = tuple(layer_copies[layer] for layer in target.layer_dirs)
            copies.append(replace(target, code_dir=code, layer_dirs=layer_dirs, environment=environment))
        baseline_root = root / "task" / BASELINE
        baseline_root.mkdir(parents=True)
        dependencies = (site,) if site else ()
        roots = (root, *dependencies)
        require_no_bytecode(roots, "in the deployment copy")
        if progress:
            progress(f"  deployment copy in {root}; dependencies from {site or 'the interpreter'}")
        yield Deployed(copies, dependencies, baseline_root, roots)


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


def parse_step_seconds(stdout: str, steps: int, what: str) -> list[float]:
    """The child's answer: a JSON list of one positive number of seconds per step, nothing else."""
    try:
        value = json.loads(stdout)
    except json.JSONDecodeError:
        raise BenchmarkError(
            f"{what}: expected a JSON list on the child's stdout, got {stdout[:200]!r}"
        ) from None
    valid = isinstance(value, list) and all(
        isinstance(item, int | float) and not isinstance(item, bool) and item > 0 for item in value
    )
    if not valid or len(value) != steps:
        raise BenchmarkError(f"{what}: expected {steps} positive numbers of seconds, got {value!r}")
    return [float(item) for item in value]


@dataclass(frozen=True)
class Arm:
    """One side of the comparison: what a child puts on sys.path and times, and where it runs."""

    name: str
    label: str
    path: tuple[Path, ...]
    steps: tuple[SetupStep, ...]
    check: str
    environment: Mapping[str, str]
    cwd: Path

    def argv(self, options: Sequence[str], refuse_network: bool) -> list[str]:
        spec = {
            "path": [str(entry) for entry in self.path],
            "steps": [[step.label, step.source] for step in self.steps],
            "check": self.check,
            "refuse_network": refuse_network,
        }
        return [sys.executable, *options, "-c", _CHILD, json.dumps(spec)]

    def measure(self, options: Sequence[str], refuse_network: bool = False) -> list[float]:
        what = f"cold start of {self.label}"
        completed = _run_child(self.argv(options, refuse_network), self.environment, self.cwd, what)
        return parse_step_seconds(completed.stdout, len(self.steps), what)


def handler_arm(target: HandlerTarget, dependencies: Sequence[Path]) -> Arm:
    return Arm(
        name=target.logical_id,
        label=target.label,
        path=(target.code_dir, *target.layer_dirs, *dependencies),
        steps=target.steps,
        check=target.check,
        environment=target.environment,
        cwd=target.code_dir,
    )


def baseline_arm(deployment: Deployed, layer_dirs: Sequence[Path]) -> Arm:
    """Same interpreter, flags, sys.path shape and dependency tree as the functions; no code of ours."""
    environment = _lambda_environment(
        "bench-baseline", "baseline.handler", deployment.baseline_task_root, 128, {}
    )
    return Arm(
        name=BASELINE,
        label=BASELINE_LABEL,
        path=(deployment.baseline_task_root, *layer_dirs, *deployment.dependencies),
        steps=_BASELINE_STEPS,
        check="",
        environment=environment,
        cwd=deployment.baseline_task_root,
    )


@dataclass
class StepSamples:
    """Every measured sample's per-step seconds, per arm; the verdict uses their sums."""

    steps: dict[str, list[list[float]]] = field(default_factory=dict)

    def record(self, arm: str, seconds: Sequence[float]) -> float:
        self.steps.setdefault(arm, []).append(list(seconds))
        return sum(seconds)

    def totals(self, arm: str) -> list[float]:
        return [sum(sample) for sample in self.steps[arm]]

    def part(self, arm: str, first: int, last: int | None = None) -> list[float]:
        """Per sample, the sum of steps first..last-1 (all from first when last is None)."""
        return [sum(sample[first:last]) for sample in self.steps[arm]]


def breakdown_rows(arm: Arm, samples: StepSamples) -> list[tuple[str, str, list[float]]]:
    """The import, the setup (all steps after it), then each setup step on its own."""
    rows = [(arm.label, arm.steps[0].label, samples.part(arm.name, 0, 1))]
    if len(arm.steps) > 1:
        setup_name = "first-request setup, total" if arm.name != BASELINE else arm.steps[1].label
        rows.append((arm.label, setup_name, samples.part(arm.name, 1)))
    if len(arm.steps) > 2:
        rows += [
            (arm.label, f"- {step.label}", samples.part(arm.name, index, index + 1))
            for index, step in enumerate(arm.steps[1:], start=1)
        ]
    return rows


def run(rounds: int, progress: Progress, template_path: Path = TEMPLATE_PATH) -> Outcome:
    targets = discover(template_path)
    if not targets:
        raise BenchmarkError(f"{template_path} declares no AWS::Serverless::Function")
    progress(f"cold_start: {len(targets)} function(s): {', '.join(t.label for t in targets)}")
    with deployed(targets, progress) as deployment:
        layer_dirs = deployment.targets[0].layer_dirs
        arms = [baseline_arm(deployment, layer_dirs)]
        arms += [handler_arm(target, deployment.dependencies) for target in deployment.targets]
        options = deployment.interpreter_options
        # The warm-up round: every arm once with network calls refused, then discarded.
        for arm in arms:
            arm.measure(options, refuse_network=True)
        progress("  warm-up round done (no network call made by any arm)")
        samples = StepSamples()
        measures = {
            arm.name: (lambda arm=arm: samples.record(arm.name, arm.measure(options))) for arm in arms
        }
        run_rounds(measures, rounds, progress, warmup=0)
        require_no_bytecode(deployment.roots, "after the run (the children must not write any)")
    baseline = arms[0]
    comparisons, rows = [], breakdown_rows(baseline, samples)
    for arm, target in zip(arms[1:], deployment.targets, strict=True):
        scope = (
            "import + first-request setup"
            if target.first_request
            else "import only (no first-request setup defined)"
        )
        name = f"{arm.label}: {scope}" + (f" ({target.first_request.route})" if target.first_request else "")
        comparisons.append(
            compare(name, samples.totals(arm.name), samples.totals(BASELINE), TARGET_RATIO, "s")
        )
        rows += breakdown_rows(arm, samples)
    note = (
        "Where the time goes (medians of the same rounds; medians of parts need not add up):\n\n"
        + parts_table(rows, "s")
    )
    return Outcome(comparisons, [note])


BENCHMARK = Benchmark(
    name="cold_start",
    title='Cold start: import + first-request setup vs `import boto3; boto3.client("s3")`, no bytecode',
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


def importtime_report(arm: Arm, options: Sequence[str], min_ms: float = 5.0, max_depth: int = 3) -> str:
    """The arm's import tree, heaviest first, then the imports its first-request setup made."""
    what = f"importtime of {arm.label}"
    completed = _run_child(
        [*arm.argv([*options, "-X", "importtime"], refuse_network=False)], arm.environment, arm.cwd, what
    )
    module = arm.steps[0].source.split()[1]
    roots = parse_importtime(completed.stderr)
    position = next((index for index, root in enumerate(roots) if root.module == module), None)
    if position is None:
        raise BenchmarkError(f"{what}: no import of {module} in the -X importtime output")
    min_us = int(min_ms * 1000)
    lines = [
        f"{arm.label}: cumulative import time without bytecode (-X importtime adds overhead), "
        f"imports >= {min_ms} ms:"
    ]
    lines += _tree_lines(roots[position], min_us, max_depth)
    later = [root for root in roots[position + 1 :] if root.cumulative_us >= min_us]
    if later:
        lines.append("  imported by the first-request setup:")
        for root in sorted(later, key=lambda r: r.cumulative_us, reverse=True):
            lines += _tree_lines(root, min_us, max_depth)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cold_start", description=__doc__.split("\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--importtime", action="store_true", help="list the imports that dominate each function's cold start"
    )
    parser.add_argument("--min-ms", type=float, default=5.0, help="hide imports cheaper than this")
    parser.add_argument("--depth", type=int, default=3, help="how deep to show the import tree")
    parser.add_argument("functions", nargs="*", help="logical ids, or 'baseline' (default: every function)")
    args = parser.parse_args(argv)
    if not args.importtime:
        parser.error(
            "use `python -m bench cold_start` to run the benchmark; this entry point only has --importtime"
        )
    try:
        targets = discover()
        with deployed(targets) as deployment:
            arms = [baseline_arm(deployment, deployment.targets[0].layer_dirs)]
            arms += [handler_arm(target, deployment.dependencies) for target in deployment.targets]
            for arm in arms:
                if (args.functions and arm.name in args.functions) or (
                    not args.functions and arm.name != BASELINE
                ):
                    report = importtime_report(arm, deployment.interpreter_options, args.min_ms, args.depth)
                    print(report, end="\n\n")
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
