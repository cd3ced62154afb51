"""`pull`'s mirror logic: where each image goes, the manifest (merged, newest first, without links,
written atomically) and resuming (present files skipped, damaged ones fetched again, a mismatch
reported while the rest go on, an interrupted pull keeping what it has)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ideogram_assets.records.lifecycle import object_key
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.pull import (
    MANIFEST_NAME,
    Mirror,
    Outcome,
    image_path,
    merge_manifest,
    read_manifest,
    write_manifest,
)
from ideogram_assets_cli.transfer import Expected, Fetched, IntegrityError, part_path


def _image(number: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + f"image {number}".encode() * 50


def _record(number: int, *, status: str = "STORED", day: int = 1) -> dict[str, Any]:
    content = _image(number)
    stored = status == "STORED"
    return {
        "id": f"{number:032x}",
        "status": status,
        "prompt": f"prompt {number}",
        "createdAt": f"2025-03-{day:02d}T10:00:{number % 60:02d}.000Z",
        "sha256": hashlib.sha256(content).hexdigest() if stored else None,
        "sizeBytes": len(content) if stored else None,
        "imageUrl": f"https://bucket.example.com/{number}?X-Amz-Signature=s" if stored else None,
        "imageUrlExpiresIn": 900 if stored else None,
    }


class FakeStorage:
    """Serves each record's image (or other bytes for the ids in `corrupt`), writing it where the
    mirror asks, as transfer.fetch_verified does; counts what it was asked for."""

    def __init__(self, corrupt: frozenset[str] = frozenset(), interrupt_after: int | None = None) -> None:
        self.corrupt = corrupt
        self.interrupt_after = interrupt_after
        self.fetched: list[str] = []

    def __call__(self, record: Mapping[str, Any], path: Path, expected: Expected) -> Fetched:
        if self.interrupt_after is not None and len(self.fetched) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.fetched.append(str(record["id"]))
        content = _image(int(str(record["id"]), 16))
        if record["id"] in self.corrupt:
            content = content[:-1] + b"!"
        if hashlib.sha256(content).hexdigest() != expected.sha256:
            raise IntegrityError("SHA-256 does not match the record's")
        path.write_bytes(content)
        return Fetched(path=path, size=len(content), sha256=hashlib.sha256(content).hexdigest())


def _manifest(root: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((root / MANIFEST_NAME).read_text())
    return records


def test_images_go_where_the_bucket_keeps_them() -> None:
    record = _record(7, day=14)
    created = datetime(2025, 3, 14, 10, 0, 7, tzinfo=UTC)
    assert image_path(Path("/m"), record) == Path("/m") / object_key(record["id"], created)
    assert image_path(Path("/m"), record) == Path(f"/m/images/2025/03/14/{7:032x}.png")


def test_the_day_is_the_utc_day() -> None:
    record = {**_record(1), "createdAt": "2025-03-14T23:30:00-02:00"}  # 01:30 UTC on the 15th
    assert image_path(Path("/m"), record).parent == Path("/m/images/2025/03/15")


@pytest.mark.parametrize(
    "change",
    [
        {"id": "../../etc/passwd"},
        {"id": "A" * 32},
        {"id": None},
        {"createdAt": "yesterday"},
        {"createdAt": None},
    ],
)
def test_a_record_cannot_name_a_path_outside_the_mirror(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="the record's"):
        image_path(Path("/m"), {**_record(1), **change})


def test_the_manifest_is_one_record_per_id_newest_first_without_links() -> None:
    old = [_record(1, day=1), {**_record(2, day=2), "tags": ["old"]}]
    fresh = [{**_record(2, day=2), "tags": ["new"]}, _record(3, day=3), _record(4, day=2)]
    merged = merge_manifest(old, fresh)
    assert [record["id"] for record in merged] == [f"{n:032x}" for n in (3, 4, 2, 1)]
    assert next(record for record in merged if record["id"] == f"{2:032x}")["tags"] == ["new"]
    assert all("imageUrl" not in record and "imageUrlExpiresIn" not in record for record in merged)


def test_the_manifest_is_replaced_atomically_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    assert read_manifest(path) == []
    records = merge_manifest([], [_record(1), _record(2)])
    write_manifest(path, records)
    write_manifest(path, records[:1])
    assert read_manifest(path) == records[:1]
    assert sorted(item.name for item in tmp_path.iterdir()) == [MANIFEST_NAME]  # no temporary file left


@pytest.mark.parametrize("content", ["{}", "not json", '[{"no": "id"}]', "[1, 2]"])
def test_a_file_that_is_not_a_manifest_is_refused_not_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text(content)
    with pytest.raises(CliError) as raised:
        Mirror(tmp_path, FakeStorage()).run([[_record(1)]])
    assert raised.value.code is ExitCode.BAD_INPUT
    assert path.read_text() == content
    assert not (tmp_path / "images").exists()


def test_a_first_pull_fetches_every_stored_image_and_lists_every_record(tmp_path: Path) -> None:
    pages = [[_record(5, day=5), _record(4, status="UNSAFE", day=4)], [_record(3, day=3)]]
    storage = FakeStorage()
    summary = Mirror(tmp_path, storage, jobs=2).run(pages)
    assert (summary.records, summary.images, summary.complete) == (3, 2, True)
    assert summary.counts[Outcome.DOWNLOADED] == 2
    assert summary.counts[Outcome.NO_IMAGE] == 1
    assert sorted(storage.fetched) == [f"{3:032x}", f"{5:032x}"]
    assert summary.bytes_downloaded == len(_image(3)) + len(_image(5))
    assert [record["id"] for record in _manifest(tmp_path)] == [f"{n:032x}" for n in (5, 4, 3)]
    for number in (3, 5):
        assert image_path(tmp_path, _record(number, day=number)).read_bytes() == _image(number)


def test_a_second_pull_fetches_only_what_is_missing_or_damaged(tmp_path: Path) -> None:
    records = [_record(number, day=number) for number in range(1, 7)]
    Mirror(tmp_path, FakeStorage()).run([records])
    deleted, truncated, replaced, left_part = (image_path(tmp_path, records[i]) for i in (0, 1, 2, 3))
    deleted.unlink()
    truncated.write_bytes(truncated.read_bytes()[:20])
    replaced.write_bytes(_image(99))  # a file of the right name with other bytes
    left_part.unlink()
    part_path(left_part).write_bytes(b"half")  # what an interrupted download leaves

    storage = FakeStorage()
    summary = Mirror(tmp_path, storage).run([records])

    assert sorted(storage.fetched) == sorted(records[i]["id"] for i in (0, 1, 2, 3))
    assert summary.counts[Outcome.DOWNLOADED] == 4
    assert summary.counts[Outcome.PRESENT] == 2
    for record in records:
        assert image_path(tmp_path, record).read_bytes() == _image(int(record["id"], 16))


def test_a_mismatch_fails_that_image_only_and_keeps_it_out_of_the_manifest(tmp_path: Path) -> None:
    records = [_record(number, day=number) for number in range(1, 5)]
    bad = records[1]["id"]
    summary = Mirror(tmp_path, FakeStorage(corrupt=frozenset({bad}))).run([records])
    assert summary.failures == [(bad, "SHA-256 does not match the record's")]
    assert summary.counts[Outcome.DOWNLOADED] == 3
    assert not image_path(tmp_path, records[1]).exists()
    assert bad not in {record["id"] for record in _manifest(tmp_path)}
    assert summary.as_json()["failed"] == [{"id": bad, "reason": "SHA-256 does not match the record's"}]


def test_an_interrupted_pull_keeps_a_manifest_of_what_it_has_and_the_next_one_goes_on(tmp_path: Path) -> None:
    pages = [[_record(n, day=n) for n in range(10, 5, -1)], [_record(n, day=n) for n in range(5, 0, -1)]]
    with pytest.raises(KeyboardInterrupt):
        Mirror(tmp_path, FakeStorage(interrupt_after=3), jobs=1).run(pages)
    kept = _manifest(tmp_path)
    assert [record["id"] for record in kept] == [f"{n:032x}" for n in (10, 9, 8)]
    assert all(image_path(tmp_path, record).is_file() for record in kept)

    storage = FakeStorage()
    summary = Mirror(tmp_path, storage, jobs=1).run(pages)
    assert sorted(storage.fetched) == sorted(f"{n:032x}" for n in range(1, 8))
    assert (summary.counts[Outcome.PRESENT], summary.complete) == (3, True)
    assert [record["id"] for record in _manifest(tmp_path)] == [f"{n:032x}" for n in range(10, 0, -1)]


def test_the_manifest_is_written_as_pages_go_not_only_at_the_end(tmp_path: Path) -> None:
    ticks = iter(range(100))
    seen: list[list[str]] = []

    def pages() -> Any:
        yield [_record(3, day=3)]
        seen.append([record["id"] for record in _manifest(tmp_path)])
        yield [_record(2, day=2)]
        seen.append([record["id"] for record in _manifest(tmp_path)])

    Mirror(tmp_path, FakeStorage(), checkpoint_seconds=1, clock=lambda: float(next(ticks))).run(pages())
    assert seen == [[f"{3:032x}"], [f"{3:032x}", f"{2:032x}"]]


def test_records_of_an_earlier_pull_stay_in_the_manifest(tmp_path: Path) -> None:
    Mirror(tmp_path, FakeStorage()).run([[_record(1, day=1)]])
    Mirror(tmp_path, FakeStorage()).run([[_record(2, day=2)]])  # another filter, or record 1 expired
    assert [record["id"] for record in _manifest(tmp_path)] == [f"{2:032x}", f"{1:032x}"]


def test_ctrl_c_between_pages_still_leaves_the_manifest_of_what_was_done(tmp_path: Path) -> None:
    def pages() -> Any:
        yield [_record(2, day=2), _record(1, status="UNSAFE", day=1)]
        raise KeyboardInterrupt  # in the main thread, as a terminal delivers it

    with pytest.raises(KeyboardInterrupt):
        Mirror(tmp_path, FakeStorage(), checkpoint_seconds=3600).run(pages())
    assert [record["id"] for record in _manifest(tmp_path)] == [f"{2:032x}", f"{1:032x}"]
    assert image_path(tmp_path, _record(2, day=2)).is_file()
