"""Export files are cut into parts of exactly one size, the last one shorter: S3 needs every
part but the last to be at least 5 MiB, and one reused buffer keeps memory flat."""

from __future__ import annotations

import pytest

from ideogram_assets.exports.writer import MIN_PART_BYTES, ExportObjectWriter, ObjectSettings, PartSplitter


def _splitter(part_size: int) -> tuple[PartSplitter, list[bytes]]:
    parts: list[bytes] = []
    return PartSplitter(part_size, lambda part: parts.append(bytes(part))), parts


def test_writes_smaller_than_a_part_wait_for_more() -> None:
    splitter, parts = _splitter(10)
    splitter.write(b"abc")
    splitter.write(b"defg")
    assert parts == []
    assert bytes(splitter.pending()) == b"abcdefg"
    assert splitter.total == 7


def test_a_part_is_emitted_the_moment_it_is_full_and_the_rest_carries_over() -> None:
    splitter, parts = _splitter(4)
    splitter.write(b"abc")
    splitter.write(b"def")  # crosses the boundary
    assert parts == [b"abcd"]
    assert bytes(splitter.pending()) == b"ef"


def test_one_large_write_makes_several_parts() -> None:
    splitter, parts = _splitter(4)
    splitter.write(b"0123456789")
    assert parts == [b"0123", b"4567"]
    assert bytes(splitter.pending()) == b"89"
    assert splitter.parts_emitted == 2


def test_an_exact_multiple_leaves_nothing_pending() -> None:
    splitter, parts = _splitter(3)
    splitter.write(b"abcdef")
    assert parts == [b"abc", b"def"]
    assert bytes(splitter.pending()) == b""


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1000])
def test_parts_concatenate_to_what_was_written_whatever_the_write_sizes(chunk: int) -> None:
    data = bytes(range(256)) * 9
    splitter, parts = _splitter(100)
    for start in range(0, len(data), chunk):
        splitter.write(data[start : start + chunk])
    assert all(len(part) == 100 for part in parts)
    assert b"".join(parts) + bytes(splitter.pending()) == data
    assert splitter.total == len(data)


def test_an_empty_write_changes_nothing() -> None:
    splitter, parts = _splitter(2)
    splitter.write(b"")
    assert (parts, splitter.total, bytes(splitter.pending())) == ([], 0, b"")


def test_the_buffer_is_allocated_once_and_reused() -> None:
    seen: list[int] = []
    splitter = PartSplitter(4, lambda part: seen.append(id(part.obj)))
    splitter.write(b"x" * 13)
    assert len(seen) == 3
    assert len(set(seen)) == 1


def test_a_part_size_s3_would_refuse_is_refused_up_front() -> None:
    target = ObjectSettings(bucket="b", key="exports/x.csv", content_type="text/csv", content_disposition="")
    with pytest.raises(ValueError, match="at least"):
        ExportObjectWriter(s3=None, target=target, part_size=MIN_PART_BYTES - 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        PartSplitter(0, lambda part: None)
