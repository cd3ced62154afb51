"""The benchmark harness's pure logic: summaries, verdicts, tables, the results section, discovery.

No timing is asserted anywhere: the numbers below are made up, and the only child process
started is one that fails on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, main
from bench.cold_start import (
    Arm,
    HandlerTarget,
    StepSamples,
    breakdown_rows,
    deployed,
    discover,
    handler_arm,
    parse_importtime,
    parse_step_seconds,
    resolve_variable,
)
from bench.deployment import bytecode_files, copy_sources, require_no_bytecode
from bench.e2e_overhead import cap_bps, stored_images
from bench.first_request import FIRST_REQUESTS, FirstRequest, SetupStep
from bench.harness import (
    RESULTS_END,
    RESULTS_START,
    BenchmarkError,
    Outcome,
    SourceState,
    compare,
    format_summary,
    machine_info,
    markdown_block,
    markdown_table,
    parse_porcelain,
    parts_table,
    rewrite_results,
    run_rounds,
    source_state,
    summarize,
    text_table,
    verdict,
)
from bench.persist_walltime import caps_for

# ---------------------------------------------------------------- summaries and verdicts


def test_summary_is_median_and_quartiles() -> None:
    summary = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (summary.median, summary.p25, summary.p75, summary.count) == (3.0, 2.0, 4.0, 5)


def test_summary_of_one_sample_has_no_spread() -> None:
    summary = summarize([0.2])
    assert summary.median == summary.p25 == summary.p75 == 0.2


def test_summary_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        summarize([])


def test_ratio_is_of_medians_not_of_means() -> None:
    # An outlier moves the mean of the candidate a lot and its median not at all.
    comparison = compare("x", [1.0, 1.2, 1.1, 1.2, 9.0], [1.0, 1.0, 1.0, 1.0, 1.0], target=1.3, unit="s")
    assert comparison.ratio == pytest.approx(1.2)
    assert comparison.passed
    assert verdict(comparison) == "PASS"


def test_target_is_inclusive_and_above_it_fails() -> None:
    at_target = compare("x", [1.3], [1.0], target=1.3, unit="s")
    above = compare("x", [1.31], [1.0], target=1.3, unit="s")
    assert at_target.passed
    assert not above.passed
    assert verdict(above) == "FAIL"


def test_round_ratios_pair_samples_by_round() -> None:
    comparison = compare("x", [2.0, 3.0, 4.0], [1.0, 3.0, 2.0], target=1.3, unit="s")
    spread = comparison.round_ratios
    assert spread is not None
    assert spread.median == 2.0  # ratios 2, 1, 2
    assert compare("x", [1.0, 2.0], [1.0], target=1.0, unit="s").round_ratios is None


def test_values_print_in_their_unit() -> None:
    assert format_summary(summarize([0.25, 0.3, 0.35]), "s") == "300.0 ms (275.0 ms..325.0 ms)"
    assert format_summary(summarize([2**20 * 3]), "bytes") == "3.0 MiB (3.0 MiB..3.0 MiB)"


def test_tables_show_ratio_target_and_verdict() -> None:
    comparisons = [
        compare("fast (a/app.py)", [0.1, 0.11], [0.1, 0.1], target=1.3, unit="s"),
        compare("slow (b/app.py)", [0.2, 0.21], [0.1, 0.1], target=1.3, unit="s"),
    ]
    text = text_table(comparisons).splitlines()
    assert text[0].startswith("benchmark")
    assert set(text[1]) <= {"-", " "}
    assert "1.05" in text[2]
    assert text[2].endswith("PASS")
    assert "2.05" in text[3]
    assert text[3].endswith("FAIL")
    markdown = markdown_table(comparisons).splitlines()
    assert len(markdown) == 4
    assert all(line.startswith("| ") or line.startswith("|---") for line in markdown)
    assert markdown[3].endswith("| <= 1.30 | FAIL |")


def test_a_pass_or_fail_whose_round_ratios_straddle_the_target_is_thin() -> None:
    # Ratios of medians 1.0 and 1.2 against a target of 1.1; the per-round ratios spread across it.
    thin_pass = compare("x", [1.0, 0.9, 1.0, 1.2, 1.3], [1.0] * 5, target=1.1, unit="s")
    clear_pass = compare("x", [1.0, 0.9, 1.0, 1.0, 1.05], [1.0] * 5, target=1.1, unit="s")
    thin_fail = compare("x", [1.2, 1.0, 1.2, 1.3, 1.05], [1.0] * 5, target=1.1, unit="s")
    clear_fail = compare("x", [1.2, 1.3, 1.2, 1.3, 1.25], [1.0] * 5, target=1.1, unit="s")
    assert [verdict(c) for c in (thin_pass, clear_pass, thin_fail, clear_fail)] == [
        "PASS (thin)",
        "PASS",
        "FAIL (thin)",
        "FAIL",
    ]
    # Unpaired samples (a fixed budget) have no round ratios: never thin.
    assert verdict(compare("budget", [10.0, 11.0], [12.0], target=1.0, unit="bytes")) == "PASS"


def test_block_names_the_commit_the_machine_and_the_rounds() -> None:
    machine = machine_info()
    source = SourceState(commit="abc1234")
    outcome = Outcome([compare("f", [1.0], [1.0], 1.3, "s")], ["A note.\n"])
    block = markdown_block("Cold start", outcome, machine, source, rounds=7)
    assert block.startswith("### Cold start\n\nMeasured: commit abc1234, no uncommitted changes in layers")
    assert f"Python {machine.python}" in block
    assert f"{machine.cpu_count} CPUs" in block
    assert "7 rounds" in block
    assert block.endswith("\n\nA note.")


def test_porcelain_status_lists_changed_paths() -> None:
    status = " M bench/harness.py\n?? bench/new.py\nR  bench/old.py -> bench/renamed.py\nA  layers/x.py\n"
    assert parse_porcelain(status) == ("bench/harness.py", "bench/new.py", "bench/renamed.py", "layers/x.py")
    assert parse_porcelain("") == ()


def test_source_state_says_when_the_tree_is_dirty_or_head_moved() -> None:
    dirty = SourceState(commit="abc1234", changed=tuple(f"layers/f{i}.py" for i in range(7)))
    assert dirty.describe() == (
        "commit abc1234, tree dirty: uncommitted changes in layers/f0.py, layers/f1.py, layers/f2.py, "
        "layers/f3.py, layers/f4.py and 2 more"
    )
    moved = SourceState(commit="abc1234", commit_at_end="def5678")
    assert moved.describe().startswith(
        "commit abc1234 (HEAD moved to def5678 during the run, changing none of the measured paths), no "
    )
    moved_code = SourceState(commit="abc1234", commit_at_end="def5678", moved_changes=("layers/a.py",))
    assert "(HEAD moved to def5678 during the run, changing layers/a.py)" in moved_code.describe()


def test_source_state_of_this_checkout_names_its_head() -> None:
    state = source_state(Path(__file__).resolve().parents[2])
    assert len(state.commit) >= 7
    assert all(
        path.startswith(("layers", "functions", "template.yaml", "local", "bench", "pyproject"))
        for path in state.changed
    )


def test_parts_table_has_a_row_per_part() -> None:
    table = parts_table([("arm", "import", [0.1, 0.2, 0.3]), ("arm", "setup", [0.05])], "s").splitlines()
    assert table[2] == "| arm | import | 200.0 ms (150.0 ms..250.0 ms) |"
    assert table[3] == "| arm | setup | 50.0 ms (50.0 ms..50.0 ms) |"


# ---------------------------------------------------------------- rounds


def test_rounds_interleave_rotate_and_discard_warm_up() -> None:
    calls: list[str] = []

    def arm(name: str, value: float) -> Callable[[], float]:
        def measure() -> float:
            calls.append(name)
            return value

        return measure

    progress: list[str] = []
    samples = run_rounds(
        {"a": arm("a", 1.0), "b": arm("b", 2.0)},
        rounds=3,
        progress=progress.append,
        warmup=1,
    )
    assert samples == {"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}
    # One warm-up round, then three; the arm that goes first alternates every round.
    assert calls == ["b", "a", "a", "b", "b", "a", "a", "b"]
    assert len(progress) == 4


def test_rounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_rounds({"a": lambda: 1.0}, rounds=0, progress=print)


# ---------------------------------------------------------------- the results section

DOCUMENT = f"""# Benchmarks

