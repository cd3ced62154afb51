"""Ideogram's in-flight images, shared by the generations one execution environment runs at once.

Ideogram counts images in progress per organisation and refuses (429) the ones beyond its limit.
The ingest works through a batch of requests concurrently, and each request holds its images'
slots only while Ideogram works on them: recording the answer, downloading and storing the
images, and the next request's writes overlap other requests' generations. With `capacity` =
the organisation's limit divided by the mapping's MaximumConcurrency, the environments together
never have more images in flight than the limit (config.IngestSettings).

The writes a request makes before it asks for slots (its idempotency record, its PENDING records)
are taken in turn too: at most `capacity` requests make them at once (`preparing`). When a batch
starts, the request that will take the next free slot then does not queue its writes behind
every other request of the batch, and the slots do not sit idle waiting for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Set while the request of this context holds a turn to prepare (ImageSlots.preparing).
_preparing: ContextVar[ImageSlots | None] = ContextVar("preparing", default=None)


class SlotsBusy(TimeoutError):
    """No slot came free before the deadline."""


class ImageSlots:
    """A counting semaphore of images, waited on with a deadline; thread-safe."""

    def __init__(self, capacity: int, *, clock: Callable[[], float]) -> None:
        if capacity < 1:
            raise ValueError("an environment needs at least one image slot")
        self.capacity = capacity
        self._free = capacity
        self._clock = clock
        self._changed = threading.Condition()
        self._turns = threading.BoundedSemaphore(capacity)

    @property
    def in_use(self) -> int:
        with self._changed:
            return self.capacity - self._free

    @contextmanager
    def preparing(self) -> Iterator[None]:
        """A request's turn to make its writes before Ideogram: it ends when the request asks for
        slots (hold) or when the block ends, whichever comes first."""
        self._turns.acquire()
        token = _preparing.set(self)
        try:
            yield
        finally:
            self._end_turn()
            _preparing.reset(token)

    def _end_turn(self) -> None:
        if _preparing.get() is self:
            _preparing.set(None)
            self._turns.release()

    @contextmanager
    def hold(self, images: int, *, deadline: float) -> Iterator[None]:
        """Holds `images` slots (all of them, for a request larger than the capacity: Ideogram then
        refuses what is over its limit, and the client backs off) until the block ends."""
        self._end_turn()  # the next request may prepare while this one waits and generates
        wanted = min(max(images, 1), self.capacity)
        with self._changed:
            if not self._changed.wait_for(lambda: self._free >= wanted, max(0.0, deadline - self._clock())):
                raise SlotsBusy(f"no Ideogram slot for {wanted} image(s) came free in time")
            self._free -= wanted
        try:
            yield
        finally:
            with self._changed:
                self._free += wanted
                self._changed.notify_all()
