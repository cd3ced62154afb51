"""Request bodies are framed strictly: one Content-Length, or chunked, never a guess."""

from __future__ import annotations

import io

import pytest

from local_stack.gateway import MAX_BODY_BYTES, RequestRejected, content_length, read_chunked


@pytest.mark.parametrize(
    ("values", "expected"), [([], 0), (["0"], 0), (["12"], 12), (["12", "12"], 12), (["12, 12"], 12)]
)
def test_content_length_accepts_one_decimal_value(values: list[str], expected: int) -> None:
    assert content_length(values) == expected


@pytest.mark.parametrize(
    ("values", "status"),
    [
        (["-1"], 400),
        (["1e3"], 400),
        (["+5"], 400),
        (["5", "6"], 400),
        ([" "], 400),
        ([str(MAX_BODY_BYTES + 1)], 413),
    ],
)
def test_content_length_refuses_anything_else(values: list[str], status: int) -> None:
    with pytest.raises(RequestRejected) as rejected:
        content_length(values)
    assert rejected.value.reply.status == status


def test_a_chunked_body_decodes_and_leaves_the_next_request_unread() -> None:
    stream = io.BytesIO(
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT"
    )
    assert read_chunked(stream) == b"Wikipedia in\r\n\r\nchunks."
    assert stream.read() == b"NEXT"


@pytest.mark.parametrize(
    ("encoded", "status", "message"),
    [
        (b"g\r\n", 400, "Malformed chunked body"),
        (b"3\r\nabcd\r\n0\r\n\r\n", 400, "Malformed chunked body"),
        (b"3\r\nab", 400, "Request body incomplete"),
        (b"3\r\nabc\r\n0\r\n", 400, "Request body incomplete"),
        (b"%x\r\n" % (MAX_BODY_BYTES + 1), 413, "Request Entity Too Large"),
    ],
)
def test_a_bad_chunked_body_is_rejected(encoded: bytes, status: int, message: str) -> None:
    with pytest.raises(RequestRejected, match=message) as rejected:
        read_chunked(io.BytesIO(encoded))
    assert rejected.value.reply.status == status
