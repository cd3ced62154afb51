"""`pull DIR`: a local mirror of the stored images and their records.

    DIR/generations.json                 the records as the API shows them (no short-lived links),
                                         newest first
    DIR/images/YYYY/MM/DD/<id>.png       each stored image, where the bucket keeps it

Resumable: an image already there with the record's SHA-256 is not fetched again; an image is
written to `<id>.png.part` and takes its name only once its SHA-256 and size match the record;
the manifest is replaced atomically (temporary file, then rename) now and then during a pull and
at its end, so an interrupted pull keeps what it has. Records already in the manifest stay (an
image the retention sweep has since deleted is still in the mirror); the fresh copy of a record
replaces the old one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.transfer import Expected, Fetched, IntegrityError, TransferError, matches

MANIFEST_NAME = "generations.json"
IMAGES_DIR = "images"
# Presigned links expire within minutes: a mirror keeps none of them.
LINK_FIELDS = frozenset({"imageUrl", "imageUrlExpiresIn"})
_GENERATION_ID = re.compile(r"[0-9a-f]{32}")

FetchImage = Callable[[Mapping[str, Any], Path, Expected], Fetched]


class Outcome(StrEnum):
    DOWNLOADED = "downloaded"
    PRESENT = "present"  # already in the mirror with the record's SHA-256: not fetched
    NO_IMAGE = "no_image"  # nothing stored to fetch (UNSAFE, FAILED, LOST...): the record only
    FAILED = "failed"


def has_stored_image(record: Mapping[str, Any]) -> bool:
    return record.get("status") == "STORED" and bool(record.get("sha256"))


def created_at(record: Mapping[str, Any]) -> datetime | None:
    value = record.get("createdAt")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def image_path(root: Path, record: Mapping[str, Any]) -> Path:
    """Where the record's image goes: the bucket's key (images/YYYY/MM/DD/<id>.png, UTC) under `root`.
    The id and the time come from the API: both are checked, so no record can name a path elsewhere."""
    generation_id = record.get("id")
    if not isinstance(generation_id, str) or not _GENERATION_ID.fullmatch(generation_id):
        raise ValueError(f"the record's id {generation_id!r} is not 32 lowercase hex characters")
    moment = created_at(record)
    if moment is None:
        raise ValueError(f"the record's createdAt {record.get('createdAt')!r} is not an ISO-8601 time")
    return root / IMAGES_DIR / f"{moment:%Y}" / f"{moment:%m}" / f"{moment:%d}" / f"{generation_id}.png"


def manifest_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name not in LINK_FIELDS}


def _newest_first_key(record: Mapping[str, Any]) -> tuple[datetime, str]:
    return created_at(record) or datetime.min.replace(tzinfo=UTC), str(record.get("id", ""))


def merge_manifest(
    existing: Iterable[Mapping[str, Any]], fresh: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One record per id (a fresh one replaces an existing one), newest first, without links."""
    by_id: dict[str, dict[str, Any]] = {}
    for record in (*existing, *fresh):
        by_id[str(record["id"])] = manifest_record(record)
    return sorted(by_id.values(), key=_newest_first_key, reverse=True)


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The records of an earlier pull ([] when there was none); a file that is not such a manifest is
    refused rather than replaced."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {path}: {error}", ExitCode.BAD_INPUT) from None
    try:
        records = json.loads(text)
    except json.JSONDecodeError:
        records = None
    if not isinstance(records, list) or not all(
        isinstance(record, dict) and isinstance(record.get("id"), str) for record in records
    ):
        raise CliError(
            f"{path} is not a manifest written by pull (a JSON array of records)",
            ExitCode.BAD_INPUT,
            hint="move it away, or pull into another directory",
        )
    return records


