"""Settings read from the environment once per execution environment (cold start)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

# Where Ideogram serves images from; a download from any other host is refused.
IDEOGRAM_IMAGE_HOSTS = frozenset({"ideogram.ai", "*.ideogram.ai"})
DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 * 1024


class ConfigurationError(RuntimeError):
    """The function's environment is missing a setting it needs."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _hosts(value: str) -> frozenset[str]:
    return frozenset(host.strip().lower() for host in value.split(",") if host.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    stage: str
    table_name: str
    bucket_name: str
    region: str
    ideogram_base_url: str
    ideogram_api_key_secret_name: str | None
    pricing_overrides: str | None
    default_retention_class: str
    # Ideogram's hosts, plus IDEOGRAM_EXTRA_DOWNLOAD_HOSTS (set only by the local stack).
    download_hosts: frozenset[str]
    max_image_bytes: int
    presigned_url_seconds: int

    @classmethod
    def from_env(cls) -> Settings:
        try:
            max_image_bytes = int(os.environ.get("MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES))
            presigned_url_seconds = int(os.environ.get("PRESIGNED_URL_SECONDS", 900))
        except ValueError as error:
            raise ConfigurationError(f"a numeric setting is not a number: {error}") from None
        if max_image_bytes <= 0 or presigned_url_seconds <= 0:
            raise ConfigurationError("MAX_IMAGE_BYTES and PRESIGNED_URL_SECONDS must be positive")
        return cls(
            stage=os.environ.get("STAGE", "dev"),
            table_name=_required("TABLE_NAME"),
            bucket_name=_required("BUCKET_NAME"),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            ideogram_base_url=os.environ.get("IDEOGRAM_BASE_URL", "https://api.ideogram.ai").rstrip("/"),
            ideogram_api_key_secret_name=os.environ.get("IDEOGRAM_API_KEY_SECRET_NAME") or None,
            pricing_overrides=os.environ.get("PRICING_OVERRIDES") or None,
            default_retention_class=os.environ.get("DEFAULT_RETENTION_CLASS", "standard"),
            download_hosts=IDEOGRAM_IMAGE_HOSTS | _hosts(os.environ.get("IDEOGRAM_EXTRA_DOWNLOAD_HOSTS", "")),
            max_image_bytes=max_image_bytes,
            presigned_url_seconds=presigned_url_seconds,
        )


@cache
def get_settings() -> Settings:
    """The settings of this execution environment, validated on first use."""
    return Settings.from_env()


def ideogram_api_key(settings: Settings) -> str:
    """The Ideogram key: from the environment locally, from Secrets Manager in AWS (cached 5 min)."""
    local_key = os.environ.get("IDEOGRAM_API_KEY", "")
    if local_key.strip():
        return _checked_key(local_key)
    if not settings.ideogram_api_key_secret_name:
        raise ConfigurationError("no Ideogram API key: set IDEOGRAM_API_KEY_SECRET_NAME")
    # Imported here: only the generate path needs it, and only on a cache miss.
    from aws_lambda_powertools.utilities import parameters

    try:
        secret = parameters.get_secret(settings.ideogram_api_key_secret_name, max_age=300)
    except parameters.exceptions.GetParameterError:
        # Missing, access denied or throttled: an operator's problem; the cause is in the logs.
        raise ConfigurationError("the Ideogram API key secret could not be read") from None
    if not isinstance(secret, str):
        raise ConfigurationError("the Ideogram API key secret is not a string")
    return _checked_key(secret)


def _checked_key(value: str) -> str:
    """The key, stripped; refused (never echoed) when empty or holding control characters,
    which HTTP libraries would otherwise reject with the header's value in their message."""
    key = value.strip()
    if not key or any(ord(character) < 0x20 or ord(character) == 0x7F for character in key):
        raise ConfigurationError("the Ideogram API key is empty or malformed")
    return key
