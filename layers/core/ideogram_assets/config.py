"""Settings: one base every function shares, one subclass per function that needs more.

Read from the environment on first use (never at import), once per execution environment, and
validated then: a missing or malformed setting is a ConfigurationError the API maps to a 503.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Self, TypedDict

from ideogram_assets.retention.policy import RETENTION_CLASSES as RETENTION_CLASS_NAMES
from ideogram_assets.retention.policy import RetentionPolicy

# Where Ideogram serves images from; a download from any other host is refused.
IDEOGRAM_IMAGE_HOSTS = frozenset({"ideogram.ai", "*.ideogram.ai"})
DEFAULT_IDEOGRAM_BASE_URL = "https://api.ideogram.ai"
DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 * 1024
DEFAULT_PRESIGNED_URL_SECONDS = 900
RETENTION_CLASSES = frozenset(RETENTION_CLASS_NAMES)
# template.yaml's parameter defaults, for tools run outside a function.
DEFAULT_SHORT_RETENTION_DAYS = 30
DEFAULT_STANDARD_RETENTION_DAYS = 365
DEFAULT_RETENTION_GRACE_DAYS = 7


class ConfigurationError(RuntimeError):
    """The function's environment is missing a setting it needs, or holds a malformed one."""


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _positive_int(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} is not a number: {raw!r}") from None
    if value < minimum:
        wanted = "positive" if minimum == 1 else f"at least {minimum}"
        raise ConfigurationError(f"{name} must be {wanted}, got {value}")
    return value


def _hosts(value: str) -> frozenset[str]:
    return frozenset(host.strip().lower() for host in value.split(",") if host.strip())


class _BaseFields(TypedDict):
    stage: str
    table_name: str
    bucket_name: str
    region: str
    presigned_url_seconds: int
    retention: RetentionPolicy


@dataclass(frozen=True, slots=True)
class Settings:
    """What every function needs: where the records and the images live, and how links are signed."""

    stage: str
    table_name: str
    bucket_name: str
    region: str
    presigned_url_seconds: int
    retention: RetentionPolicy

    @classmethod
    def _base_fields(cls, environ: Mapping[str, str]) -> _BaseFields:
        # Lambda always sets AWS_REGION; the SDK's own fallback covers tools run elsewhere.
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise ConfigurationError("environment variable AWS_REGION is not set")
        return _BaseFields(
            stage=_required(environ, "STAGE"),
            table_name=_required(environ, "TABLE_NAME"),
            bucket_name=_required(environ, "BUCKET_NAME"),
            region=region,
            presigned_url_seconds=_positive_int(
                environ, "PRESIGNED_URL_SECONDS", DEFAULT_PRESIGNED_URL_SECONDS
            ),
            retention=RetentionPolicy(
                # 0: a short image goes with the sweep of the day it was generated.
                short_days=_positive_int(
                    environ, "SHORT_RETENTION_DAYS", DEFAULT_SHORT_RETENTION_DAYS, minimum=0
                ),
                standard_days=_positive_int(
                    environ, "STANDARD_RETENTION_DAYS", DEFAULT_STANDARD_RETENTION_DAYS
                ),
                grace_days=_positive_int(environ, "RETENTION_GRACE_DAYS", DEFAULT_RETENTION_GRACE_DAYS),
            ),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        return cls(**cls._base_fields(os.environ if environ is None else environ))


@dataclass(frozen=True, slots=True)
class GenerateSettings(Settings):
    """What a function that calls Ideogram and stores images needs on top of the base."""

    ideogram_base_url: str
    ideogram_api_key_secret_name: str | None
    pricing_overrides: str | None
    default_retention_class: str
    # Ideogram's hosts, plus IDEOGRAM_EXTRA_DOWNLOAD_HOSTS (set only by the local stack).
    download_hosts: frozenset[str]
    max_image_bytes: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        retention_class = env.get("DEFAULT_RETENTION_CLASS", "").strip() or "standard"
        if retention_class not in RETENTION_CLASSES:
            raise ConfigurationError(
                f"DEFAULT_RETENTION_CLASS must be one of {sorted(RETENTION_CLASSES)}, got {retention_class!r}"
            )
        return cls(
            **cls._base_fields(env),
            ideogram_base_url=(env.get("IDEOGRAM_BASE_URL", "").strip() or DEFAULT_IDEOGRAM_BASE_URL).rstrip(
                "/"
            ),
            ideogram_api_key_secret_name=env.get("IDEOGRAM_API_KEY_SECRET_NAME", "").strip() or None,
            pricing_overrides=env.get("PRICING_OVERRIDES", "").strip() or None,
            default_retention_class=retention_class,
            download_hosts=IDEOGRAM_IMAGE_HOSTS | _hosts(env.get("IDEOGRAM_EXTRA_DOWNLOAD_HOSTS", "")),
            max_image_bytes=_positive_int(env, "MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES),
        )


@dataclass(frozen=True, slots=True)
class SearchSettings(Settings):
    """What a function that searches records (and issues cursors) needs on top of the base."""

    cursor_secret_arn: str  # the Secrets Manager secret whose value signs search cursors

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        return cls(**cls._base_fields(env), cursor_secret_arn=_required(env, "CURSOR_SECRET_ARN"))


@dataclass(frozen=True, slots=True)
class IngestSettings(Settings):
    """The queue the ingest reads (it generates with the generate settings, from the same environment)."""

    queue_url: str
    max_receives: int  # receives before the dead-letter queue: the last try is final
    inflight_limit: int  # Ideogram's images in progress the ingest may use, all environments together
    maximum_concurrency: int  # the mapping's ScalingConfig.MaximumConcurrency: environments at once

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        settings = cls(
            **cls._base_fields(env),
            queue_url=_required(env, "GENERATION_REQUESTS_QUEUE_URL"),
            max_receives=_positive_int(env, "MAX_RECEIVES", 5),
            inflight_limit=_positive_int(env, "IDEOGRAM_INFLIGHT_LIMIT", 10),
            maximum_concurrency=_positive_int(env, "INGEST_MAXIMUM_CONCURRENCY", 2),
        )
        if settings.maximum_concurrency > settings.inflight_limit:
            raise ConfigurationError(
                f"INGEST_MAXIMUM_CONCURRENCY ({settings.maximum_concurrency}) is above "
                f"IDEOGRAM_INFLIGHT_LIMIT ({settings.inflight_limit}): environments would share "
                "less than one image slot each"
            )
        return settings

    @property
    def image_slots(self) -> int:
        """Images one environment may have in progress: together they stay within the limit."""
        return self.inflight_limit // self.maximum_concurrency


@dataclass(frozen=True, slots=True)
class PublishSettings(Settings):
    """The bus the results go to."""

    event_bus_name: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        return cls(**cls._base_fields(env), event_bus_name=_required(env, "EVENT_BUS_NAME"))


@cache
def base_settings() -> Settings:
    """This execution environment's base settings, validated on first use."""
    return Settings.from_env()


@cache
def generate_settings() -> GenerateSettings:
    """This execution environment's settings for generating and storing, validated on first use."""
    return GenerateSettings.from_env()


@cache
def search_settings() -> SearchSettings:
    """This execution environment's settings for searching, validated on first use."""
    return SearchSettings.from_env()


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings.from_env()


@cache
def publish_settings() -> PublishSettings:
    return PublishSettings.from_env()