def write_manifest(path: Path, records: list[dict[str, Any]]) -> None:
    """Replaces `path` atomically: a reader (or an interrupted pull) sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(records, stream, indent=2, ensure_ascii=False)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class PullEvents(Protocol):
    """What a progress display is told as a pull goes."""

    def found(self, images: int) -> None: ...
    def settled(self, outcome: Outcome) -> None: ...
    def received(self, size: int) -> None: ...


class NoEvents:
    def found(self, images: int) -> None:
        pass

    def settled(self, outcome: Outcome) -> None:
        pass

    def received(self, size: int) -> None:
        pass


@dataclass
class PullSummary:
    directory: Path
    records: int = 0
    images: int = 0  # records with a stored image
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    bytes_downloaded: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    complete: bool = False  # every page was read (an interrupted pull is not)

    def as_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "manifest": str(self.directory / MANIFEST_NAME),
            "complete": self.complete,
            "records": self.records,
            "images": self.images,
            **{outcome.value: self.counts[outcome] for outcome in Outcome if outcome is not Outcome.FAILED},
            "bytesDownloaded": self.bytes_downloaded,
            "failed": [{"id": generation_id, "reason": why} for generation_id, why in self.failures],
        }


@dataclass(frozen=True)
class Settled:
    outcome: Outcome
    size: int = 0
    reason: str = ""


class Mirror:
    """Brings `root` up to date with the records it is given, page by page."""

    def __init__(
        self,
        root: Path,
        fetch: FetchImage,
        *,
        jobs: int = 4,
        checkpoint_seconds: float = 10.0,
        events: PullEvents | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.fetch = fetch
        self.jobs = jobs
        self.checkpoint_seconds = checkpoint_seconds
        self.events: PullEvents = events or NoEvents()
        self.clock = clock
        self.manifest_path = root / MANIFEST_NAME

    def settle(self, record: Mapping[str, Any]) -> Settled:
        """Makes sure the record's image is in the mirror, whole: what it took, or why it failed."""
        if not has_stored_image(record):
            return Settled(Outcome.NO_IMAGE)
        expected = Expected(sha256=str(record["sha256"]), size=_int_or_none(record.get("sizeBytes")))
        try:
            path = image_path(self.root, record)
            if matches(path, expected):
                return Settled(Outcome.PRESENT)
            path.parent.mkdir(parents=True, exist_ok=True)
            fetched = self.fetch(record, path, expected)
        except (TransferError, IntegrityError, CliError) as error:
            return Settled(Outcome.FAILED, reason=error.message)
        except (ValueError, OSError) as error:
            return Settled(Outcome.FAILED, reason=str(error))
        return Settled(Outcome.DOWNLOADED, size=fetched.size)

    def run(self, pages: Iterable[list[dict[str, Any]]]) -> PullSummary:
        """Settles every record of every page (up to `jobs` at a time), then writes the manifest.

        The manifest is also written every `checkpoint_seconds`, and whatever stops the pull
        (an error, Ctrl-C) still leaves one naming what is in the mirror by then."""
        existing = read_manifest(self.manifest_path)  # refused before anything is written
        summary = PullSummary(directory=self.root)
        done: list[dict[str, Any]] = []  # records whose image is in the mirror, or that have none
        last_written = self.clock()
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="pull")
        try:
            for page in pages:
                summary.records += len(page)
                images = sum(1 for record in page if has_stored_image(record))
                summary.images += images
                self.events.found(images)
                for record, settled in zip(page, pool.map(self.settle, page), strict=True):
                    summary.counts[settled.outcome] += 1
                    summary.bytes_downloaded += settled.size
                    if settled.outcome is Outcome.FAILED:
                        summary.failures.append((str(record.get("id")), settled.reason))
                    else:
                        done.append(record)
                    if settled.outcome is not Outcome.NO_IMAGE:
                        self.events.settled(settled.outcome)
                if self.clock() - last_written >= self.checkpoint_seconds:
                    write_manifest(self.manifest_path, merge_manifest(existing, done))
                    last_written = self.clock()
            summary.complete = True
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            write_manifest(self.manifest_path, merge_manifest(existing, done))
        return summary


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
