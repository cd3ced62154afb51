"""Collaborators every function shares, built once per execution environment (the generation
service's own live in generation/wiring.py). Imported on first use: it loads PynamoDB."""

from __future__ import annotations

from functools import cache

from ideogram_assets.aws import dynamodb_client
from ideogram_assets.config import Settings
from ideogram_assets.records.repository import RecordStore


@cache
def record_store(settings: Settings) -> RecordStore:
    """The generation records of the function's table."""
    return RecordStore(settings.table_name, settings.region, dynamodb_client())
