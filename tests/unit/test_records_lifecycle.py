"""A record's life without AWS: where an image's object lives, when its original URL expires,
and what a record says at each step (PENDING → STORED / UNSAFE / FAILED), through the
transitions of records.lifecycle applied in memory (nothing here writes to a table).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ideogram_assets.generation.origin import Origin, Source
from ideogram_assets.generation.service import Outcome
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.ideogram import GeneratedImage
from ideogram_assets.ideogram.image_urls import ASSUMED_URL_LIFETIME, url_expiry
from ideogram_assets.pricing import PriceTable
from ideogram_assets.records import lifecycle
from ideogram_assets.records.errors import InvalidTransition
from ideogram_assets.records.lifecycle import object_key
from ideogram_assets.records.model import RECORD_SORT_KEY, GenerationRecord
from ideogram_assets.records.status import Status
from ideogram_assets.retention.policy import RetentionPolicy
from ideogram_assets.storage import StoredObject

CREATED = datetime(2025, 3, 7, 9, 5, 0, 123000, tzinfo=UTC)
CREATED_ISO = "2025-03-07T09:05:00.123Z"
LATER = datetime(2025, 3, 7, 9, 5, 30, tzinfo=UTC)
LATER_ISO = "2025-03-07T09:05:30.000Z"
HASH = "ab" * 32
URL = "https://ideogram.ai/api/images/ephemeral/abc.png"
POLICY = RetentionPolicy(short_days=30, standard_days=365, grace_days=7)


def generation_request(**fields: Any) -> GenerationSpec:
    return GenerationSpec.model_validate({"prompt": "a red fox", **fields})


def new_record(
    request: GenerationSpec | None = None,
    *,
    index: int = 0,
    created: datetime = CREATED,
    retention_class: str = "standard",
    source: Source = "api",
    parent_id: str | None = None,
) -> GenerationRecord:
    return lifecycle.pending(
        request or generation_request(),
        request_id="req-1",
        index=index,
        created=created,
        prompt_hash=HASH,
        bucket="assets-bucket",
        retention_class=retention_class,
        origin=Origin(source=source, parent_id=parent_id),
    )


def _apply_result(
    record: GenerationRecord, result: GeneratedImage, created: datetime, prices: PriceTable
) -> None:
    """Ideogram's answer for one image, as the generation service records it (at LATER)."""
    price = prices.per_image(record.model, record.rendering_speed)
    expires = url_expiry(result.url, created) if result.url else created
    cost = float(price) if price is not None else None
    lifecycle.apply(
        record, lifecycle.answered(record, result, url_expires_at=expires, cost_usd=cost, now=LATER)
    )


def _mark_stored(record: GenerationRecord, stored: StoredObject) -> None:
    lifecycle.apply(record, lifecycle.stored(record, stored, LATER, POLICY))


def _mark_failed(record: GenerationRecord, kind: str, message: str) -> None:
    lifecycle.apply(record, lifecycle.failed(record, kind, message, LATER))


def image(**overrides: Any) -> GeneratedImage:
    fields: dict[str, Any] = {
        "url": URL,
        "prompt": "a red fox",
        "resolution": "1024x1024",
        "is_image_safe": True,
        "seed": 98765,
    }
    return GeneratedImage.model_validate({**fields, **overrides})


def stored_object(**overrides: Any) -> StoredObject:
    fields: dict[str, Any] = {
        "bucket": "assets-bucket",
        "key": "images/2025/03/07/x.png",
        "size_bytes": 2048,
        "sha256": "cd" * 32,
        "content_type": "image/png",
        "width": 1024,
        "height": 768,
        "etag": '"etag"',
        "version_id": "v1",
    }
    return StoredObject(**{**fields, **overrides})


# -- object_key -------------------------------------------------------------------------------


def test_object_key_is_images_slash_date_slash_id_png() -> None:
    assert object_key("abc123", CREATED) == "images/2025/03/07/abc123.png"


def test_object_key_pads_month_and_day() -> None:
    assert object_key("x", datetime(2026, 1, 2, tzinfo=UTC)) == "images/2026/01/02/x.png"


def test_object_key_uses_the_date_not_the_time() -> None:
    late = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert object_key("x", late) == "images/2025/12/31/x.png"


# -- url_expiry -------------------------------------------------------------------------------


