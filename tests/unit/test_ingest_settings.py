"""IngestSettings: the queue, the receives, and each environment's share of Ideogram's slots."""

from __future__ import annotations

import pytest

from ideogram_assets.config import ConfigurationError, IngestSettings

BASE = {
    "STAGE": "dev",
    "AWS_REGION": "us-east-1",
    "TABLE_NAME": "generations",
    "BUCKET_NAME": "assets-bucket",
    "GENERATION_REQUESTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/requests",
}


def settings(**extra: str) -> IngestSettings:
    return IngestSettings.from_env(BASE | extra)


def test_the_template_defaults_give_each_of_two_environments_five_slots() -> None:
    ingest = settings()
    assert (ingest.inflight_limit, ingest.maximum_concurrency, ingest.image_slots) == (10, 2, 5)


@pytest.mark.parametrize(
    ("limit", "concurrency", "slots"), [("10", "3", 3), ("10", "10", 1), ("25", "2", 12), ("2", "2", 1)]
)
def test_environments_together_stay_within_the_limit(limit: str, concurrency: str, slots: int) -> None:
    ingest = settings(IDEOGRAM_INFLIGHT_LIMIT=limit, INGEST_MAXIMUM_CONCURRENCY=concurrency)
    assert ingest.image_slots == slots
    assert ingest.image_slots * ingest.maximum_concurrency <= ingest.inflight_limit


def test_more_environments_than_slots_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="above IDEOGRAM_INFLIGHT_LIMIT"):
        settings(IDEOGRAM_INFLIGHT_LIMIT="4", INGEST_MAXIMUM_CONCURRENCY="5")


@pytest.mark.parametrize("name", ["IDEOGRAM_INFLIGHT_LIMIT", "INGEST_MAXIMUM_CONCURRENCY"])
def test_a_slot_setting_must_be_a_positive_number(name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        settings(**{name: "0"})
    with pytest.raises(ConfigurationError, match=name):
        settings(**{name: "ten"})
