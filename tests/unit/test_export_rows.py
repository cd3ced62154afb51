"""A record becomes one export line: the contract's fields in order, JSON Lines one object per
line, CSV per RFC 4180 whatever the prompt holds (commas, quotes, line breaks, any script)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from ideogram_assets.exports.rows import (
    CONTENT_TYPES,
    FIELDS,
    csv_header,
    csv_line,
    export_row,
    header,
    jsonl_line,
    line_encoder,
)
from ideogram_assets.records.model import GenerationRecord


def _record(**overrides: Any) -> GenerationRecord:
    values: dict[str, Any] = {
        "pk": "GEN#0123456789abcdef0123456789abcdef",
        "id": "0123456789abcdef0123456789abcdef",
        "request_id": "fedcba9876543210fedcba9876543210",
        "index_in_request": 0,
        "status": "STORED",
        "source": "api",
        "prompt": "a red fox logo",
        "expanded_prompt": "A minimalist red fox logo, flat vector",
        "model": "V_3",
        "rendering_speed": "TURBO",
        "style_type": "DESIGN",
        "aspect_ratio": "1x1",
        "resolution": "1024x1024",
        "seed": 12345,
        "tags": {"brand", "autumn"},
        "prompt_hash": "ab" * 32,
        "bucket": "assets",
        "key": "images/2026/11/21/0123456789abcdef0123456789abcdef.png",
        "size_bytes": 20480,
        "sha256": "cd" * 32,
        "cost_usd": 0.03,
        "created_at": "2026-11-21T09:00:00.000Z",
        "updated_at": "2026-11-21T09:00:01.000Z",
        "time_bucket": "2026-11-21",
    }
    return GenerationRecord(**(values | overrides))


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_stored_record_has_every_field_of_the_contract_in_order() -> None:
    row = export_row(_record())
    assert list(row) == list(FIELDS)
    assert row["stored"] is True
    assert row["storedUri"] == "s3://assets/images/2026/11/21/0123456789abcdef0123456789abcdef.png"
    assert row["tags"] == ["autumn", "brand"]  # sorted: the same record always exports alike
    assert row["seed"] == 12345
    assert row["sizeBytes"] == 20480
    assert row["costUsd"] == pytest.approx(0.03)
    assert row["starred"] is False
    assert row["note"] is None


@pytest.mark.parametrize("status", ["PENDING", "FAILED", "UNSAFE", "LOST", "MISSING"])
def test_a_record_without_a_stored_image_says_so_and_has_no_uri(status: str) -> None:
    row = export_row(_record(status=status))
    assert row["stored"] is False
    assert row["storedUri"] is None
    assert row["status"] == status


def test_starred_and_note_come_from_the_record_when_it_has_them() -> None:
    record = _record()
    record.starred = True
    record.note = "client favourite"
    row = export_row(record)
    assert (row["starred"], row["note"]) == (True, "client favourite")


def test_a_jsonl_line_is_one_json_object_ending_in_one_newline() -> None:
    prompt = 'line one\nline two, "quoted"\r\n\u2028 café 狐 🦊'
    line = jsonl_line(export_row(_record(prompt=prompt)))
    assert line.endswith("\n")
    assert line.count("\n") == 1
    parsed = json.loads(line)
    assert parsed["prompt"] == prompt
    assert list(parsed) == list(FIELDS)
    assert "狐" in line  # UTF-8 as is, not \u escapes


@pytest.mark.parametrize(
    "prompt",
    [
        "fox, logo, red",
        'a "quoted" word',
        "first line\nsecond line",
        "carriage\r\nreturn",
        "café crème, 狐, лиса, 🦊",
        " leading and trailing space ",
        "=1+1",
        "",
    ],
)
def test_csv_reads_back_exactly_what_the_record_holds(prompt: str) -> None:
    text = csv_header() + csv_line(
        export_row(_record(prompt=prompt, negative_prompt='no "text", no\nwatermark'))
    )
    header_row, row = _csv_rows(text)
    assert header_row == list(FIELDS)
    values = dict(zip(header_row, row, strict=True))
    assert values["prompt"] == prompt
    assert values["negativePrompt"] == 'no "text", no\nwatermark'


def test_csv_cells_spell_lists_booleans_numbers_and_nothing_plainly() -> None:
    record = _record(tags={"b", "a"}, style_type=None, cost_usd=1.0, seed=7)
    [row] = _csv_rows(csv_line(export_row(record)))
    values = dict(zip(FIELDS, row, strict=True))
    assert values["tags"] == "a;b"
    assert values["stored"] == "true"
    assert values["starred"] == "false"
    assert values["styleType"] == ""
    assert values["costUsd"] == "1"
    assert values["seed"] == "7"


def test_csv_lines_end_with_crlf_and_quote_only_what_needs_it() -> None:
    line = csv_line(export_row(_record(prompt='say "hi", fox')))
    assert line.endswith("\r\n")
    assert '"say ""hi"", fox"' in line
    assert ",a red fox logo," not in line  # the default prompt is gone, replaced
    assert "0123456789abcdef0123456789abcdef," in line  # plain cells are not quoted


def test_each_format_has_its_header_encoder_and_content_type() -> None:
    assert header("jsonl") == ""
    assert header("csv") == csv_header()
    assert line_encoder("csv") is csv_line
    assert line_encoder("jsonl") is jsonl_line
    assert CONTENT_TYPES == {"jsonl": "application/x-ndjson", "csv": "text/csv"}