def test_url_expiry_uses_the_urls_exp_in_unix_seconds() -> None:
    expires = url_expiry(f"{URL}?exp=1741341600&sig=00ff", CREATED)

    assert expires == datetime(2025, 3, 7, 10, 0, tzinfo=UTC)
    assert expires.tzinfo is UTC


def test_url_expiry_finds_exp_anywhere_in_the_query() -> None:
    assert url_expiry(f"{URL}?sig=00ff&exp=1741341600", CREATED) == datetime(2025, 3, 7, 10, 0, tzinfo=UTC)


def test_url_expiry_takes_the_first_exp_when_there_are_several() -> None:
    assert url_expiry(f"{URL}?exp=1741341600&exp=1", CREATED) == datetime(2025, 3, 7, 10, 0, tzinfo=UTC)


def test_url_expiry_is_in_the_timezone_of_created() -> None:
    paris = timezone(timedelta(hours=1))
    expires = url_expiry(f"{URL}?exp=1741341600", CREATED.astimezone(paris))

    assert expires.utcoffset() == timedelta(hours=1)
    assert expires == datetime(2025, 3, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(URL, id="no query"),
        pytest.param(f"{URL}?sig=00ff", id="no exp"),
        pytest.param(f"{URL}?exp=", id="empty exp"),
        pytest.param(f"{URL}?exp=soon", id="exp not a number"),
        pytest.param(f"{URL}?exp=-5", id="negative exp"),
        pytest.param(f"{URL}?exp=1741341600.5", id="fractional exp"),
        pytest.param(f"{URL}?expires=1741341600", id="another parameter"),
        pytest.param(f"{URL}#exp=1741341600", id="exp in the fragment"),
    ],
)
def test_url_expiry_without_a_usable_exp_is_created_plus_one_hour(url: str) -> None:
    assert url_expiry(url, CREATED) == CREATED + timedelta(hours=1)


def test_the_assumed_url_lifetime_is_one_hour() -> None:
    assert timedelta(hours=1) == ASSUMED_URL_LIFETIME


@pytest.mark.parametrize(
    "exp",
    [
        pytest.param("1741341600000", id="milliseconds"),
        pytest.param("99999999999999999999", id="far beyond any date"),
        pytest.param("%C2%B2", id="superscript digit"),
    ],
)
def test_url_expiry_with_an_exp_that_is_not_a_representable_time_is_created_plus_one_hour(exp: str) -> None:
    assert url_expiry(f"{URL}?exp={exp}", CREATED) == CREATED + ASSUMED_URL_LIFETIME


# -- _new_record: the PENDING crash marker ----------------------------------------------------


def test_a_new_record_is_pending_and_open_for_the_reconciler() -> None:
    record = new_record()

    assert record.status == Status.PENDING
    assert record.open_status == Status.PENDING


def test_a_new_record_has_a_fresh_hex_id_and_the_keys_derived_from_it() -> None:
    first, second = new_record(), new_record()

    assert re.fullmatch(r"[0-9a-f]{32}", first.id)
    assert first.id != second.id
    assert first.pk == f"GEN#{first.id}"
    assert first.sk == RECORD_SORT_KEY


def test_a_new_records_object_key_is_fixed_at_creation() -> None:
    record = new_record()

    assert record.bucket == "assets-bucket"
    assert record.key == f"images/2025/03/07/{record.id}.png"
    assert record.key == object_key(record.id, CREATED)


def test_a_new_record_has_created_and_updated_times_and_its_day_bucket() -> None:
    record = new_record()

    assert record.created_at == CREATED_ISO
    assert record.updated_at == CREATED_ISO
    assert record.time_bucket == "2025-03-07"


def test_a_new_record_names_its_request_position_source_and_parent() -> None:
    record = new_record(index=3, source="reproduce", parent_id="parent-gen")

    assert record.request_id == "req-1"
    assert record.index_in_request == 3
    assert record.source == "reproduce"
    assert record.parent_id == "parent-gen"
    assert record.prompt_hash == HASH


def test_a_new_record_copies_the_requested_parameters() -> None:
    record = new_record(
        generation_request(
            prompt="A Red Fox",
            negative_prompt="blurry",
            model="V_2",
            rendering_speed="TURBO",
            style_type="DESIGN",
            aspect_ratio="ASPECT_16_9",
            magic_prompt="OFF",
            seed=42,
            color_palette={"name": "PASTEL"},
        )
    )

    assert record.prompt == "A Red Fox"
    assert record.negative_prompt == "blurry"
    assert record.model == "V_2"
    assert record.rendering_speed == "TURBO"
    assert record.style_type == "DESIGN"
    assert record.aspect_ratio == "16x9"
    assert record.resolution is None
    assert record.magic_prompt == "OFF"
    assert record.color_palette == "PASTEL"


