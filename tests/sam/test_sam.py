"""`sam validate` (offline) and `sam build` (no Docker; only the package index) for the Lambda target.

The target is python3.13 on arm64. The build runs once per module in a temporary directory and the
checks read what it produced: every wheel and every compiled extension in the artifacts must be for
CPython 3.13 on Linux aarch64, even though this machine may be x86_64.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
# sys.prefix, not sys.executable.resolve(): the venv's bin holds `sam` and a `python3.13` symlink.
VENV_BIN = Path(sys.prefix) / "bin"
SAM = VENV_BIN / "sam"

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
PYTHON_VERSION = (3, 13)
CPYTHON_ABI = "cp313"
# Lambda's python3.13 runtime runs on Amazon Linux 2023 (glibc 2.34): newer manylinux wheels won't load.
MAX_GLIBC_MINOR = 34
EM_AARCH64 = 0xB7
# Modules the Lambda python runtime ships itself; code may import them without the layer carrying them.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
SAM_TIMEOUT_S = 240

_SHARED_LIBRARY = re.compile(r"\.so(?:\.\d+)*$")
# `name.cpython-313-aarch64-linux-gnu.so` or `name.abi3.so`; plain `libx.so.1` carries no tag.
_EXTENSION_TAG = re.compile(r"\.(?:cpython-(?P<version>\d+)(?P<threading>t?)-(?P<platform>[\w-]+)|abi3)\.so$")


# ---------------------------------------------------------------- template loading


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    # Rebuild the long form ({"Fn::Sub": ...}) so the result reads like the JSON template would.
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    key = suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}"
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_CfnLoader)  # a SafeLoader subclass: no arbitrary objects
    assert isinstance(template, dict), f"{path} is not a mapping"
    return template


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    }


def function_property(template: dict[str, Any], function: dict[str, Any], name: str) -> Any:
    """A function's property, falling back to Globals.Function as SAM does."""
    properties = function.get("Properties", {})
    if name in properties:
        return properties[name]
    return template.get("Globals", {}).get("Function", {}).get(name)


# ---------------------------------------------------------------- running sam


def sam_env(app_dir: Path, *, offline: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    # `sam build` (no container) looks up `python3.13` on PATH: the venv's must win.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SAM_CLI_TELEMETRY"] = "0"
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # no credential probing of a metadata endpoint
    # SAM CLI's own (undocumented) override of ~/.aws-sam, which it uses in its integration tests:
    # keeps metadata.json out of the user's home. HOME itself stays, so pip keeps its config.
    env["__SAM_CLI_APP_DIR"] = str(app_dir)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):  # nothing here talks to AWS
        env.pop(name, None)
    if offline:
        # A proxy nobody listens on: any network use fails fast instead of passing by luck.
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env[name] = "http://127.0.0.1:9"
        for name in ("NO_PROXY", "no_proxy"):
            env.pop(name, None)
    return env


def run_sam(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAM), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SAM_TIMEOUT_S,
        check=False,
    )


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    command = " ".join(str(part) for part in proc.args)
    return f"`{command}` exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


@pytest.fixture(scope="module")
def sam_app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SAM.is_file():
        pytest.skip(f"{SAM} not found: run `make venv`")
    app_dir = tmp_path_factory.mktemp("sam-app-dir")
    # A fresh last-check time stops SAM's weekly "newer version on PyPI?" request (up to 5 s offline).
    config = {"lastVersionCheck": time.time(), "telemetryEnabled": False}
    (app_dir / "metadata.json").write_text(json.dumps(config), encoding="utf-8")
    python = shutil.which(RUNTIME, path=sam_env(app_dir)["PATH"])
    assert python, f"{RUNTIME} not on PATH: sam build needs it to build for the {RUNTIME} runtime"
    return app_dir


