"""The publisher's collaborators, built once per execution environment."""

from __future__ import annotations

from functools import cache

import boto3

from ideogram_assets.aws import CLIENT_CONFIG, dynamodb_client
from ideogram_assets.config import publish_settings
from ideogram_assets.events.publisher import Publisher


@cache
def publisher() -> Publisher:
    settings = publish_settings()
    return Publisher(
        table=settings.table_name,
        dynamodb=dynamodb_client(),
        events=boto3.client("events", config=CLIENT_CONFIG),
        bus_name=settings.event_bus_name,
    )
