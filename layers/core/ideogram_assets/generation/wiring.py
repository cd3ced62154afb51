"""What an execution environment builds once and reuses: the HTTP session, the AWS clients, the
price table, the record store, and the services made of them. Handlers get their collaborators
here; tests build the services with others.

Imported on a function's first request, not at cold start: it brings requests and PynamoDB.
"""

from __future__ import annotations

from functools import cache

import requests

from ideogram_assets.aws import s3_client
from ideogram_assets.config import GenerateSettings, generate_settings
from ideogram_assets.generation.ideogram_access import IdeogramKeyAccess
from ideogram_assets.generation.images import ImageStore
from ideogram_assets.generation.service import GenerationService
from ideogram_assets.generation.slots import ImageSlots
from ideogram_assets.observability import trace_requests
from ideogram_assets.pricing import PriceTable
from ideogram_assets.storage import DownloadPolicy
from ideogram_assets.wiring import record_store


@cache
def http_session() -> requests.Session:
    """One pooled session per execution environment, for Ideogram calls and image downloads."""
    trace_requests()
    return requests.Session()


def image_store(settings: GenerateSettings) -> ImageStore:
    policy = DownloadPolicy(allowed_hosts=settings.download_hosts, max_bytes=settings.max_image_bytes)
    return ImageStore(
        s3=s3_client(),
        session=http_session(),
        policy=policy,
        default_retention_class=settings.default_retention_class,
    )


@cache
def generation_service() -> GenerationService:
    """The generation service of this execution environment, built from its settings on first use."""
    return build_generation_service()


def build_generation_service(slots: ImageSlots | None = None) -> GenerationService:
    """A generation service from this environment's settings; with `slots`, its calls to Ideogram
    share that many in-flight images (the ingest, which runs a batch's requests at once)."""
    settings = generate_settings()
    return GenerationService(
        settings=settings,
        ideogram=IdeogramKeyAccess(settings, http_session()),
        records=record_store(settings),
        images=image_store(settings),
        prices=PriceTable(settings.pricing_overrides),
        slots=slots,
    )
