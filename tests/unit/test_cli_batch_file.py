"""`batch FILE`: JSON Lines and CSV files read into POST /batches items, every mistake reported
with its line number before anything is sent, and the batch's limits the API's."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from ideogram_assets.api.batches import MAX_BATCH_ITEMS
from ideogram_assets_cli.batch_file import (
    ERRORS_SHOWN,
    MAX_ITEMS,
    BatchFileError,
    FileFormat,
    detect_format,
    read_batch_file,
)
from ideogram_assets_cli.render_batch import batch_view, queued_view


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path, file_format: FileFormat | None = None) -> BatchFileError:
    with pytest.raises(BatchFileError) as caught:
        read_batch_file(path, file_format)
    return caught.value


def test_json_lines_are_the_bodies_of_post_generations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "requests.jsonl",
        '{"prompt": "a red fox", "seed": 1, "tags": ["Brand"]}\n'
        "\n"
        '{"prompt": "a café, 狐", "item_id": "cafe", "on_duplicate": "reuse", "num_images": 2}\n',
    )
    assert read_batch_file(path) == [
        {"prompt": "a red fox", "seed": 1, "tags": ["Brand"]},
        {"prompt": "a café, 狐", "item_id": "cafe", "on_duplicate": "reuse", "num_images": 2},
    ]


def test_a_csv_names_its_columns_in_a_header_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "requests.csv",
        "prompt,model,rendering_speed,seed,num_images,tags,item_id,aspect_ratio,negative_prompt\n"
        '"a fox, flat vector",v_3,turbo,42,2,brand; hero ;,fox,16x9,\n'
        '"a two-line\nprompt",,,,,,,,blurry\n',
    )
    assert read_batch_file(path) == [
        {
            "prompt": "a fox, flat vector",
            "model": "V_3",
            "rendering_speed": "TURBO",
            "seed": 42,
            "num_images": 2,
            "tags": ["brand", "hero"],
            "item_id": "fox",
            "aspect_ratio": "16x9",
        },
        {"prompt": "a two-line\nprompt", "negative_prompt": "blurry"},
    ]


def test_a_spreadsheets_byte_order_mark_and_blank_rows_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffPrompt,Seed\r\na fox,1\r\n,\r\n\r\na hen,2\r\n".encode())
    assert read_batch_file(path) == [{"prompt": "a fox", "seed": 1}, {"prompt": "a hen", "seed": 2}]


def test_the_format_comes_from_the_extension_else_the_first_character() -> None:
    assert detect_format(Path("a.csv"), '{"prompt": 1}') is FileFormat.CSV
    assert detect_format(Path("a.ndjson"), "prompt") is FileFormat.JSONL
    assert detect_format(Path("requests.txt"), '  {"prompt": "x"}') is FileFormat.JSONL
    assert detect_format(Path("-"), "prompt,seed\n") is FileFormat.CSV


def test_each_bad_line_is_named_and_nothing_is_sent(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "requests.jsonl",
        '{"prompt": "ok"}\n{"prompt": "a", "num_images": 9}\nnot json\n[1, 2]\n'
        '{"prompt": "b", "colour": "red"}\n',
    )
    error = refusal(path)
    assert error.message.endswith("cannot be sent: 2 problems; nothing was queued")
    assert error.problems[0].startswith("line 3: not JSON")
    assert error.problems[1] == "line 4: a JSON object is required, not list"
    # Lines that parse are checked with the API's model once the file reads whole.
    fixed = write(
        tmp_path, "fixed.jsonl", '{"prompt": "ok"}\n{"prompt": "a", "num_images": 9}\n\n{"prompt": " "}\n'
    )
    problems = refusal(fixed).problems
    assert problems[0] == "line 2: num_images: Input should be less than or equal to 8"
    assert problems[1].startswith("line 4: prompt: Value error, must contain visible characters")


def test_csv_mistakes_are_named_by_line(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "a.csv", "prompt,seed\na fox,one\na hen,1,extra\n,2\n"))
    assert error.problems[:2] == (
        "line 2: seed: 'one' is not a whole number",
        "line 3: 3 cells, but the header names 2 columns",
    )
    assert refusal(write(tmp_path, "b.csv", "prompt,seed\n,2\n")).problems[0].startswith("line 2: prompt:")


def test_a_header_row_must_name_known_columns_and_the_prompt(tmp_path: Path) -> None:
    assert (
        "unknown column 'colour'" in refusal(write(tmp_path, "a.csv", "prompt,colour\nx,red\n")).problems[0]
    )
    assert "no prompt column" in refusal(write(tmp_path, "b.csv", "seed\n1\n")).problems[0]
    assert "named twice" in refusal(write(tmp_path, "c.csv", "prompt,prompt\nx,y\n")).problems[0]


def test_ids_used_twice_name_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dup.jsonl",
        '{"prompt": "a", "item_id": "3"}\n{"prompt": "b", "client_request_id": "cms-00000001"}\n'
        '{"prompt": "c"}\n{"prompt": "d", "client_request_id": "cms-00000001"}\n',
    )
    assert refusal(path).problems == (
        "line 3: item id '3' is used by line 1 too (a request with no item_id is numbered by its place "
        "in the file: 1, 2, 3...)",
        "line 4: client_request_id 'cms-00000001' is used by line 2 too",
    )


def test_a_file_holds_one_batch_at_most(tmp_path: Path) -> None:
    assert MAX_ITEMS == MAX_BATCH_ITEMS
    path = write(tmp_path, "big.jsonl", '{"prompt": "a fox"}\n' * (MAX_ITEMS + 1))
    assert refusal(path).message.endswith(
        f"holds {MAX_ITEMS + 1} requests; a batch takes at most 1,000: split the file"
    )
    assert (
        len(read_batch_file(write(tmp_path, "max.jsonl", '{"prompt": "a fox"}\n' * MAX_ITEMS))) == MAX_ITEMS
    )


def test_an_empty_unreadable_or_missing_file_is_refused(tmp_path: Path) -> None:
    assert refusal(write(tmp_path, "empty.jsonl", "\n\n")).message.endswith("holds no requests")
    (tmp_path / "latin1.csv").write_bytes("prompt\ncaf\xe9\n".encode("latin-1"))
    assert refusal(tmp_path / "latin1.csv").message.endswith("is not UTF-8 text")
    assert refusal(tmp_path / "nowhere.csv").message.startswith("cannot read")


def test_many_problems_are_cut_short(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", "nope\n" * 30)
    problems = refusal(path).problems
    assert len(problems) == ERRORS_SHOWN + 1
    assert problems[-1] == "... and 10 more"


def test_a_batch_renders_its_counts_items_and_failures() -> None:
    console = Console(width=120, record=True)
    view = {
        "batchId": "ab" * 16,
        "createdAt": "2026-11-21T09:00:00.000Z",
        "items": 3,
        "counts": {"QUEUED": 0, "DONE": 2, "FAILED": 1},
        "complete": True,
        "results": [
            {
                "itemId": "1",
                "status": "DONE",
                "generationIds": ["1" * 32, "2" * 32],
                "statuses": ["STORED", "UNSAFE"],
            },
            {"itemId": "hero", "status": "DONE", "generationIds": ["3" * 32], "statuses": ["STORED"]},
            {"itemId": "[x]", "status": "FAILED", "generationIds": [], "statuses": []},
        ],
        "failures": [{"itemId": "[x]", "reason": "rejected: a duplicate of 3333"}],
    }
    console.print(batch_view(view))
    console.print(queued_view({"batchId": "ab" * 16, "items": 3, "enqueued": 3, "failures": []}))
    text = console.export_text()
    assert f"batch {'ab' * 16}: complete" in text
    assert "1" * 32 + " STORED" in text
    assert "2" * 32 + " UNSAFE" in text
    assert "[x]" in text  # item ids are never read as markup
    assert "rejected: a duplicate of 3333" in text
    assert "3 of 3 items queued" in text