@dataclass(frozen=True)
class SamBuild:
    build_dir: Path
    template: dict[str, Any]  # the built template; its CodeUri/ContentUri are relative to build_dir
    seconds: float

    def artifact_dir(self, logical_id: str) -> Path:
        resource = self.template["Resources"][logical_id]
        properties = resource["Properties"]
        uri = properties.get("CodeUri") or properties.get("ContentUri")
        assert isinstance(uri, str), f"{logical_id} has no local code location in the built template"
        return self.build_dir / uri

    def files(self) -> Iterator[Path]:
        return (path for path in self.build_dir.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def sam_build(tmp_path_factory: pytest.TempPathFactory, sam_app_dir: Path) -> SamBuild:
    work = tmp_path_factory.mktemp("sam-build")
    build_dir = work / ".aws-sam" / "build"
    # cwd is the temp dir because a cached build (samconfig: cached = true) keeps downloaded
    # dependencies in ./.aws-sam/deps; samconfig.toml is still read from the template's directory.
    args = [
        "build",
        "--template-file",
        str(TEMPLATE),
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(work / ".aws-sam" / "cache"),
    ]
    started = time.monotonic()
    proc = run_sam(args, cwd=work, env=sam_env(sam_app_dir))
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        pytest.fail(describe(proc))
    return SamBuild(build_dir=build_dir, template=load_template(build_dir / "template.yaml"), seconds=seconds)


@pytest.fixture(scope="module")
def source_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def core_layer_python(sam_build: SamBuild) -> Path:
    return sam_build.artifact_dir("CoreLayer") / "python"


# ---------------------------------------------------------------- validate


@pytest.mark.parametrize("config_env", ["default", "dev", "prod"])
def test_validate_lint_offline(sam_app_dir: Path, config_env: str) -> None:
    proc = run_sam(
        ["validate", "--lint", "--config-env", config_env],
        cwd=REPO,
        env=sam_env(sam_app_dir, offline=True),
    )
    assert proc.returncode == 0, describe(proc)


def _override_problem(parameter: dict[str, Any] | None, value: str) -> str | None:
    """Why CloudFormation would refuse value for parameter, or None if it takes it."""
    if parameter is None:
        return "not a template parameter"
    if "AllowedValues" in parameter and value not in {str(item) for item in parameter["AllowedValues"]}:
        return f"not one of {parameter['AllowedValues']}"
    if parameter.get("Type") == "Number":
        number = float(value)
        if "MinValue" in parameter and number < float(parameter["MinValue"]):
            return f"below MinValue {parameter['MinValue']}"
        if "MaxValue" in parameter and number > float(parameter["MaxValue"]):
            return f"above MaxValue {parameter['MaxValue']}"
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        return f"does not match {parameter['AllowedPattern']}"
    return None


def test_samconfig_parameter_overrides_fit_the_template(source_template: dict[str, Any]) -> None:
    # `sam deploy` would fail only at deploy time on a misspelt name or an out-of-range value.
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    parameters = source_template["Parameters"]
    checked = 0
    problems = []
    for env_name, commands in config.items():
        if not isinstance(commands, dict):
            continue  # `version`
        for command, section in commands.items():
            overrides = section.get("parameters", {}).get("parameter_overrides")
            if overrides is None:
                continue
            for override in overrides.split():
                name, _, value = override.partition("=")
                checked += 1
                problem = _override_problem(parameters.get(name), value)
                if problem:
                    problems.append(f"[{env_name}.{command}] {name}={value}: {problem}")
    assert checked, "samconfig.toml sets no parameter_overrides"
    assert not problems, "\n".join(problems)


def test_template_targets_lambda_python313_arm64(source_template: dict[str, Any]) -> None:
    # The artifact checks below assume this target; a function on another runtime or
    # architecture than the layer would import wheels it cannot load.
    layers = resources_of_type(source_template, "AWS::Serverless::LayerVersion")
    functions = resources_of_type(source_template, "AWS::Serverless::Function")
    assert "CoreLayer" in layers
    assert functions, "template has no AWS::Serverless::Function"
    for name, layer in layers.items():
        assert layer.get("Metadata", {}).get("BuildMethod") == RUNTIME, name
        assert layer.get("Metadata", {}).get("BuildArchitecture") == ARCHITECTURE, name
        assert RUNTIME in layer["Properties"].get("CompatibleRuntimes", []), name
        assert ARCHITECTURE in layer["Properties"].get("CompatibleArchitectures", []), name
    for name, function in functions.items():
        assert function_property(source_template, function, "Runtime") == RUNTIME, name
        assert function_property(source_template, function, "Architectures") == [ARCHITECTURE], name


# ---------------------------------------------------------------- build


def test_build_without_docker(sam_build: SamBuild) -> None:
    # The fixture already failed on a non-zero exit; this records that the build happened and
    # how long it took (shown with `pytest -rP`/`-s`).
    print(f"sam build took {sam_build.seconds:.1f} s")
    assert (sam_build.build_dir / "template.yaml").is_file()


def test_core_layer_layout(sam_build: SamBuild, core_layer_python: Path) -> None:
    layer_root = core_layer_python.parent
    # Lambda puts a python layer's `python/` on sys.path; anything beside it would be unreachable.
    assert sorted(path.name for path in layer_root.iterdir()) == ["python"]
    assert (core_layer_python / "ideogram_assets" / "__init__.py").is_file()
    assert list((core_layer_python / "pydantic_core").glob("_pydantic_core*.so")), (
        "pydantic_core's compiled extension is missing from the layer"
    )


def lambda_wheel_tags() -> frozenset[Tag]:
    """Every wheel tag that CPython 3.13 on Lambda's Linux aarch64 (glibc 2.34) accepts."""
    platforms = [
        "manylinux2014_aarch64",
        *(f"manylinux_2_{minor}_aarch64" for minor in range(17, MAX_GLIBC_MINOR + 1)),
    ]
    return frozenset(
        [
            *cpython_tags(PYTHON_VERSION, abis=[CPYTHON_ABI], platforms=platforms),
            *compatible_tags(PYTHON_VERSION, CPYTHON_ABI, platforms),
        ]
    )


def wheel_tags(wheel_file: Path) -> set[Tag]:
    tags: set[Tag] = set()
    for line in wheel_file.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Tag":
            tags |= parse_tag(value.strip())
    return tags


def test_installed_wheels_target_lambda(sam_build: SamBuild) -> None:
    supported = lambda_wheel_tags()
    dist_infos = sorted(sam_build.build_dir.rglob("*.dist-info"))
    assert dist_infos, "no installed distributions in the build: the layer's requirements were not installed"
    problems = []
    for dist_info in dist_infos:
        wheel_file = dist_info / "WHEEL"
        if not wheel_file.is_file():
            problems.append(f"{dist_info.name}: no WHEEL file")
            continue
        tags = wheel_tags(wheel_file)
        # Universal pure-python tags (py2.py3-none-any) are fine; anything else must be in the set.
        foreign = sorted(str(tag) for tag in tags - supported if (tag.abi, tag.platform) != ("none", "any"))
        if not tags & supported or foreign:
            problems.append(f"{dist_info.name}: {sorted(map(str, tags))} (not for Lambda: {foreign})")
    assert not problems, "wheels not for CPython 3.13 on Linux aarch64:\n" + "\n".join(problems)


def elf_problem(path: Path) -> str | None:
    """Why `path` is not a 64-bit little-endian aarch64 ELF file, or None if it is."""
    with path.open("rb") as stream:
        header = stream.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return "not an ELF file"
    if header[4] != 2 or header[5] != 1:  # EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian
        return f"ELF class {header[4]} data {header[5]}, want 64-bit little-endian"
    (machine,) = struct.unpack_from("<H", header, 18)  # e_machine
    if machine != EM_AARCH64:
        return f"e_machine {machine:#x}, want {EM_AARCH64:#x} (aarch64)"
    return None


def extension_tag_problem(path: Path) -> str | None:
    match = _EXTENSION_TAG.search(path.name)
    if match is None or match["version"] is None:  # untagged library or stable-ABI (.abi3.so)
        return None
    expected_version = "".join(map(str, PYTHON_VERSION))
    if match["version"] != expected_version or match["threading"]:
        return f"built for CPython {match['version']}{match['threading']}, want {expected_version}"
    if not match["platform"].startswith("aarch64-linux"):
        return f"built for {match['platform']}, want aarch64-linux-gnu"
    return None


def test_compiled_extensions_are_aarch64(sam_build: SamBuild) -> None:
    libraries = sorted(path for path in sam_build.files() if _SHARED_LIBRARY.search(path.name))
    # Not vacuous: the layer carries compiled dependencies (pydantic_core at least).
    assert any(path.name.startswith("_pydantic_core") for path in libraries), libraries
    problems = [
        f"{path.relative_to(sam_build.build_dir)}: {problem}"
        for path in libraries
        for problem in (elf_problem(path), extension_tag_problem(path))
        if problem
    ]
    assert not problems, (
        f"{len(problems)} of {len(libraries)} shared libraries not for Lambda:\n" + "\n".join(problems)
    )


def module_level_names(module: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def test_functions_contain_their_handlers(source_template: dict[str, Any], sam_build: SamBuild) -> None:
    functions = resources_of_type(source_template, "AWS::Serverless::Function")
    assert functions
    for name, function in functions.items():
        handler = function_property(source_template, function, "Handler")
        assert isinstance(handler, str), f"{name}: Handler {handler!r}"
        module_name, _, attribute = handler.rpartition(".")
        module_file = sam_build.artifact_dir(name) / (module_name.replace(".", "/") + ".py")
        assert module_file.is_file(), f"{name}: handler module {module_file} missing from the build"
        module = ast.parse(module_file.read_text(encoding="utf-8"), filename=str(module_file))
        assert attribute in module_level_names(module), f"{name}: {module_file.name} defines no {attribute}"


def imported_roots(module: ast.Module) -> set[str]:
    """Top-level names of the absolute imports that run at import time."""
    roots: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
            elif isinstance(node, ast.If):
                # `if TYPE_CHECKING:` imports (stubs) never run on Lambda.
                if ast.unparse(node.test) not in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                # try/except ImportError marks the import optional.
                optional = any(
                    handler.type is not None
                    and ast.unparse(handler.type) in {"ImportError", "ModuleNotFoundError"}
                    for handler in node.handlers
                )
                if not optional:
                    visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(module.body)
    return roots


def test_imports_resolve_on_lambda(sam_build: SamBuild, core_layer_python: Path) -> None:
    # Every module the functions and the core package import must be in the stdlib, the runtime,
    # the function's own code or the layer: anything else is an ImportError on the first request.
    own_code = {
        name: sam_build.artifact_dir(name)
        for name in resources_of_type(sam_build.template, "AWS::Serverless::Function")
    }
    own_code["CoreLayer/ideogram_assets"] = core_layer_python / "ideogram_assets"
    layer_modules = {path.name.split(".")[0] for path in core_layer_python.iterdir()}
    problems = []
    for owner, directory in own_code.items():
        local_modules = {path.name.split(".")[0] for path in directory.iterdir()}
        for source in sorted(directory.rglob("*.py")):
            roots = imported_roots(ast.parse(source.read_text(encoding="utf-8"), filename=str(source)))
            missing = roots - sys.stdlib_module_names - RUNTIME_PROVIDED - layer_modules - local_modules
            if missing:
                problems.append(f"{owner}: {source.relative_to(directory)} imports {sorted(missing)}")
    assert not problems, "imports not available on Lambda:\n" + "\n".join(problems)
