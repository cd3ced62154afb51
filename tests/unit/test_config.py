"""Settings from the environment: required names, defaults, download hosts, numbers that must be
numbers, and where the Ideogram key comes from (the Secrets Manager path needs AWS: see the e2e
tests). GenerateSettings holds the base settings every function shares plus its own."""

from __future__ import annotations

import pytest
import requests

from ideogram_assets.config import (
    DEFAULT_MAX_IMAGE_BYTES,
    IDEOGRAM_IMAGE_HOSTS,
    ConfigurationError,
    GenerateSettings,
    Settings,
)
from ideogram_assets.generation.ideogram_access import IdeogramKeyAccess
from ideogram_assets.retention.policy import RetentionPolicy


def ideogram_api_key(settings: GenerateSettings) -> str:
    return IdeogramKeyAccess(settings, requests.Session()).key()


SETTING_NAMES = (
    "STAGE",
    "TABLE_NAME",
    "BUCKET_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "IDEOGRAM_BASE_URL",
    "IDEOGRAM_API_KEY",
    "IDEOGRAM_API_KEY_SECRET_NAME",
    "PRICING_OVERRIDES",
    "DEFAULT_RETENTION_CLASS",
    "IDEOGRAM_EXTRA_DOWNLOAD_HOSTS",
    "MAX_IMAGE_BYTES",
    "PRESIGNED_URL_SECONDS",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with only the required settings; tests add or remove the rest."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("TABLE_NAME", "generations")
    monkeypatch.setenv("BUCKET_NAME", "assets-bucket")
    return monkeypatch


# -- required settings ------------------------------------------------------------------------


def test_table_and_bucket_names_are_read_from_the_environment(env: pytest.MonkeyPatch) -> None:
    settings = GenerateSettings.from_env()

    assert settings.table_name == "generations"
    assert settings.bucket_name == "assets-bucket"


@pytest.mark.parametrize("name", ["STAGE", "TABLE_NAME", "BUCKET_NAME"])
def test_a_missing_required_setting_raises_configuration_error_naming_it(
    env: pytest.MonkeyPatch, name: str
) -> None:
    env.delenv(name)

    with pytest.raises(ConfigurationError, match=f"environment variable {name} is not set"):
        GenerateSettings.from_env()


@pytest.mark.parametrize("name", ["STAGE", "TABLE_NAME", "BUCKET_NAME"])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_or_blank_required_setting_counts_as_missing(
    env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    env.setenv(name, value)

    with pytest.raises(ConfigurationError, match=name):
        GenerateSettings.from_env()


def test_required_settings_are_trimmed(env: pytest.MonkeyPatch) -> None:
    env.setenv("TABLE_NAME", "  generations \n")

    assert GenerateSettings.from_env().table_name == "generations"


def test_configuration_error_is_a_runtime_error() -> None:
    assert issubclass(ConfigurationError, RuntimeError)


def test_no_region_at_all_raises_configuration_error(env: pytest.MonkeyPatch) -> None:
    env.delenv("AWS_REGION")

    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        GenerateSettings.from_env()


def test_an_unknown_retention_class_raises_configuration_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("DEFAULT_RETENTION_CLASS", "forever")

    with pytest.raises(ConfigurationError, match="DEFAULT_RETENTION_CLASS"):
        GenerateSettings.from_env()


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_numeric_setting_must_be_positive(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("MAX_IMAGE_BYTES", value)

    with pytest.raises(ConfigurationError, match="must be positive"):
        GenerateSettings.from_env()


def test_an_empty_numeric_setting_takes_its_default(env: pytest.MonkeyPatch) -> None:
    env.setenv("PRESIGNED_URL_SECONDS", "")

    assert GenerateSettings.from_env().presigned_url_seconds == 900


def test_the_base_settings_are_all_a_read_only_function_needs() -> None:
    environ = {"STAGE": "prod", "AWS_REGION": "eu-west-1", "TABLE_NAME": "t", "BUCKET_NAME": "b"}

    settings = Settings.from_env(environ)

    assert settings == Settings(
        stage="prod",
        table_name="t",
        bucket_name="b",
        region="eu-west-1",
        presigned_url_seconds=900,
        retention=RetentionPolicy(short_days=30, standard_days=365, grace_days=7),
    )
    assert not hasattr(settings, "ideogram_base_url")


def test_generate_settings_are_base_settings_too() -> None:
    environ = {"STAGE": "dev", "AWS_REGION": "us-east-1", "TABLE_NAME": "t", "BUCKET_NAME": "b"}

    assert isinstance(GenerateSettings.from_env(environ), Settings)


# -- defaults ---------------------------------------------------------------------------------


def test_optional_settings_have_defaults(env: pytest.MonkeyPatch) -> None:
    settings = GenerateSettings.from_env()

    assert settings.ideogram_base_url == "https://api.ideogram.ai"
    assert settings.ideogram_api_key_secret_name is None
    assert settings.pricing_overrides is None
    assert settings.default_retention_class == "standard"
    assert settings.download_hosts == IDEOGRAM_IMAGE_HOSTS
    assert settings.max_image_bytes == DEFAULT_MAX_IMAGE_BYTES == 64 * 1024 * 1024
    assert settings.presigned_url_seconds == 900


def test_optional_settings_are_read_when_set(env: pytest.MonkeyPatch) -> None:
    env.setenv("STAGE", "prod")
    env.setenv("IDEOGRAM_API_KEY_SECRET_NAME", "ideogram/api-key")
    env.setenv("PRICING_OVERRIDES", '{"V_3": {"TURBO": 0.025}}')
    env.setenv("DEFAULT_RETENTION_CLASS", "permanent")
    env.setenv("MAX_IMAGE_BYTES", "1048576")
    env.setenv("PRESIGNED_URL_SECONDS", "60")

    settings = GenerateSettings.from_env()

    assert settings.stage == "prod"
    assert settings.ideogram_api_key_secret_name == "ideogram/api-key"
    assert settings.pricing_overrides == '{"V_3": {"TURBO": 0.025}}'
    assert settings.default_retention_class == "permanent"
    assert settings.max_image_bytes == 1048576
    assert settings.presigned_url_seconds == 60


@pytest.mark.parametrize("name", ["IDEOGRAM_API_KEY_SECRET_NAME", "PRICING_OVERRIDES"])
def test_an_empty_optional_name_means_not_set(env: pytest.MonkeyPatch, name: str) -> None:
    env.setenv(name, "")
    settings = GenerateSettings.from_env()

    assert settings.ideogram_api_key_secret_name is None
    assert settings.pricing_overrides is None


def test_the_base_url_loses_its_trailing_slashes(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDEOGRAM_BASE_URL", "http://127.0.0.1:4010//")

    assert GenerateSettings.from_env().ideogram_base_url == "http://127.0.0.1:4010"


def test_aws_region_wins_over_aws_default_region(env: pytest.MonkeyPatch) -> None:
    env.setenv("AWS_REGION", "eu-west-1")
    env.setenv("AWS_DEFAULT_REGION", "us-west-2")

    assert GenerateSettings.from_env().region == "eu-west-1"


def test_aws_default_region_is_used_when_aws_region_is_not_set(env: pytest.MonkeyPatch) -> None:
    env.delenv("AWS_REGION")
    env.setenv("AWS_DEFAULT_REGION", "us-west-2")

    assert GenerateSettings.from_env().region == "us-west-2"


def test_settings_are_immutable(env: pytest.MonkeyPatch) -> None:
    settings = GenerateSettings.from_env()

    with pytest.raises(AttributeError):
        setattr(settings, "table_name", "other")  # noqa: B010 -- the assignment is the test


# -- download hosts ---------------------------------------------------------------------------


def test_ideograms_image_hosts_are_always_allowed() -> None:
    assert frozenset({"ideogram.ai", "*.ideogram.ai"}) == IDEOGRAM_IMAGE_HOSTS


def test_extra_download_hosts_are_added_to_ideograms(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDEOGRAM_EXTRA_DOWNLOAD_HOSTS", "localhost,127.0.0.1")

    assert GenerateSettings.from_env().download_hosts == IDEOGRAM_IMAGE_HOSTS | {"localhost", "127.0.0.1"}


def test_extra_download_hosts_are_trimmed_lower_cased_and_empty_entries_dropped(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("IDEOGRAM_EXTRA_DOWNLOAD_HOSTS", " Images.Example.TEST , ,localhost,, ")

    assert GenerateSettings.from_env().download_hosts == IDEOGRAM_IMAGE_HOSTS | {
        "images.example.test",
        "localhost",
    }


@pytest.mark.parametrize("value", ["", " ", ",,"])
def test_no_extra_download_hosts_leaves_only_ideograms(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("IDEOGRAM_EXTRA_DOWNLOAD_HOSTS", value)

    assert GenerateSettings.from_env().download_hosts == IDEOGRAM_IMAGE_HOSTS


def test_extra_download_hosts_cannot_remove_ideograms(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDEOGRAM_EXTRA_DOWNLOAD_HOSTS", "ideogram.ai")

    assert GenerateSettings.from_env().download_hosts == IDEOGRAM_IMAGE_HOSTS


# -- numeric settings -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MAX_IMAGE_BYTES", "PRESIGNED_URL_SECONDS"])
@pytest.mark.parametrize("value", ["lots", "1.5", "64MiB", "0x10"])
def test_a_numeric_setting_that_is_not_a_whole_number_raises_configuration_error(
    env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    env.setenv(name, value)

    with pytest.raises(ConfigurationError, match=f"{name} is not a number"):
        GenerateSettings.from_env()


def test_a_numeric_setting_may_have_surrounding_whitespace(env: pytest.MonkeyPatch) -> None:
    env.setenv("PRESIGNED_URL_SECONDS", " 300 ")

    assert GenerateSettings.from_env().presigned_url_seconds == 300


def test_a_bad_number_does_not_chain_the_parser_trace(env: pytest.MonkeyPatch) -> None:
    env.setenv("MAX_IMAGE_BYTES", "lots")

    with pytest.raises(ConfigurationError) as caught:
        GenerateSettings.from_env()

    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# -- the Ideogram API key ---------------------------------------------------------------------


def test_ideogram_api_key_from_the_environment_wins(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDEOGRAM_API_KEY", "  local-key  ")
    env.setenv("IDEOGRAM_API_KEY_SECRET_NAME", "ideogram/api-key")

    assert ideogram_api_key(GenerateSettings.from_env()) == "local-key"


def test_no_key_and_no_secret_name_raises_configuration_error(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="IDEOGRAM_API_KEY_SECRET_NAME"):
        ideogram_api_key(GenerateSettings.from_env())


def test_a_blank_key_counts_as_no_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("IDEOGRAM_API_KEY", "   ")

    with pytest.raises(ConfigurationError, match="no Ideogram API key"):
        ideogram_api_key(GenerateSettings.from_env())


def test_retention_days_come_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("SHORT_RETENTION_DAYS", "3")
    env.setenv("STANDARD_RETENTION_DAYS", "90")
    env.setenv("RETENTION_GRACE_DAYS", "2")

    assert Settings.from_env().retention == RetentionPolicy(short_days=3, standard_days=90, grace_days=2)