Hand-written intro.

## Results

{RESULTS_START}
old results
{RESULTS_END}

Hand-written text after.
"""


def test_rewrite_keeps_the_text_around_the_markers() -> None:
    rewritten = rewrite_results(DOCUMENT, {"cold_start": "### Cold start\n\nnew table"})
    head, rest = rewritten.split(RESULTS_START)
    section, tail = rest.split(RESULTS_END)
    assert head == DOCUMENT.split(RESULTS_START)[0]
    assert tail == DOCUMENT.split(RESULTS_END)[1]
    assert "### Cold start\n\nnew table" in section
    assert "<!-- results:cold_start:start -->" in section


def test_rewrite_replaces_a_benchmark_block_and_keeps_the_others() -> None:
    once = rewrite_results(DOCUMENT, {"cold_start": "cold v1", "memory": "memory v1"})
    twice = rewrite_results(once, {"cold_start": "cold v2"})
    assert "cold v2" in twice
    assert "cold v1" not in twice
    assert "memory v1" in twice
    assert twice.index("cold v2") < twice.index("memory v1")  # a block keeps its place


def test_rewrite_is_idempotent() -> None:
    once = rewrite_results(DOCUMENT, {"cold_start": "table"})
    assert rewrite_results(once, {"cold_start": "table"}) == once


@pytest.mark.parametrize(
    "document",
    [
        "no markers at all",
        f"{RESULTS_START} only the start",
        f"{RESULTS_END} before {RESULTS_START}",
        f"{RESULTS_START} twice {RESULTS_START} {RESULTS_END}",
    ],
)
def test_rewrite_refuses_a_document_without_one_pair_of_markers(document: str) -> None:
    with pytest.raises(BenchmarkError):
        rewrite_results(document, {"cold_start": "table"})


# ---------------------------------------------------------------- cold start: discovery and children


def _template(tmp_path: Path, functions: str, globals_handler: str = "") -> Path:
    (tmp_path / "layer").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Globals:\n  Function:\n    Runtime: python3.13\n    MemorySize: 256\n"
        f"{globals_handler}"
        "    Layers:\n      - !Ref Layer\n"
        "    Environment:\n      Variables:\n        TABLE_NAME: !Ref Table\n        MODE: fixed\n"
        "Resources:\n"
        "  Layer:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: layer/\n"
        f"{functions}",
        encoding="utf-8",
    )
    return path


def test_discover_applies_globals_and_builds_a_lambda_environment(tmp_path: Path) -> None:
    template = _template(
        tmp_path,
        "  One:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/one/\n"
        "  Two:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/two/\n"
        "      Handler: pkg.handler.main\n",
        globals_handler="    Handler: app.lambda_handler\n",
    )
    one, two = discover(template)
    assert (one.logical_id, one.module, one.function) == ("One", "app", "lambda_handler")
    assert (two.module, two.function) == ("pkg.handler", "main")
    assert one.code_dir == tmp_path / "functions/one/"
    assert one.layer_dirs == (tmp_path / "layer/",)
    env = one.environment
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "One"
    # The X-Ray SDK takes its (cheaper) Lambda path only when LAMBDA_TASK_ROOT is set.
    assert env["LAMBDA_TASK_ROOT"] == str(one.code_dir)
    assert env["_HANDLER"] == "app.lambda_handler"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["MODE"] == "fixed"
    assert env["TABLE_NAME"].startswith("placeholder")
    assert "HOME" not in env  # a clean environment, as in Lambda


def test_discover_refuses_a_layer_it_cannot_find_locally(tmp_path: Path) -> None:
    template = _template(
        tmp_path,
        "  One:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: one/\n"
        "      Handler: app.h\n      Layers:\n        - arn:aws:lambda:us-east-1:1:layer:x:1\n",
    )
    with pytest.raises(BenchmarkError, match="not a local layer"):
        discover(template)


def test_discover_finds_the_project_functions_and_their_first_requests() -> None:
    targets = {target.logical_id: target for target in discover()}
    assert {"GenerateFunction", "QueryFunction"} <= set(targets)
    generate = targets["GenerateFunction"]
    assert generate.first_request is FIRST_REQUESTS["GenerateFunction"]
    assert generate.steps[0].source == "import app\n"
    assert len(generate.steps) == 1 + len(FIRST_REQUESTS["GenerateFunction"].steps)
    # The key is read from the environment, as locally; parameters take their defaults.
    assert generate.environment["IDEOGRAM_API_KEY"]
    assert generate.environment["IDEOGRAM_BASE_URL"].startswith("https://")


def test_template_variables_resolve_literals_and_parameter_defaults() -> None:
    parameters = {"Stage": {"Type": "String", "Default": "dev"}, "NoDefault": {"Type": "String"}}
    assert resolve_variable("STAGE", {"Ref": "Stage"}, parameters) == "dev"
    assert resolve_variable("MODE", "fixed", parameters) == "fixed"
    assert resolve_variable("SIZE", 30, parameters) == "30"
    assert resolve_variable("FLAG", False, parameters) == "false"
    assert resolve_variable("TABLE_NAME", {"Ref": "AssetsTable"}, parameters) == "placeholder-table-name"
    assert resolve_variable("X_Y", {"Ref": "NoDefault"}, parameters) == "placeholder-x-y"
    assert resolve_variable("ARN", {"Fn::GetAtt": ["T", "Arn"]}, parameters) == "placeholder-arn"


def _deployed_arm(
    tmp_path: Path, source: str, steps: tuple[SetupStep, ...] = ()
) -> tuple[HandlerTarget, Path]:
    template = _template(
        tmp_path,
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn/\n"
        "      Handler: app.lambda_handler\n",
    )
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(source, encoding="utf-8")
    (target,) = discover(template, {"Fn": FirstRequest(route="GET /x", steps=steps)} if steps else {})
    return target, template


def test_a_failing_handler_import_is_reported_clearly(tmp_path: Path) -> None:
    target, _ = _deployed_arm(tmp_path, "import module_that_does_not_exist\n")
    expected = r"(?s)Fn.*exited with status 1:\n.*No module named .module_that_does_not_exist"
    with pytest.raises(BenchmarkError, match=expected):
        handler_arm(target, ()).measure(["-I", "-B"])


def test_a_missing_handler_function_is_reported(tmp_path: Path) -> None:
    target, _ = _deployed_arm(tmp_path, "print('noise at import time')\n")
    with pytest.raises(BenchmarkError, match=r"app\.lambda_handler is not a callable handler"):
        handler_arm(target, ()).measure(["-I", "-B"])


def test_the_import_and_each_setup_step_are_timed_from_a_copy_without_bytecode(tmp_path: Path) -> None:
    steps = (SetupStep("build", "import app\napp.build()\n"), SetupStep("nothing", "pass\n"))
    target, _ = _deployed_arm(
        tmp_path,
        "def build():\n    return 1\ndef lambda_handler(event, context):\n    return build()\n",
        steps,
    )
    # A warm __pycache__ in the source tree, as a developer's checkout has: the copy leaves it out.
    (tmp_path / "fn" / "__pycache__").mkdir()
    (tmp_path / "fn" / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"stale")
    with deployed([target]) as deployment:
        (copy,) = deployment.targets
        assert copy.code_dir != target.code_dir
        assert copy.environment["LAMBDA_TASK_ROOT"] == str(copy.code_dir)
        assert "-B" in deployment.interpreter_options
        arm = handler_arm(copy, deployment.dependencies)
        seconds = arm.measure(deployment.interpreter_options, refuse_network=True)
        assert len(seconds) == 3
        assert bytecode_files(deployment.roots) == []  # -B: the child wrote none back


def test_a_network_call_in_the_warm_up_round_stops_the_benchmark(tmp_path: Path) -> None:
    connect = SetupStep("connect", "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)\n")
    target, _ = _deployed_arm(tmp_path, "def lambda_handler(event, context):\n    pass\n", (connect,))
    with pytest.raises(BenchmarkError, match=r"must not use the network: socket\.(getaddrinfo|connect)"):
        handler_arm(target, ()).measure(["-I", "-B"], refuse_network=True)


def test_bytecode_is_found_and_refused(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "mod.py").write_text("", encoding="utf-8")
    (tmp_path / "pkg" / "__pycache__" / "mod.cpython-313.pyc").write_bytes(b"")
    (tmp_path / "old.pyc").write_bytes(b"")
    assert [path.name for path in bytecode_files([tmp_path])] == [
        "old.pyc",
        "__pycache__",
        "mod.cpython-313.pyc",
    ]
    with pytest.raises(BenchmarkError, match="compiled bytecode found in the test"):
        require_no_bytecode([tmp_path], "in the test")
    copy = copy_sources(tmp_path / "pkg", tmp_path / "copy")
    assert sorted(path.name for path in copy.rglob("*")) == ["mod.py"]


def test_step_samples_sum_to_totals_and_break_down_by_part() -> None:
    samples = StepSamples()
    assert samples.record("fn", [0.5, 0.1, 0.2]) == pytest.approx(0.8)
    samples.record("fn", [0.7, 0.3, 0.4])
    assert samples.totals("fn") == pytest.approx([0.8, 1.4])
    assert samples.part("fn", 1) == pytest.approx([0.3, 0.7])
    arm = Arm(
        name="fn",
        label="Fn (fn/app.py)",
        path=(),
        steps=(SetupStep("import app", ""), SetupStep("a", ""), SetupStep("b", "")),
        check="",
        environment={},
        cwd=Path(),
    )
    rows = breakdown_rows(arm, samples)
    assert [(part, values) for _, part, values in rows] == [
        ("import app", [0.5, 0.7]),
        ("first-request setup, total", pytest.approx([0.3, 0.7])),
        ("- a", [0.1, 0.3]),
        ("- b", [0.2, 0.4]),
    ]


@pytest.mark.parametrize(("stdout", "expected"), [("[0.25, 1]\n", [0.25, 1.0]), ("[2]", [2.0])])
def test_child_answer_is_one_number_of_seconds_per_step(stdout: str, expected: list[float]) -> None:
    assert parse_step_seconds(stdout, len(expected), "child") == expected


@pytest.mark.parametrize("stdout", ["", "hello\n[0.25]", "0.25", "[true]", "[-1]", "[0]", "[0.1, 0.2]"])
def test_any_other_child_answer_is_an_error(stdout: str) -> None:
    with pytest.raises(BenchmarkError, match="child"):
        parse_step_seconds(stdout, 1, "child")


def test_importtime_output_becomes_a_tree() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 | site\n"
        "import time:        10 |         10 |     botocore.x\n"
        "import time:        20 |         30 |   boto3\n"
        "import time:         5 |          5 |   pydantic\n"
        "import time:         1 |         36 | app\n"
        "unrelated line\n"
    )
    site, app = parse_importtime(stderr)
    assert (site.module, app.module, app.cumulative_us) == ("site", "app", 36)
    assert [child.module for child in app.children] == ["boto3", "pydantic"]
    assert app.children[0].children[0].module == "botocore.x"
    assert app.children[0].children[0].depth == 2


# ---------------------------------------------------------------- command line


def test_unknown_benchmark_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no_such_benchmark"])
    assert exit_info.value.code == 2
    assert "known: " + ", ".join(BENCHMARKS) in capsys.readouterr().err


# ---------------------------------------------------------------- persist and end-to-end: pure parts


def test_caps_make_the_download_take_half_once_and_twice_the_upload() -> None:
    caps = caps_for(0.25, image_bytes=32 * 2**20)
    assert list(caps) == [0.5, 1.0, 2.0]
    assert {factor: 32 * 2**20 / cap for factor, cap in caps.items()} == pytest.approx(
        {0.5: 0.125, 1.0: 0.25, 2.0: 0.5}, rel=1e-6
    )
    with pytest.raises(ValueError, match="positive"):
        caps_for(0.0)


def test_an_end_to_end_reply_counts_only_when_every_image_is_stored() -> None:
    stored = {"status": "STORED", "storedUri": "s3://b/images/1.png"}
    assert (
        stored_images({"complete": True, "generations": [stored, stored]}, 2) == ["s3://b/images/1.png"] * 2
    )
    failed = {"status": "FAILED", "storedUri": None}
    for body in (
        {"complete": True, "generations": [stored]},  # fewer images than asked
        {"complete": False, "generations": [stored, failed]},
        {"complete": True, "generations": [stored, failed]},
        {"message": "boom"},
        ["not", "an", "object"],
    ):
        with pytest.raises(BenchmarkError, match="expected"):
            stored_images(body, 2)
    assert cap_bps(2 * 2**20, 0.5) == 4 * 2**20
