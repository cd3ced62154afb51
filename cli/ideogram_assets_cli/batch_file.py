"""`batch FILE`: a file of generation requests → the items of POST /batches, checked line by line.

Two formats:

- JSON Lines: one JSON object per line, the body of POST /generations, plus optionally
  `item_id`, `on_duplicate` and `client_request_id`; blank lines are skipped.
- CSV: a header row naming the columns (`prompt` is required; `model`, `rendering_speed`,
  `style_type`, `aspect_ratio`, `resolution`, `seed`, `num_images`, `magic_prompt`,
  `negative_prompt`, `tags` separated by ";", `item_id`, `on_duplicate`, `client_request_id`),
  then one request per row; an empty cell is left out.

Each item is checked with the API's own model before anything is sent, so a mistake on line 812
is reported with its line number and nothing is queued. A file holds at most 1,000 requests
(one batch): split a longer one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

# The API's limit (ideogram_assets.api.batches.MAX_BATCH_ITEMS; kept here so that --help loads
# no model): a unit test keeps them equal.
MAX_ITEMS = 1000
ERRORS_SHOWN = 20
CSV_COLUMNS = (
    "prompt",
    "model",
    "rendering_speed",
    "style_type",
    "aspect_ratio",
    "resolution",
    "seed",
    "num_images",
    "magic_prompt",
    "negative_prompt",
    "tags",
    "item_id",
    "on_duplicate",
    "client_request_id",
)
_INTEGER_COLUMNS = frozenset({"seed", "num_images"})
# Enum columns, written in any case in a spreadsheet; the API spells them in upper case.
_UPPER_COLUMNS = frozenset({"model", "rendering_speed", "style_type", "magic_prompt"})
_LOWER_COLUMNS = frozenset({"on_duplicate"})


class FileFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


class BatchFileError(Exception):
    """The file cannot be sent: each problem names its line."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)


@dataclass(frozen=True)
class BatchLine:
    line: int  # where the request starts in the file (1-based)
    body: dict[str, Any]


def detect_format(path: Path, text: str) -> FileFormat:
    """By the file's extension, else by its first character: `{` is JSON Lines, anything else CSV."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return FileFormat.CSV
    if suffix in (".jsonl", ".ndjson", ".json"):
        return FileFormat.JSONL
    return FileFormat.JSONL if text.lstrip().startswith("{") else FileFormat.CSV


def parse_jsonl(text: str) -> tuple[list[BatchLine], list[str]]:
    lines: list[BatchLine] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as error:
            problems.append(f"line {number}: not JSON ({error})")
            continue
        if not isinstance(value, dict):
            problems.append(f"line {number}: a JSON object is required, not {type(value).__name__}")
            continue
        lines.append(BatchLine(number, value))
    return lines, problems


def _cell(column: str, value: str) -> Any:
    value = value.strip()
    if column in _INTEGER_COLUMNS:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{column}: {value!r} is not a whole number") from None
    if column == "tags":
        return [tag.strip() for tag in value.split(";") if tag.strip()]
    if column in _UPPER_COLUMNS:
        return value.upper()
    if column in _LOWER_COLUMNS:
        return value.lower()
    return value


def parse_csv(text: str) -> tuple[list[BatchLine], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    except csv.Error as error:
        return [], [f"line 1: {error}"]
    columns = [name.strip().lower().lstrip("\ufeff") for name in header]
    unknown = [name for name in columns if name not in CSV_COLUMNS]
    if unknown or "prompt" not in columns or len(set(columns)) != len(columns):
        problem = (
            f"unknown column {unknown[0]!r}"
            if unknown
            else "no prompt column"
            if "prompt" not in columns
            else "a column is named twice"
        )
        return [], [f"line 1: the header row is not valid: {problem} (columns: {', '.join(CSV_COLUMNS)})"]
    lines: list[BatchLine] = []
    problems: list[str] = []
    while True:
        start = reader.line_num + 1  # a quoted cell may span several lines: the row starts here
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(f"line {start}: {error}")
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            problems.append(f"line {start}: {len(row)} cells, but the header names {len(columns)} columns")
            continue
        body: dict[str, Any] = {}
        try:
            for column, value in zip(columns, row, strict=False):
                if value.strip() or column == "prompt":
                    body[column] = value if column == "prompt" else _cell(column, value)
        except ValueError as error:
            problems.append(f"line {start}: {error}")
            continue
        lines.append(BatchLine(start, body))
    return lines, problems


def _field(location: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in location) or "item"


def _check_items(lines: Sequence[BatchLine], on_duplicate: str | None) -> list[str]:
    """Each item as the API checks it, then the batch's own rules (unique ids, its size)."""
    # Loaded here, not at import: the API's models load pydantic and the core (--help stays quick).
    from pydantic import ValidationError

    from ideogram_assets.api.batches import BatchItemRequest, BatchRequest

    problems: list[str] = []
    items = []
    for line in lines:
        try:
            items.append(BatchItemRequest.model_validate(line.body))
        except ValidationError as error:
            problems += [f"line {line.line}: {_field(e['loc'])}: {e['msg']}" for e in error.errors()]
    if problems:
        return problems
    seen: dict[str, int] = {}
    keys: dict[str, int] = {}
    for position, (line, item) in enumerate(zip(lines, items, strict=True), start=1):
        item_id = item.item_id or str(position)
        if item_id in seen:
            problems.append(
                f"line {line.line}: item id {item_id!r} is used by line {seen[item_id]} too "
                "(a request with no item_id is numbered by its place in the file: 1, 2, 3...)"
            )
        seen.setdefault(item_id, line.line)
        if item.client_request_id is not None:
            if item.client_request_id in keys:
                problems.append(
                    f"line {line.line}: client_request_id {item.client_request_id!r} is used by "
                    f"line {keys[item.client_request_id]} too"
                )
            keys.setdefault(item.client_request_id, line.line)
    if problems:
        return problems
    try:
        BatchRequest.model_validate({"items": [line.body for line in lines], "on_duplicate": on_duplicate})
    except ValidationError as error:  # what the lines alone cannot show
        problems += [f"{_field(e['loc'])}: {e['msg']}" for e in error.errors()]
    return problems


def read_batch_file(
    path: Path,
    file_format: FileFormat | None = None,
    *,
    on_duplicate: str | None = None,
    read_text: Callable[[Path], str] = lambda path: path.read_text(encoding="utf-8-sig"),
) -> list[dict[str, Any]]:
    """The file's requests as POST /batches items, or BatchFileError naming every bad line."""
    try:
        text = read_text(path)
    except UnicodeDecodeError:
        raise BatchFileError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise BatchFileError(f"cannot read {path}: {error.strerror or error}") from None
    chosen = file_format or detect_format(path, text)
    lines, problems = parse_jsonl(text) if chosen is FileFormat.JSONL else parse_csv(text)
    if not problems and not lines:
        raise BatchFileError(f"{path} holds no requests")
    if len(lines) > MAX_ITEMS:
        raise BatchFileError(
            f"{path} holds {len(lines)} requests; a batch takes at most {MAX_ITEMS:,}: split the file"
        )
    if not problems:
        problems = _check_items(lines, on_duplicate)
    if problems:
        shown = problems[:ERRORS_SHOWN]
        if len(problems) > ERRORS_SHOWN:
            shown.append(f"... and {len(problems) - ERRORS_SHOWN} more")
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise BatchFileError(f"{path} ({chosen.value}) cannot be sent: {count}; nothing was queued", shown)
    return [line.body for line in lines]
