"""Ideogram clients holding the current API key, wherever the key lives.

Locally the key comes from the IDEOGRAM_API_KEY environment variable; in AWS from the Secrets
Manager secret named by IDEOGRAM_API_KEY_SECRET_NAME, cached for five minutes by Powertools and
read again at once when Ideogram refuses it (the secret was rotated). The key is never logged
or echoed in an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ideogram_assets.config import ConfigurationError, GenerateSettings

if TYPE_CHECKING:
    import requests

    from ideogram_assets.ideogram import IdeogramClient

SECRET_MAX_AGE_SECONDS = 300


def _checked_key(value: str) -> str:
    """The key, stripped; refused (never echoed) when empty or holding control characters,
    which HTTP libraries would otherwise reject with the header's value in their message."""
    key = value.strip()
    if not key or any(ord(character) < 0x20 or ord(character) == 0x7F for character in key):
        raise ConfigurationError("the Ideogram API key is empty or malformed")
    return key


class IdeogramKeyAccess:
    """Gives the generation service a client for the current key; one per execution environment."""

    def __init__(
        self, settings: GenerateSettings, session: requests.Session, environ: Mapping[str, str] | None = None
    ) -> None:
        self._settings = settings
        self._session = session
        self._environ = os.environ if environ is None else environ

    @property
    def _local_key(self) -> str:
        return self._environ.get("IDEOGRAM_API_KEY", "")

    @property
    def can_refresh(self) -> bool:
        """Whether reading the key again may give another one (a secret, not a fixed variable)."""
        return not self._local_key.strip() and self._settings.ideogram_api_key_secret_name is not None

    def key(self, *, refreshed: bool = False) -> str:
        if self._local_key.strip():
            return _checked_key(self._local_key)
        secret_name = self._settings.ideogram_api_key_secret_name
        if not secret_name:
            raise ConfigurationError("no Ideogram API key: set IDEOGRAM_API_KEY_SECRET_NAME")
        # Imported here: only the generate path needs it, and only on a cache miss.
        from aws_lambda_powertools.utilities import parameters

        try:
            secret = parameters.get_secret(secret_name, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=refreshed)
        except parameters.exceptions.GetParameterError:
            # Missing, access denied or throttled: an operator's problem; the cause is in the logs.
            raise ConfigurationError("the Ideogram API key secret could not be read") from None
        if not isinstance(secret, str):
            raise ConfigurationError("the Ideogram API key secret is not a string")
        return _checked_key(secret)

    def client(self, *, refreshed: bool = False) -> IdeogramClient:
        from ideogram_assets.ideogram import IdeogramClient

        return IdeogramClient(
            self._settings.ideogram_base_url, self.key(refreshed=refreshed), session=self._session
        )
