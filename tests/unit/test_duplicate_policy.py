"""The duplicate policy of the generation service: a request whose prompt and parameters are
stored already is rejected naming the stored images, answered with the newest stored request
(nothing generated), or generated anyway; with nothing stored, every policy generates. A fake
record store answers the prompt-hash query; Ideogram is never reached here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest

from ideogram_assets.generation.duplicates import MAX_NAMED_DUPLICATES, DuplicatePolicy
from ideogram_assets.generation.errors import DuplicateGeneration
from ideogram_assets.generation.service import GenerationService
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.observability import metrics
from ideogram_assets.prompt_hash import prompt_hash
from ideogram_assets.records.model import GenerationRecord
from tests.unit.search_records import record

if TYPE_CHECKING:
    from ideogram_assets.config import GenerateSettings
    from ideogram_assets.generation.images import ImageStore
    from ideogram_assets.generation.service import IdeogramAccess
    from ideogram_assets.pricing import PriceTable
    from ideogram_assets.records.repository import RecordStore

SPEC = GenerationSpec(prompt="a red fox logo", seed=7, num_images=3, tags=["brand"])
DIGEST = prompt_hash(generate_params(SPEC))
NEWEST = "0" * 31 + "2"
OLDER = "0" * 31 + "1"


class WouldGenerate(Exception):
    """Raised where generation would start: the policy let the request through."""


class Ideogram:
    can_refresh = False

    def client(self, *, refreshed: bool = False) -> Any:
        raise WouldGenerate


@dataclass
class StoredRecords:
    """The STORED records of a prompt hash, newest first, as the ByPromptHash index returns them."""

    stored: list[GenerationRecord]
    queries: list[tuple[str, int]] = field(default_factory=list)

    def stored_with_prompt_hash(self, digest: str, limit: int) -> list[GenerationRecord]:
        self.queries.append((digest, limit))
        return [item for item in self.stored if item.prompt_hash == digest][:limit]


@dataclass(frozen=True)
class Budget:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def stored(generation_id: str, request_id: str, index: int, created_at: str) -> GenerationRecord:
    return record(
        generation_id,
        request_id=request_id,
        index_in_request=index,
        created_at=created_at,
        prompt_hash=DIGEST,
    )


def service(records: StoredRecords) -> GenerationService:
    unused = object()  # touched only once generation starts, which these tests never reach
    return GenerationService(
        settings=cast("GenerateSettings", unused),
        ideogram=cast("IdeogramAccess", Ideogram()),
        records=cast("RecordStore", records),
        images=cast("ImageStore", unused),
        prices=cast("PriceTable", unused),
    )


def two_requests() -> StoredRecords:
    """The newest request's images in the index's order (same instant: any order), then an older one."""
    return StoredRecords(
        [
            stored("c" * 32, NEWEST, 2, "2026-11-27T10:00:00.000Z"),
            stored("a" * 32, NEWEST, 0, "2026-11-27T10:00:00.000Z"),
            stored("b" * 32, NEWEST, 1, "2026-11-27T10:00:00.000Z"),
            stored("d" * 32, OLDER, 0, "2026-11-26T10:00:00.000Z"),
        ]
    )


@pytest.fixture(autouse=True)
def _no_metrics_left() -> Iterator[None]:
    yield
    metrics.clear_metrics()


def test_reject_names_every_stored_duplicate_newest_first() -> None:
    records = two_requests()

    with pytest.raises(DuplicateGeneration) as refused:
        service(records).generate(SPEC, budget=Budget(), on_duplicate="reject")

    assert refused.value.existing == ["c" * 32, "a" * 32, "b" * 32, "d" * 32]
    assert str(refused.value).startswith("4 stored image(s) have this prompt and these parameters already")
    assert records.queries == [(DIGEST, MAX_NAMED_DUPLICATES)]


def test_reuse_answers_with_the_newest_request_in_index_order() -> None:
    records = two_requests()

    outcome = service(records).generate(SPEC, budget=Budget(), on_duplicate="reuse")

    assert outcome.reused is True
    assert outcome.request_id == NEWEST
    assert [item.id for item in outcome.records] == ["a" * 32, "b" * 32, "c" * 32]
    assert [item.index_in_request for item in outcome.records] == [0, 1, 2]
    assert outcome.complete is True
    assert records.queries == [(DIGEST, MAX_NAMED_DUPLICATES)]


def test_reuse_of_a_request_with_one_image_stored_answers_that_image() -> None:
    records = StoredRecords([stored("e" * 32, NEWEST, 1, "2026-11-27T10:00:00.000Z")])

    outcome = service(records).generate(SPEC, budget=Budget(), on_duplicate="reuse")

    assert [(item.id, item.index_in_request) for item in outcome.records] == [("e" * 32, 1)]


@pytest.mark.parametrize("policy", ["reuse", "reject"])
def test_with_nothing_stored_every_policy_generates(policy: DuplicatePolicy) -> None:
    records = StoredRecords([])

    with pytest.raises(WouldGenerate):
        service(records).generate(SPEC, budget=Budget(), on_duplicate=policy)

    assert records.queries == [(DIGEST, MAX_NAMED_DUPLICATES)]


def test_other_prompts_stored_are_no_duplicates() -> None:
    records = StoredRecords([record("f" * 32, prompt_hash="ff" * 32)])

    with pytest.raises(WouldGenerate):
        service(records).generate(SPEC, budget=Budget(), on_duplicate="reject")


def test_generate_never_looks_for_duplicates() -> None:
    records = two_requests()

    with pytest.raises(WouldGenerate):
        service(records).generate(SPEC, budget=Budget())

    assert records.queries == []


def test_the_duplicate_key_ignores_tags_and_image_count() -> None:
    """The same picture asked for with other labels or more copies is still a duplicate."""
    records = two_requests()
    relabelled = SPEC.model_copy(update={"tags": ["other"], "num_images": 1})

    with pytest.raises(DuplicateGeneration):
        service(records).generate(relabelled, budget=Budget(), on_duplicate="reject")

    assert records.queries == [(DIGEST, MAX_NAMED_DUPLICATES)]
