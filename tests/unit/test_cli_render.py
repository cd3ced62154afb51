"""What a person sees: the generations table, the record panel, and the API's errors as lines."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from ideogram_assets_cli.api_client import ApiReply
from ideogram_assets_cli.render import generations_table, human_bytes, record_panel, size_text

STORED: dict[str, Any] = {
    "id": "666e21fa47864eff96273e5412cceb5c",
    "requestId": "2bb52602b2884ec399f3c73c21ea1234",
    "status": "STORED",
    "model": "V_3",
    "seed": 1234,
    "width": 1312,
    "height": 736,
    "resolution": "1312x736",
    "sizeBytes": 19353,
    "sha256": "99fd285a0123456789abcdef",
    "imageUrl": "https://bucket.s3.amazonaws.com/images/666e.png?X-Amz-Signature=abc",
    "tags": ["campaign", "dusk"],
    "failureKind": None,
}
FAILED: dict[str, Any] = {
    **STORED,
    "id": "0" * 32,
    "status": "FAILED",
    "failureKind": "bad_content_type",
    "sizeBytes": None,
}
FAILED.update(width=None, height=None, sha256=None, imageUrl=None)


def _text(renderable: Any, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, ""), (0, "0 B"), (1023, "1023 B"), (19353, "18.9 KiB"), (7 * 1024**2, "7.0 MiB")],
)
def test_sizes_read_in_binary_units(size: int | None, text: str) -> None:
    assert human_bytes(size) == text


def test_size_is_pixels_and_bytes_or_the_size_asked_for() -> None:
    assert size_text(STORED) == "1312x736 18.9 KiB"
    assert size_text(FAILED) == "1312x736"
    assert size_text({"aspectRatio": "16x9"}) == "16x9"


@pytest.mark.parametrize("width", [80, 140])
def test_the_table_shows_every_generation_with_whole_ids(width: int) -> None:
    text = _text(
        generations_table({"requestId": "r" * 32, "complete": False, "generations": [STORED, FAILED]}, width),
        width,
    )
    assert max(len(line) for line in text.splitlines()) <= width
    assert STORED["id"] in text
    assert "0" * 32 in text  # ids are copied from here: never cut
    assert "99fd285a" in text
    assert "STORED" in text
    assert "FAILED" in text
    assert "1234" in text
    assert "r" * 32 in text
    assert "not complete" in text


def test_the_record_panel_shows_the_whole_link_and_hash() -> None:
    text = _text(record_panel({**STORED, "sha256": "ab" * 32, "customField": "kept"}), 200)
    assert "ab" * 32 in text
    assert str(STORED["imageUrl"]) in text
    assert "campaign, dusk" in text
    assert "18.9 KiB (19353 bytes)" in text
    assert "customField" in text  # a field the command does not know yet is still shown
    assert "failure" not in text  # nothing for empty values


def test_api_errors_become_a_message_and_one_line_per_field() -> None:
    body = {
        "message": "the request is not valid",
        "errors": [{"field": "num_images", "message": "Input should be less than or equal to 8"}],
    }
    reply = ApiReply(status=422, body=body, text="", headers={})
    assert reply.message == "the request is not valid"
    assert reply.field_errors == ["num_images: Input should be less than or equal to 8"]


def test_a_reply_that_is_not_json_still_gives_a_message() -> None:
    reply = ApiReply(status=502, body=None, text="<html>\nBad Gateway</html>", headers={})
    assert reply.message == "<html>"
    assert reply.field_errors == []
    assert ApiReply(status=500, body=None, text="", headers={}).message == ""
