"""ImageSlots: the images an execution environment may have at Ideogram at once."""

from __future__ import annotations

import threading
import time

import pytest

from ideogram_assets.generation.slots import ImageSlots, SlotsBusy


def test_holding_takes_and_returns_the_requests_images() -> None:
    slots = ImageSlots(5, clock=time.monotonic)
    with slots.hold(3, deadline=time.monotonic() + 1):
        assert slots.in_use == 3
        with slots.hold(2, deadline=time.monotonic() + 1):
            assert slots.in_use == 5
    assert slots.in_use == 0


def test_a_request_waits_until_enough_slots_are_free() -> None:
    slots = ImageSlots(4, clock=time.monotonic)
    released = threading.Event()
    order: list[str] = []

    def first() -> None:
        with slots.hold(3, deadline=time.monotonic() + 5):
            order.append("first holds")
            released.wait(5)
            order.append("first releases")

    thread = threading.Thread(target=first)
    thread.start()
    while slots.in_use != 3:
        time.sleep(0.001)
    threading.Timer(0.05, released.set).start()
    with slots.hold(2, deadline=time.monotonic() + 5):
        order.append("second holds")
        assert slots.in_use == 2
    thread.join()
    assert order == ["first holds", "first releases", "second holds"]


def test_no_slot_before_the_deadline_is_slots_busy_and_takes_nothing() -> None:
    slots = ImageSlots(2, clock=time.monotonic)
    with slots.hold(2, deadline=time.monotonic() + 1):
        with pytest.raises(SlotsBusy), slots.hold(1, deadline=time.monotonic() + 0.01):
            pass
        assert slots.in_use == 2
    assert slots.in_use == 0


def test_a_deadline_already_past_still_takes_free_slots() -> None:
    slots = ImageSlots(2, clock=time.monotonic)
    with slots.hold(1, deadline=time.monotonic() - 10):
        assert slots.in_use == 1


def test_a_request_larger_than_the_capacity_takes_every_slot() -> None:
    slots = ImageSlots(5, clock=time.monotonic)
    with slots.hold(8, deadline=time.monotonic() + 1):
        assert slots.in_use == 5
    assert slots.in_use == 0


def test_slots_are_returned_when_the_block_raises() -> None:
    slots = ImageSlots(3, clock=time.monotonic)
    with pytest.raises(RuntimeError), slots.hold(3, deadline=time.monotonic() + 1):
        raise RuntimeError("Ideogram failed")
    assert slots.in_use == 0


def test_many_threads_never_hold_more_than_the_capacity() -> None:
    slots = ImageSlots(5, clock=time.monotonic)
    peak = 0
    lock = threading.Lock()

    def work(images: int) -> None:
        nonlocal peak
        for _ in range(20):
            with slots.hold(images, deadline=time.monotonic() + 10):
                with lock:
                    peak = max(peak, slots.in_use)
                time.sleep(0.0005)

    threads = [threading.Thread(target=work, args=(1 + n % 3,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 3 <= peak <= 5
    assert slots.in_use == 0


def test_an_environment_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ImageSlots(0, clock=time.monotonic)