def test_a_new_record_keeps_the_requested_seed_and_has_no_result_seed_yet() -> None:
    record = new_record(generation_request(seed=42))

    assert record.requested_seed == 42
    assert record.seed is None


def test_a_new_record_leaves_unrequested_parameters_empty() -> None:
    record = new_record()

    assert record.requested_seed is None
    assert record.negative_prompt is None
    assert record.style_type is None
    assert record.magic_prompt is None
    assert record.color_palette is None
    assert record.model == "V_3"
    assert record.rendering_speed == "DEFAULT"


def test_a_new_record_stores_palette_members_as_json_data() -> None:
    record = new_record(generation_request(color_palette=[{"color_hex": "#ff0000", "color_weight": 0.5}]))

    assert record.color_palette == [{"color_hex": "#ff0000", "color_weight": 0.5}]


def test_a_new_record_without_tags_has_none_rather_than_an_empty_set() -> None:
    # DynamoDB refuses an empty string set.
    assert new_record().tags is None


def test_a_new_record_keeps_the_normalised_tags_as_a_set() -> None:
    assert new_record(generation_request(tags=["B", "a", "b"])).tags == {"a", "b"}


def test_a_new_record_takes_the_retention_class_it_is_given() -> None:
    assert new_record(retention_class="short").retention_class == "short"


def test_a_new_record_has_no_result_yet() -> None:
    record = new_record()

    assert record.is_safe is None
    assert record.original_url is None
    assert record.original_url_expires_at is None
    assert record.expanded_prompt is None
    assert record.cost_usd is None
    assert record.sha256 is None
    assert record.failure_kind is None


# -- _apply_result: a safe image --------------------------------------------------------------


def test_a_safe_image_records_what_ideogram_returned_and_stays_pending() -> None:
    record = new_record(generation_request(seed=42))

    _apply_result(record, image(seed=98765, resolution="1312x736"), CREATED, PriceTable())

    assert record.status == Status.PENDING
    assert record.open_status == Status.PENDING
    assert record.is_safe is True
    assert record.seed == 98765
    assert record.requested_seed == 42
    assert record.resolution == "1312x736"
    assert record.updated_at == LATER_ISO
    assert record.created_at == CREATED_ISO


def test_a_safe_image_keeps_its_bucket_and_key() -> None:
    record = new_record()
    key = record.key

    _apply_result(record, image(), CREATED, PriceTable())

    assert record.bucket == "assets-bucket"
    assert record.key == key


def test_a_safe_image_records_its_original_url_and_the_urls_own_expiry() -> None:
    record = new_record()
    url = f"{URL}?exp=1741341600&sig=00"

    _apply_result(record, image(url=url), CREATED, PriceTable())

    assert record.original_url == url
    assert record.original_url_expires_at == "2025-03-07T10:00:00.000Z"


def test_a_safe_image_without_exp_expires_one_hour_after_creation() -> None:
    record = new_record()

    _apply_result(record, image(url=URL), CREATED, PriceTable())

    assert record.original_url_expires_at == "2025-03-07T10:05:00.123Z"


def test_an_expanded_prompt_is_kept_when_ideogram_rewrote_the_prompt() -> None:
    record = new_record(generation_request(prompt="a red fox"))

    _apply_result(record, image(prompt="a red fox leaping through fresh snow at dawn"), CREATED, PriceTable())

    assert record.expanded_prompt == "a red fox leaping through fresh snow at dawn"
    assert record.prompt == "a red fox"


def test_no_expanded_prompt_when_ideogram_returned_the_same_prompt() -> None:
    record = new_record(generation_request(prompt="a red fox"))

    _apply_result(record, image(prompt="a red fox"), CREATED, PriceTable())

    assert record.expanded_prompt is None


def test_the_cost_is_the_price_of_the_model_and_speed() -> None:
    record = new_record(generation_request(model="V_2A", rendering_speed="TURBO"))

    _apply_result(record, image(), CREATED, PriceTable())

    assert record.cost_usd == 0.025


