"""Generations run at once on threads, as the ingest runs a batch: they share the environment's
Ideogram slots (never more images at Ideogram than the slots, so no 429), and inside
counters_held() their counters are written once, at the end, and still equal a full recount."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from ideogram_assets.generation.service import GenerationService
from ideogram_assets.generation.slots import ImageSlots
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.records.counters import totals
from local_stack.ideogram import RunningEmulator
from tests.integration.retention_world import Budget, World, reset_faults, set_faults

REQUESTS = 6
IMAGES = 2
SLOTS = 4  # fewer than REQUESTS x IMAGES: the requests must take turns


def paced(world: World, slots: ImageSlots | None) -> GenerationService:
    return world.generation_service("standard", slots)


def rate_limited(emulator: RunningEmulator) -> int:
    health = requests.get(f"{emulator.url}/_emulator/health", timeout=10).json()
    return int(health["rate_limited_requests"])


def run_at_once(service: GenerationService, tag: str) -> list[str]:
    def one(number: int) -> list[str]:
        spec = GenerationSpec.model_validate(
            {"prompt": f"a kite over the dunes {number}", "num_images": IMAGES, "tags": [tag]}
        )
        return [str(record.status) for record in service.generate(spec, budget=Budget()).records]

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        return [status for statuses in pool.map(one, range(REQUESTS)) for status in statuses]


def against_the_limit(
    world: World, emulator: RunningEmulator, slots: ImageSlots | None
) -> tuple[list[str], int]:
    """The requests run at once against an Ideogram limit of SLOTS images: (statuses, 429s)."""
    set_faults(emulator, inflight_limit=SLOTS, latency_seconds=0.2)
    try:
        before = rate_limited(emulator)
        statuses = run_at_once(paced(world, slots), "kites")
        return statuses, rate_limited(emulator) - before
    finally:
        reset_faults(emulator)


def test_requests_at_once_share_the_slots_and_ideogram_refuses_none(
    world: World, emulator: RunningEmulator
) -> None:
    slots = ImageSlots(SLOTS, clock=time.monotonic)
    statuses, refused = against_the_limit(world, emulator, slots)
    assert statuses == ["STORED"] * REQUESTS * IMAGES
    assert refused == 0
    assert slots.in_use == 0


def test_without_slots_the_same_requests_meet_ideograms_limit(
    world: World, emulator: RunningEmulator
) -> None:
    """The control: the limit above is kept by the slots, not by chance."""
    statuses, refused = against_the_limit(world, emulator, None)
    assert statuses == ["STORED"] * REQUESTS * IMAGES  # the client backs off and tries again
    assert refused > 0


def test_held_counters_are_written_once_at_the_end_and_equal_a_recount(
    world: World, emulator: RunningEmulator
) -> None:
    service = paced(world, ImageSlots(SLOTS, clock=time.monotonic))
    with service.counters_held():
        statuses = run_at_once(service, "dunes")
        assert totals(world.records.counter_items()) == {}  # nothing written while held
    assert statuses == ["STORED"] * REQUESTS * IMAGES
    counted = totals(world.records.counter_items())
    assert counted == world.records.recount()
    assert counted["tag"]["dunes"]["images"] == REQUESTS * IMAGES
