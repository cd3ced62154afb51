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
    discover,
    measure_handler_import,
    parse_importtime,
    parse_seconds,
)
from bench.harness import (
    RESULTS_END,
    RESULTS_START,
    BenchmarkError,
    compare,
    format_summary,
    machine_info,
    markdown_block,
    markdown_table,
    rewrite_results,
    run_rounds,
    summarize,
    text_table,
    verdict,
)

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


def test_block_names_the_machine_and_the_rounds() -> None:
    machine = machine_info()
    block = markdown_block("Cold start", [compare("f", [1.0], [1.0], 1.3, "s")], machine, rounds=7)
    assert block.startswith("### Cold start\n")
    assert f"Python {machine.python}" in block
    assert f"{machine.cpu_count} CPUs" in block
    assert "7 rounds" in block


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


def test_discover_finds_the_project_functions() -> None:
    assert "QueryFunction" in {target.logical_id for target in discover()}


def test_a_failing_handler_import_is_reported_clearly(tmp_path: Path) -> None:
    template = _template(
        tmp_path,
        "  Broken:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: broken/\n"
        "      Handler: app.lambda_handler\n",
    )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "app.py").write_text("import module_that_does_not_exist\n", encoding="utf-8")
    (target,) = discover(template)
    expected = r"(?s)Broken.*exited with status 1:\n.*No module named .module_that_does_not_exist"
    with pytest.raises(BenchmarkError, match=expected):
        measure_handler_import(target)


def test_a_missing_handler_function_is_reported(tmp_path: Path) -> None:
    template = _template(
        tmp_path,
        "  NoHandler:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: f/\n"
        "      Handler: app.lambda_handler\n",
    )
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "app.py").write_text("print('noise at import time')\n", encoding="utf-8")
    (target,) = discover(template)
    with pytest.raises(BenchmarkError, match=r"app\.lambda_handler is not a callable handler"):
        measure_handler_import(target)


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [("0.25\n", 0.25), ("1", 1.0)],
)
def test_child_answer_is_one_json_number(stdout: str, expected: float) -> None:
    assert parse_seconds(stdout, "child") == expected


@pytest.mark.parametrize("stdout", ["", "hello\n0.25", "[0.25]", "true", "-1", "0"])
def test_any_other_child_answer_is_an_error(stdout: str) -> None:
    with pytest.raises(BenchmarkError, match="child"):
        parse_seconds(stdout, "child")


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
