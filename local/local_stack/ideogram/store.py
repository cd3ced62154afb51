"""In-memory state: what each image id was generated from, rendered bytes, and in-flight images."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from local_stack.ideogram.images import render_png


@dataclass(frozen=True)
class ImageRecord:
    """Enough to render the image again: images are drawn on download, not at generation."""

    prompt: str
    seed: int
    width: int
    height: int
    # Position in its generate reply's data[], for per-image faults; not part of the pixels, so
    # it is left out of equality and hashing (records are also the render cache's keys).
    index: int = field(default=0, compare=False)


class ImageStore:
    """Image ids to records (bounded, oldest forgotten first) plus a byte-bounded LRU of renders."""

    def __init__(self, max_records: int = 100_000, max_cached_bytes: int = 64 * 1024 * 1024) -> None:
        self._records: OrderedDict[str, ImageRecord] = OrderedDict()
        self._renders: OrderedDict[ImageRecord, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._max_records = max_records
        self._max_cached_bytes = max_cached_bytes
        self._lock = threading.Lock()

    def add(self, record: ImageRecord) -> str:
        image_id = secrets.token_urlsafe(16)  # 22 URL-safe characters, like Ideogram's ids
        with self._lock:
            self._records[image_id] = record
            while len(self._records) > self._max_records:
                self._records.popitem(last=False)
        return image_id

    def get(self, image_id: str) -> ImageRecord | None:
        with self._lock:
            return self._records.get(image_id)

    def png(self, record: ImageRecord) -> bytes:
        with self._lock:
            cached = self._renders.get(record)
            if cached is not None:
                self._renders.move_to_end(record)
                return cached
        # Render outside the lock: two threads may render the same image once each, which is harmless.
        rendered = render_png(record.prompt, record.seed, record.width, record.height)
        with self._lock:
            if record not in self._renders:
                self._renders[record] = rendered
                self._cached_bytes += len(rendered)
            while self._cached_bytes > self._max_cached_bytes and len(self._renders) > 1:
                _, evicted = self._renders.popitem(last=False)
                self._cached_bytes -= len(evicted)
        return rendered


class InflightLimiter:
    """Counts images being generated across requests; a request takes one slot per image."""

    def __init__(self) -> None:
        self._in_use = 0
        self._lock = threading.Lock()

    def try_acquire(self, slots: int, limit: int) -> bool:
        with self._lock:
            if self._in_use + slots > limit:
                return False
            self._in_use += slots
            return True

    def release(self, slots: int) -> None:
        with self._lock:
            self._in_use -= slots

    @property
    def in_use(self) -> int:
        with self._lock:
            return self._in_use
