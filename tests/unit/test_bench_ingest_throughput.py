"""The ingest-throughput benchmark's pure logic: slots over time, the reference loop's
extrapolation, CPU accounting from /proc text, phases from log lines, calls per request, notes.

No timing is asserted: every number below is made up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bench import ingest_throughput
from bench.__main__ import BENCHMARKS, main
from bench.ingest_throughput_calls import calls_table
from bench.ingest_throughput_cpu import (
    MOTO,
    CpuSnapshot,
    CpuUse,
    cpu_between,
    label_of,
    machine_ticks,
    parse_stat,
)
from bench.ingest_throughput_logs import (
    EVENT_SOURCE_LOGGER,
    PHASES,
    generation_phases,
    invocations_logged,
)
from bench.ingest_throughput_profile import (
    ReferenceLoop,
    SlotProfile,
    ideal_seconds,
    running_profile,
    slot_profile,
    sparkline,
)
from bench.ingest_throughput_report import BusRun, bus_notes, rounds_table


def test_the_ideal_is_every_slot_busy_for_the_latency() -> None:
    assert ideal_seconds(200, 0.5, 10) == 10.0
    with pytest.raises(ValueError, match="positive"):
        ideal_seconds(200, 0.5, 0)


def test_slot_profile_is_a_time_weighted_step_function() -> None:
    # 2 in flight before the window, 4 from t=1.5, 0 from t=2.5; window [1, 3].
    samples = [(0.0, 2), (1.5, 4), (2.5, 0)]
    profile = slot_profile(samples, 1.0, 3.0)
    assert profile.peak == 4
    assert profile.mean == pytest.approx((2 * 0.5 + 4 * 1.0 + 0 * 0.5) / 2)
    assert profile.per_second == pytest.approx((2 * 0.5 + 4 * 0.5, 4 * 0.5 + 0))
    assert slot_profile([], 0.0, 1.0) == SlotProfile(peak=0, mean=0.0, per_second=(0.0,))
    with pytest.raises(ValueError, match="positive length"):
        slot_profile(samples, 2.0, 2.0)


def test_a_sample_after_the_window_does_not_count() -> None:
    profile = slot_profile([(0.0, 1), (5.0, 9)], 0.0, 2.0)
    assert profile.peak == 1
    assert profile.mean == 1.0


def test_running_invocations_from_their_start_and_end() -> None:
    # Two overlapping from 1 to 2, one alone from 0 to 1 and 2 to 3.
    profile = running_profile([(0.0, 2.0), (1.0, 3.0)], 0.0, 4.0)
    assert profile.peak == 2
    assert profile.mean == pytest.approx((1 + 2 + 1 + 0) / 4)
    assert profile.per_second == pytest.approx((1.0, 2.0, 1.0, 0.0))


def test_the_reference_loop_extrapolates_from_its_mean_reply() -> None:
    loop = ReferenceLoop(replies=(1.0, 2.0), pause_seconds=3.0)
    assert loop.cycle_seconds == 4.5
    assert loop.measured_seconds == 1.0 + 3.0 + 2.0
    assert loop.extrapolated_seconds(200) == 200 * 1.5 + 199 * 3.0


def test_sparkline_draws_one_digit_a_second() -> None:
    assert sparkline([0.0, 4.6, 9.4, 10.0], 10) == "059#"
    assert sparkline([10.0, 20.0], 20) == "5#"


def test_proc_stat_with_spaces_and_parentheses_in_the_name() -> None:
    line = "4242 (python (x) y) S 17 4242 4242 0 -1 4194560 1 2 3 4 150 25 0 0 20 0 3 0 9 9 9"
    assert parse_stat(line) == (17, 175.0)


def test_machine_ticks_leave_out_idle_and_iowait() -> None:
    text = "cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    busy, total = machine_ticks(text)
    assert total == 100 + 5 + 50 + 800 + 20 + 1 + 2 + 3
    assert busy == total - 800 - 20


def test_children_are_labelled_by_what_they_run() -> None:
    moto = [b"python", b"-m", b"local_stack.moto_server", b"-p", b"1"]
    worker = [b"python", b"-m", b"local_stack.lambda_worker", b"7"]
    assert label_of(moto, []) == MOTO
    assert label_of(worker, [b"PATH=/bin", b"AWS_LAMBDA_FUNCTION_NAME=IngestFunction"]) == (
        "IngestFunction environments"
    )
    assert label_of([b"sleep"], [b"PATH=/bin"]) == "other child processes"


def test_cpu_between_counts_new_processes_from_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bench.ingest_throughput_cpu._ticks_per_second", lambda: 100)
    labels = {1: "bench", 2: MOTO, 3: "IngestFunction environments"}
    before = CpuSnapshot({1: 100.0, 2: 1000.0}, labels, machine_busy=5000.0, machine_total=9000.0)
    after = CpuSnapshot({1: 150.0, 2: 1300.0, 3: 200.0}, labels, machine_busy=6000.0, machine_total=10000.0)
    use = cpu_between(before, after)
    assert use.by_part == {"bench": 0.5, MOTO: 3.0, "IngestFunction environments": 2.0}
    assert use.stack == 5.5
    assert use.machine_busy == 10.0
    assert use.machine_capacity == 10.0
    assert use.others == pytest.approx(4.5)


def _line(
    message: str, request_id: str, at: str, duration_ms: float | None = None, fn: str = "Ingest"
) -> str:
    entry: dict[str, object] = {
        "message": message,
        "timestamp": f"2026-01-01 00:00:{at}+0000",
        "function_name": fn,
        "request_id": request_id,
    }
    if duration_ms is not None:
        entry["duration_ms"] = duration_ms
    return json.dumps(entry)


def test_generation_phases_from_the_functions_log_lines() -> None:
    base = 1767225600.0  # 2026-01-01 00:00:00 UTC
    lines = [
        "not json",
        _line("Ideogram generate attempt", "r1", "01,100", 500),  # 00.600 .. 01.100
        _line("image persisted", "r1", "01,400", 200),  # 01.200 .. 01.400
        _line("generation persisted", "r1", "02,000", 1500),  # 00.500 .. 02.000
        _line("request ingested", "r1", "02,100"),
        _line("generation persisted", "r2", "02,000", 1500),  # incomplete: left out
        _line("Ideogram generate attempt", "r3", "01,100", 500, fn="Generate"),  # another function
    ]
    phases = generation_phases(lines, "Ingest", base, base + 10)
    expected = (0.1, 0.5, 0.1, 0.2, 0.6, 0.1)
    assert [round(phases[phase][0], 3) for phase in PHASES] == list(expected)
    assert generation_phases(lines, "Ingest", base + 3, base + 10) == {phase: [] for phase in PHASES}


def test_invocations_are_read_from_the_event_source_log() -> None:
    logger = logging.getLogger(EVENT_SOURCE_LOGGER)
    with invocations_logged() as log:
        logger.info(json.dumps({"mapping": "F.Q", "batchSize": 1, "outcome": "ok", "latencyMs": 1500}))
        logger.warning(json.dumps({"mapping": "F.Q", "pollError": "boom"}))  # not an invocation
    logger.info(json.dumps({"mapping": "F.Q", "batchSize": 1, "outcome": "ok", "latencyMs": 1}))  # after
    [invocation] = log.take()
    assert (invocation.mapping, invocation.batch_size, invocation.outcome) == ("F.Q", 1, "ok")
    assert invocation.end - invocation.start == pytest.approx(1.5)
    assert log.take() == []


def test_calls_table_counts_per_request_and_leaves_subsets_out_of_the_total() -> None:
    table = calls_table(
        {"DynamoDB UpdateItem": 80, "- of which UpdateItem of a counter item": 60, "S3 PUT": 10, "Query": 0},
        10,
    )
    assert "| DynamoDB UpdateItem | 8.00 |" in table
    assert "| - of which UpdateItem of a counter item | 6.00 |" in table
    assert "Query" not in table
    assert table.endswith("| all calls | 9.00 |")


def _run(stored: int = 200, failed: int = 0, dead: int = 0) -> BusRun:
    profile = SlotProfile(peak=10, mean=4.0, per_second=(4.0, 10.0))
    return BusRun(
        requests=200,
        start=100.0,
        put_seconds=1.0,
        end=130.0,
        complete=stored == 200,
        stored_requests=stored,
        failed_records=failed,
        dead_lettered=dead,
        rate_limited=0,
        ideogram_calls=200,
        slots=profile,
        running=SlotProfile(peak=10, mean=9.0, per_second=(9.0,)),
        invocation_seconds=(1.2, 1.4, 1.6),
        cpu=CpuUse(
            {MOTO: 30.0, "IngestFunction environments": 15.0}, machine_busy=60.0, machine_capacity=60.0
        ),
        phases={PHASES[1]: 0.5},
    )


def test_failed_items_count_whatever_did_not_end_stored() -> None:
    assert _run().failed_items == 0
    assert _run(stored=197, failed=1, dead=2).failed_items == 3
    assert _run(stored=190).failed_items == 10  # missing: neither stored nor failed by the end


def test_notes_show_rounds_slots_and_the_extrapolated_reference() -> None:
    table = rounds_table([_run()], ideal=10.0)
    assert "| 1 | 30.0 | 3.00 | 1.0 | 200/200 | 0 | 0 | 0 | 200 | 10 / 4.00 | 10 / 9.00 | 1400 |" in table
    notes = bus_notes(
        [_run()],
        [ReferenceLoop(replies=(1.0, 1.0), pause_seconds=3.0)],
        ideal=10.0,
        latency=0.5,
        limit=10,
        deployment="the template's defaults",
        batch_size=10,
        concurrency=2,
        requests=200,
        cores=2,
        calls="| calls |",
        max_rounds=3,
    )
    text = "\n\n".join(notes)
    assert "round 1: 4#" in text
    assert "| 1 | 2 | 1000 | 4.00 | 5.0 | 797 (extrapolated) |" in text
    assert "EXTRAPOLATED" in text
    assert "| moto (AWS emulator) | 30.0 | 150 |" in text
    assert "3.0 x the ideal" in text  # moto's 30 CPU seconds against 10 s
    assert "MaximumConcurrency 2, 5 image slot(s) per environment" in text
    assert "Each environment holds 5 of Ideogram's 10 image slots" in text
    assert "| calls |" in text
    assert text.endswith("at most 3 rounds, whatever --rounds says: 1 here.")


@pytest.fixture
def default_counts() -> Iterator[None]:
    yield
    ingest_throughput.configure(
        ingest_throughput.DEFAULT_REQUESTS, ingest_throughput.DEFAULT_BASELINE_REQUESTS
    )


@pytest.mark.usefixtures("default_counts")
def test_request_counts_are_configurable_and_checked() -> None:
    ingest_throughput.configure(50, 5)
    assert (ingest_throughput.SETTINGS.requests, ingest_throughput.SETTINGS.baseline_requests) == (50, 5)
    with pytest.raises(ValueError, match="at least 10"):
        ingest_throughput.configure(requests_count=9)
    with pytest.raises(ValueError, match="at least 2"):
        ingest_throughput.configure(baseline_requests=1)


@pytest.mark.usefixtures("default_counts")
def test_the_benchmark_is_registered_and_refuses_bad_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert BENCHMARKS["ingest_throughput"] is ingest_throughput.BENCHMARK
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest_throughput", "--requests", "3"])
    assert exit_info.value.code == 2
    assert "--requests must be at least 10" in capsys.readouterr().err