def test_the_cost_follows_pricing_overrides() -> None:
    record = new_record()

    _apply_result(record, image(), CREATED, PriceTable('{"V_3": {"DEFAULT": "0.07"}}'))

    assert record.cost_usd == 0.07


def test_an_unknown_price_leaves_the_cost_unknown_not_zero() -> None:
    record = new_record(generation_request(rendering_speed="BALANCED"))

    _apply_result(record, image(), CREATED, PriceTable())

    assert record.cost_usd is None


def test_the_style_ideogram_chose_replaces_the_requested_one() -> None:
    record = new_record(generation_request(style_type="AUTO"))

    _apply_result(record, image(style_type="REALISTIC"), CREATED, PriceTable())

    assert record.style_type == "REALISTIC"


def test_the_requested_style_is_kept_when_ideogram_names_none() -> None:
    record = new_record(generation_request(style_type="DESIGN"))

    _apply_result(record, image(style_type=None), CREATED, PriceTable())

    assert record.style_type == "DESIGN"


# -- _apply_result: no image to keep ----------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"is_image_safe": False, "url": None}, id="unsafe, no url"),
        pytest.param({"is_image_safe": False, "url": URL}, id="unsafe, with url"),
        pytest.param({"is_image_safe": True, "url": None}, id="safe, no url"),
        pytest.param({"is_image_safe": True, "url": ""}, id="safe, empty url"),
    ],
)
def test_an_unsafe_image_or_one_without_url_is_unsafe_closed_and_has_no_object(
    result: dict[str, Any],
) -> None:
    record = new_record()

    _apply_result(record, image(**result), CREATED, PriceTable())

    assert record.status == Status.UNSAFE
    assert record.open_status is None
    assert record.bucket is None
    assert record.key is None
    assert record.original_url is None
    assert record.original_url_expires_at is None


def test_an_unsafe_image_is_still_billed() -> None:
    record = new_record(generation_request(rendering_speed="QUALITY"))

    _apply_result(record, image(is_image_safe=False, url=None), CREATED, PriceTable())

    assert record.cost_usd == 0.09
    assert record.is_safe is False


def test_an_unsafe_image_still_records_what_ideogram_said() -> None:
    record = new_record()

    _apply_result(
        record, image(is_image_safe=False, url=None, seed=5, prompt="rewritten"), CREATED, PriceTable()
    )

    assert record.seed == 5
    assert record.resolution == "1024x1024"
    assert record.expanded_prompt == "rewritten"
    assert record.updated_at == LATER_ISO


# -- _mark_stored and _mark_failed ------------------------------------------------------------


def test_a_stored_record_is_closed_and_describes_its_object() -> None:
    record = new_record()
    _apply_result(record, image(), CREATED, PriceTable())

    _mark_stored(record, stored_object(bucket="assets-bucket", key=record.key))

    assert record.status == Status.STORED
    assert record.open_status is None
    assert record.original_url is None
    assert record.size_bytes == 2048
    assert record.sha256 == "cd" * 32
    assert record.content_type == "image/png"
    assert (record.width, record.height) == (1024, 768)
    assert record.updated_at == LATER_ISO


def test_a_failed_record_stays_open_with_its_kind_and_message() -> None:
    record = new_record()
    _apply_result(record, image(), CREATED, PriceTable())

    _mark_failed(record, "download_timeout", "the download took too long")

    assert record.status == Status.FAILED
    assert record.open_status == Status.FAILED
    assert record.failure_kind == "download_timeout"
    assert record.failure_message == "the download took too long"
    assert record.updated_at == LATER_ISO


def test_a_failed_record_keeps_its_original_url_for_the_reconciler() -> None:
    record = new_record()
    _apply_result(record, image(), CREATED, PriceTable())

    _mark_failed(record, "s3", "boom")

    assert record.original_url == URL
    assert record.key is not None


@pytest.mark.parametrize(("length", "kept"), [(0, 0), (499, 499), (500, 500), (501, 500), (10_000, 500)])
def test_a_failure_message_is_cut_to_500_characters(length: int, kept: int) -> None:
    record = new_record()
    message = "".join(chr(ord("a") + index % 26) for index in range(length))

    _mark_failed(record, "s3", message)

    assert record.failure_message == message[:kept]


# -- Outcome.complete ---------------------------------------------------------------


