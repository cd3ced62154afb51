"""What `report`, `search`, `pull` and the curation commands print: tables, and the bar chart of
images per month drawn in eighths of a character cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from ideogram_assets_cli.pull import Outcome, PullSummary
from ideogram_assets_cli.render_report import bar, month_chart, monthly_images, report_view
from ideogram_assets_cli.render_search import (
    curation_panel,
    next_page_text,
    prompt_text,
    pull_view,
    search_view,
    time_text,
)


def _text(renderable: Any, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _row(value: str, images: int, **more: Any) -> dict[str, Any]:
    return {
        "value": value,
        "records": images + 1,
        "images": images,
        "bytes": images * 20_000,
        "generated": images + 1,
        "unsafe": 1,
        "unsafeRate": 1 / (images + 1),
        "costUsd": images * 0.08,
        **more,
    }


@pytest.mark.parametrize(
    ("value", "maximum", "width", "drawn"),
    [
        (10, 10, 4, "████"),
        (5, 10, 4, "██"),
        (1, 8, 1, "▏"),  # one eighth of a cell
        (3, 8, 1, "▍"),
        (7, 8, 1, "▉"),
        (9, 16, 2, "█▏"),
        (1, 1_000_000, 10, "▏"),  # a month with any image always shows
        (0, 10, 10, ""),
        (5, 0, 10, ""),
        (20, 10, 3, "███"),  # never longer than the width
    ],
)
def test_bars_are_drawn_in_eighths_of_a_cell(value: int, maximum: int, width: int, drawn: str) -> None:
    assert bar(value, maximum, width) == drawn


def test_bars_grow_with_the_value() -> None:
    lengths = [len(bar(value, 100, 20).rstrip("▏▎▍▌▋▊▉")) for value in range(0, 101, 5)]
    assert lengths == sorted(lengths)
    assert lengths[-1] == 20


def test_months_with_no_images_are_charted_as_zero_and_other_values_left_out() -> None:
    rows = [_row("2024-11", 4), _row("2025-02", 8), _row("unknown", 3), _row("2024-13", 1)]
    assert monthly_images(rows) == [("2024-11", 4), ("2024-12", 0), ("2025-01", 0), ("2025-02", 8)]
    assert monthly_images([]) == []


def test_only_the_last_three_years_are_charted() -> None:
    rows = [_row(f"{year}-{month:02d}", 1) for year in (2020, 2021, 2022, 2023) for month in range(1, 13)]
    charted = monthly_images(rows)
    assert len(charted) == 36
    assert charted[0][0] == "2021-01"
    assert charted[-1][0] == "2023-12"


def test_the_chart_has_one_line_per_month_with_its_count() -> None:
    text = _text(month_chart([_row("2025-01", 2), _row("2025-03", 8)], 60), width=60)
    lines = text.splitlines()
    assert [line.split()[0] for line in lines] == ["2025-01", "2025-02", "2025-03"]
    assert [line.split()[-1] for line in lines] == ["2", "0", "8"]
    assert lines[2].count("█") == 4 * lines[0].count("█")
    assert "█" not in lines[1]


def test_the_report_has_a_table_per_dimension_and_the_chart() -> None:
    report = {
        "generatedAt": "2025-03-14T09:26:53.000Z",
        "totals": _row("", 12),
        "byModel": [_row("V_2", 2), _row("V_3", 10)],
        "byStyle": [_row("REALISTIC", 12)],
        "byTag": [_row(f"tag{number:02d}", number) for number in range(1, 21)],
        "byMonth": [_row("2025-02", 5), _row("2025-03", 7)],
        "byStatus": [_row("UNSAFE", 0), _row("STORED", 12)],
        "byRetentionClass": [_row("standard", 12)],
    }
    text = _text(report_view(report, 120))
    for title in ("by status", "by model", "by style", "by retention class", "by tag", "by month"):
        assert title in text
    assert "images per month" in text
    assert text.index("V_3") < text.index("V_2")  # most images first
    assert text.index("STORED") < text.index("UNSAFE")  # lifecycle order
    assert "tag20" in text
    assert "tag05" not in text  # the 15 tags with most images; --json has all
    assert "… and 5 more tags" in text
    assert "234.4 KiB" in text  # 12 images of 20,000 bytes
    assert "7.7%" in text  # 1 unsafe of 13 generated
    assert "0.96" in text  # cost in USD


def test_every_table_of_the_report_lines_up() -> None:
    report = {
        "generatedAt": "now",
        "totals": _row("", 1200),
        "byModel": [_row("V_3", 1200)],
        "byTag": [_row("a-rather-long-campaign-tag", 3)],
        "byMonth": [_row("2025-03", 1200)],
    }
    lines = _text(report_view(report, 120)).splitlines()
    headers = [line for line in lines if "records" in line and "cost (USD)" in line]
    assert len(headers) == 4
    assert len({line.index("records") for line in headers}) == 1
    assert len({line.index("cost (USD)") for line in headers}) == 1


def test_a_report_with_nothing_yet_still_reads() -> None:
    text = _text(report_view({"generatedAt": "now", "totals": _row("", 0), "byMonth": []}, 80), width=80)
    assert "no images stored yet" in text


def _item(number: int, **more: Any) -> dict[str, Any]:
    return {
        "id": f"{number:032x}",
        "createdAt": "2025-03-14T09:26:53.120Z",
        "status": "STORED",
        "model": "V_3",
        "seed": 1234,
        "width": 1024,
        "height": 1024,
        "sizeBytes": 19353,
        "tags": ["brand", "dusk"],
        "prompt": "a lighthouse at dusk, " * 10,
        **more,
    }


@pytest.mark.parametrize("width", [80, 160])
def test_search_results_show_whole_ids_and_the_next_cursor(width: int) -> None:
    text = _text(search_view([_item(1), _item(2, starred=True)], width), width=width)
    assert all(len(line) <= width for line in text.splitlines())
    if width >= 160:  # a table
        assert text.split()[:3] == ["id", "time", "(UTC)"]
    else:  # two lines a record
        assert text.splitlines()[0].split() == [
            f"{1:032x}",
            "2025-03-14",
            "09:26",
            "STORED",
            "V_3",
            "seed",
            "1234",
        ]
    for cell in ("1024x1024 18.9 KiB", "brand, dusk", "a lighthouse at dusk", "1234", "V_3"):
        assert cell in text
    assert f"{1:032x}" in text
    assert f"{2:032x}" in text
    assert "2025-03-14 09:26" in text
    assert "★" in text
    assert "2 generations" in text


def test_an_empty_page_says_so() -> None:
    assert "no generation matches" in _text(search_view([], 80))


def test_the_next_cursor_is_printed_whole_on_one_line() -> None:
    cursor = "eyJ2IjoxfQ." + "A" * 300
    console = Console(width=80, record=True, color_system=None)
    console.print(next_page_text(cursor), soft_wrap=True)
    assert console.export_text() == f"next page: --cursor {cursor}\n"


def test_prompts_are_cut_on_one_line_and_times_read_in_utc() -> None:
    assert prompt_text({"prompt": "a\nb  c"}) == "a b c"
    cut = prompt_text({"prompt": "x" * 100}, limit=20)
    assert (len(cut), cut[-1]) == (20, "…")
    assert time_text("2025-03-14T23:30:00-02:00") == "2025-03-15 01:30"
    assert time_text(None) == ""


def test_a_curated_record_shows_its_tags_star_and_note() -> None:
    text = _text(curation_panel({**_item(1), "starred": True, "note": "the client's pick"}))
    assert "brand, dusk" in text
    assert "★ yes" in text
    assert "the client's pick" in text
    assert "no" in _text(curation_panel({**_item(1), "starred": False, "note": None}))


def test_the_pull_summary_says_what_was_fetched_present_and_failed() -> None:
    summary = PullSummary(directory=Path("/m"), records=5, images=4, bytes_downloaded=40_000, complete=True)
    summary.counts.update({Outcome.DOWNLOADED: 2, Outcome.PRESENT: 1, Outcome.NO_IMAGE: 1})
    summary.failures.append(("a" * 32, "SHA-256 does not match"))
    text = _text(pull_view(summary))
    assert "/m/generations.json" in text
    for label, count in (("records", "5"), ("fetched", "2"), ("already present", "1"), ("failed", "1")):
        line = next(line for line in text.splitlines() if label in line)
        assert count in line.split()
    assert summary.as_json()["downloaded"] == 2
