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


def test_at_most_capacity_requests_prepare_at_once() -> None:
    slots = ImageSlots(2, clock=time.monotonic)
    preparing = 0
    most = 0
    lock = threading.Lock()

    def request() -> None:
        nonlocal preparing, most
        with slots.preparing():
            with lock:
                preparing += 1
                most = max(most, preparing)
            time.sleep(0.005)
            with lock:
                preparing -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2


def test_a_turn_to_prepare_ends_when_the_request_asks_for_slots() -> None:
    slots = ImageSlots(1, clock=time.monotonic)
    asked = threading.Event()
    second_prepared = threading.Event()
    seen_while_generating: list[bool] = []

    def first() -> None:
        with slots.preparing(), slots.hold(1, deadline=time.monotonic() + 5):
            asked.set()
            seen_while_generating.append(second_prepared.wait(2))

    def second() -> None:
        asked.wait(5)
        with slots.preparing():
            second_prepared.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen_while_generating == [True]  # the next request prepared while this one generated


def test_a_request_that_never_asks_for_slots_gives_its_turn_back_at_the_end() -> None:
    slots = ImageSlots(1, clock=time.monotonic)
    with pytest.raises(RuntimeError), slots.preparing():
        raise RuntimeError("a replay: the stored answer, no Ideogram call")
    with slots.preparing():  # would block forever had the turn not come back
        pass


def test_holding_without_a_turn_is_allowed() -> None:
    slots = ImageSlots(1, clock=time.monotonic)
    with slots.hold(1, deadline=time.monotonic() + 1):  # the HTTP path takes no turn
        assert slots.in_use == 1