def outcome(*statuses: Status) -> Outcome:
    records = []
    for index, status in enumerate(statuses):
        record = new_record(index=index)
        record.status = status
        records.append(record)
    return Outcome(request_id="req-1", records=tuple(records))


@pytest.mark.parametrize(
    "statuses",
    [
        (Status.STORED,),
        (Status.UNSAFE,),
        (Status.STORED, Status.UNSAFE, Status.STORED),
    ],
)
def test_an_outcome_is_complete_when_every_image_is_stored_or_unsafe(statuses: tuple[Status, ...]) -> None:
    assert outcome(*statuses).complete is True


@pytest.mark.parametrize(
    "statuses",
    [
        (Status.PENDING,),
        (Status.FAILED,),
        (Status.STORED, Status.PENDING),
        (Status.UNSAFE, Status.STORED, Status.FAILED),
    ],
)
def test_an_outcome_is_incomplete_while_any_image_is_pending_or_failed(statuses: tuple[Status, ...]) -> None:
    assert outcome(*statuses).complete is False


# -- transitions the record's life does not allow ----------------------------------------------


def _stored_record() -> GenerationRecord:
    record = new_record()
    _apply_result(record, image(), CREATED, PriceTable())
    _mark_stored(record, stored_object(key=record.key))
    return record


def test_a_stored_record_cannot_fail_afterwards() -> None:
    record = _stored_record()

    with pytest.raises(InvalidTransition, match="STORED to FAILED"):
        lifecycle.failed(record, "timeout", "late", LATER)
    assert record.status == Status.STORED


def test_an_unsafe_record_cannot_be_stored() -> None:
    record = new_record()
    _apply_result(record, image(is_image_safe=False, url=None), CREATED, PriceTable())

    with pytest.raises(InvalidTransition, match="UNSAFE to STORED"):
        lifecycle.stored(record, stored_object(key=record.key), LATER, POLICY)


def test_a_record_cannot_be_stored_under_another_key() -> None:
    record = new_record()

    with pytest.raises(InvalidTransition, match="another object"):
        lifecycle.stored(record, stored_object(key="images/elsewhere.png"), LATER, POLICY)


def test_a_failed_record_can_still_be_stored_later() -> None:
    record = new_record()
    _apply_result(record, image(), CREATED, PriceTable())
    _mark_failed(record, "truncated", "cut short")

    _mark_stored(record, stored_object(key=record.key))

    assert record.status == Status.STORED
    assert record.open_status is None
    assert record.failure_kind is None


def test_a_transition_names_the_status_the_table_must_hold() -> None:
    record = new_record()

    transition = lifecycle.failed(record, "timeout", "slow", LATER)

    assert (transition.before, transition.after) == (Status.PENDING, Status.FAILED)
    assert record.status == Status.PENDING  # nothing changes until the transition is applied


def test_an_unsaved_answer_is_written_together_with_the_next_change() -> None:
    record = new_record()
    answer = lifecycle.answered(record, image(seed=7), url_expires_at=LATER, cost_usd=0.06, now=LATER)
    stored = lifecycle.stored(record, stored_object(key=record.key), LATER, POLICY)

    combined = answer.then(stored)

    assert (combined.before, combined.after) == (Status.PENDING, Status.STORED)
    assert combined.changes["seed"] == 7
    assert combined.changes["sha256"] == "cd" * 32
    assert combined.changes["original_url"] is None


def test_transitions_that_do_not_follow_each_other_cannot_be_combined() -> None:
    record = new_record()
    unsafe = lifecycle.answered(
        record, image(is_image_safe=False, url=None), url_expires_at=LATER, cost_usd=None, now=LATER
    )
    failed = lifecycle.failed(record, "timeout", "slow", LATER)

    with pytest.raises(InvalidTransition):
        unsafe.then(failed)


def test_an_outcome_survives_the_idempotency_store_as_json() -> None:
    record = new_record(generation_request(tags=["spring", "team-a"], color_palette="PASTEL", seed=5))
    _apply_result(record, image(seed=5), CREATED, PriceTable())
    outcome = Outcome(request_id="req-1", records=(record,))

    replayed = Outcome.from_json(json.loads(json.dumps(outcome.to_json())))

    assert replayed.request_id == "req-1"
    [again] = replayed.records
    written = {name: value for name, value in record.attribute_values.items() if value is not None}
    assert again.attribute_values == written
