"""Which API the command line calls and how it signs: the local stack's endpoints file or --api."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.target import find_endpoints_file, region_from_url, resolve_target

ENDPOINTS = {
    "api": "http://127.0.0.1:41231/",
    "region": "us-east-1",
    "credentials": {"access_key_id": "AKIALOCALEXAMPLE0001", "secret_access_key": "local-secret"},
}


def _write(path: Path, content: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.fixture
def no_aws_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: no profile, key, region or config file from the machine."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance role


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "eu-west-1"),
        ("https://a1b2c3d4e5.execute-api.us-gov-west-1.amazonaws.com/prod/", "us-gov-west-1"),
        ("https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        (
            "https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.ap-southeast-2.vpce.amazonaws.com",
            "ap-southeast-2",
        ),
        ("HTTPS://A1B2C3D4E5.EXECUTE-API.SA-EAST-1.AMAZONAWS.COM", "sa-east-1"),
        ("https://images.example.com", None),
        ("http://127.0.0.1:41231", None),
        ("https://execute-api.eu-west-1.amazonaws.com.evil.example", None),
    ],
)
def test_the_region_comes_from_an_execute_api_hostname_only(url: str, region: str | None) -> None:
    assert region_from_url(url) == region


def test_the_endpoints_file_is_found_here_or_in_a_parent_directory(tmp_path: Path) -> None:
    nested = tmp_path / "project" / "docs" / "deep"
    nested.mkdir(parents=True)
    assert find_endpoints_file(nested) is None
    written = _write(tmp_path / "project" / ".local" / "endpoints.json", ENDPOINTS)
    assert find_endpoints_file(nested) == written
    assert find_endpoints_file(tmp_path / "project") == written
    assert find_endpoints_file(tmp_path) is None


def test_the_local_stack_is_signed_with_its_own_caller(tmp_path: Path) -> None:
    _write(tmp_path / ".local" / "endpoints.json", ENDPOINTS)
    target = resolve_target(api_url=None, endpoints_file=None, profile=None, region=None, cwd=tmp_path)
    assert target.api_url == "http://127.0.0.1:41231"
    assert target.region == "us-east-1"
    assert target.credentials.access_key == "AKIALOCALEXAMPLE0001"
    assert target.credentials.secret_key == "local-secret"
    assert target.local
    assert target.lambda_url is None  # an endpoints file from before the Lambda Invoke API


def test_the_local_stacks_lambda_invoke_api_is_read_from_the_endpoints_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "endpoints.json", {**ENDPOINTS, "lambda": "http://127.0.0.1:40517/"})
    target = resolve_target(api_url=None, endpoints_file=path, profile=None, region=None, cwd=tmp_path)
    assert target.lambda_url == "http://127.0.0.1:40517"
    broken = _write(tmp_path / "broken.json", {**ENDPOINTS, "lambda": "127.0.0.1:40517"})
    with pytest.raises(CliError) as raised:
        resolve_target(api_url=None, endpoints_file=broken, profile=None, region=None, cwd=tmp_path)
    assert raised.value.code is ExitCode.AUTH_CONFIG


def test_an_explicit_endpoints_file_wins_over_the_one_found(tmp_path: Path) -> None:
    _write(tmp_path / ".local" / "endpoints.json", ENDPOINTS)
    other = _write(tmp_path / "other.json", {**ENDPOINTS, "api": "http://127.0.0.1:5000"})
    target = resolve_target(api_url=None, endpoints_file=other, profile=None, region=None, cwd=tmp_path)
    assert target.api_url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("not json", "cannot read"),
        ([], "not a JSON object"),
        ({**ENDPOINTS, "api": ""}, "'api'"),
        ({**ENDPOINTS, "region": None}, "'region'"),
        ({**ENDPOINTS, "credentials": {"access_key_id": "AKIA"}}, "'credentials.secret_access_key'"),
        ({**ENDPOINTS, "api": "ftp://127.0.0.1"}, "not an http(s) URL"),
    ],
)
def test_an_unusable_endpoints_file_is_a_configuration_error(
    tmp_path: Path, content: object, complaint: str
) -> None:
    path = _write(tmp_path / "endpoints.json", content)
    with pytest.raises(CliError) as raised:
        resolve_target(api_url=None, endpoints_file=path, profile=None, region=None, cwd=tmp_path)
    assert raised.value.code is ExitCode.AUTH_CONFIG
    assert complaint in raised.value.message


def test_no_endpoints_file_says_how_to_start_the_local_stack(tmp_path: Path) -> None:
    with pytest.raises(CliError) as raised:
        resolve_target(api_url=None, endpoints_file=None, profile=None, region=None, cwd=tmp_path)
    assert raised.value.code is ExitCode.AUTH_CONFIG
    assert raised.value.hint is not None
    assert "make up" in raised.value.hint
    with pytest.raises(CliError) as missing:
        resolve_target(
            api_url=None, endpoints_file=tmp_path / "gone.json", profile=None, region=None, cwd=tmp_path
        )
    assert missing.value.code is ExitCode.AUTH_CONFIG


@pytest.mark.usefixtures("no_aws_configuration")
def test_api_uses_the_credential_chain_and_the_hostnames_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / ".local" / "endpoints.json", ENDPOINTS)  # ignored: --api wins
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-environment")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")  # the profile's default, not the API's
    url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/"
    target = resolve_target(api_url=url, endpoints_file=None, profile=None, region=None, cwd=tmp_path)
    assert target.api_url == url.rstrip("/")
    assert target.region == "eu-central-1"
    assert target.credentials.access_key == "AKIAFROMENVIRONMENT1"
    assert (target.local, target.lambda_url) == (False, None)  # Lambda's own endpoint
    explicit = resolve_target(
        api_url=url, endpoints_file=None, profile=None, region="eu-west-3", cwd=tmp_path
    )
    assert explicit.region == "eu-west-3"


@pytest.mark.usefixtures("no_aws_configuration")
def test_api_on_a_custom_domain_takes_the_region_from_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-environment")
    url = "https://images.example.com"
    with pytest.raises(CliError) as raised:
        resolve_target(api_url=url, endpoints_file=None, profile=None, region=None, cwd=tmp_path)
    assert raised.value.code is ExitCode.AUTH_CONFIG
    assert "region" in raised.value.message
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert resolve_target(
        api_url=url, endpoints_file=None, profile=None, region=None, cwd=tmp_path
    ).region == ("ap-south-1")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")  # as the AWS CLI: AWS_REGION first
    assert resolve_target(
        api_url=url, endpoints_file=None, profile=None, region=None, cwd=tmp_path
    ).region == ("ap-northeast-1")


@pytest.mark.usefixtures("no_aws_configuration")
def test_a_named_profile_is_read_from_the_aws_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        tmp_path / "no-credentials",
        "[assets]\naws_access_key_id = AKIAFROMPROFILE00001\naws_secret_access_key = from-profile\n",
    )
    _write(tmp_path / "no-config", "[profile assets]\nregion = eu-north-1\n")
    target = resolve_target(
        api_url="https://api.example.com", endpoints_file=None, profile="assets", region=None, cwd=tmp_path
    )
    assert (target.credentials.access_key, target.region) == ("AKIAFROMPROFILE00001", "eu-north-1")
    with pytest.raises(CliError) as unknown:
        resolve_target(
            api_url="https://api.example.com", endpoints_file=None, profile="nope", region=None, cwd=tmp_path
        )
    assert unknown.value.code is ExitCode.AUTH_CONFIG
    assert "nope" in unknown.value.message


@pytest.mark.usefixtures("no_aws_configuration")
def test_no_aws_credentials_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(CliError) as raised:
        resolve_target(
            api_url="https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
            endpoints_file=None,
            profile=None,
            region=None,
            cwd=tmp_path,
        )
    assert raised.value.code is ExitCode.AUTH_CONFIG
    assert "credentials" in raised.value.message


def test_api_must_be_an_http_url(tmp_path: Path) -> None:
    with pytest.raises(CliError) as raised:
        resolve_target(
            api_url="localhost:3000", endpoints_file=None, profile=None, region="us-east-1", cwd=tmp_path
        )
    assert raised.value.code is ExitCode.AUTH_CONFIG


def test_the_command_line_needs_none_of_the_local_stack() -> None:
    # It must run on a machine that has only the deployed API: the local stack is dev-only.
    script = (
        "import sys, ideogram_assets_cli.app, ideogram_assets_cli.api_client, ideogram_assets_cli.target\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('local_stack', 'moto')], sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
