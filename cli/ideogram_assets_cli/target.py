"""Which API the commands talk to, and with which SigV4 credentials and region.

By default the local stack that `make up` started: its `.local/endpoints.json` names the API,
the region and the only caller its gateway accepts. With `--api URL`, a deployed stack signed with
the standard AWS credential chain (profile, environment, SSO, instance role...). Nothing here
imports the local stack: the command line works against AWS on a machine that has none of it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from botocore.credentials import Credentials

ENDPOINTS_RELATIVE_PATH = Path(".local") / "endpoints.json"
ENDPOINTS_ENV = "IDEOGRAM_ASSETS_ENDPOINTS"
API_ENV = "IDEOGRAM_ASSETS_API"

# {api-id}.execute-api.{region}.amazonaws.com[.cn], also the private-API (VPC endpoint) form.
_EXECUTE_API_HOST = re.compile(
    r"\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$"
)


@dataclass(frozen=True)
class Target:
    """Where requests go and how they are signed."""

    api_url: str  # without a trailing slash
    region: str
    credentials: Credentials
    description: str  # for messages: "the local stack (path)" or the URL
    local: bool = False  # the local stack (functions named by logical id), not a deployed stack
    # The local stack's Lambda Invoke API; None: Lambda's own endpoint for the region.
    lambda_url: str | None = None
    # The certificate authority of the local AWS emulator, which serves the presigned links to
    # images and exports over HTTPS; None: the system's trust store, as for S3 itself.
    links_ca_bundle: str | None = None

    @property
    def links_verify(self) -> str | bool:
        """`verify=` for requests that follow a presigned link."""
        return self.links_ca_bundle or True


def region_from_url(url: str) -> str | None:
    """The region in an execute-api hostname, or None for any other host (custom domain, local)."""
    match = _EXECUTE_API_HOST.search((urlsplit(url).hostname or "").lower())
    return match["region"] if match else None


def find_endpoints_file(start: Path) -> Path | None:
    """The nearest `.local/endpoints.json` in `start` or a directory above it."""
    for directory in (start, *start.parents):
        candidate = directory / ENDPOINTS_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    return None


def _checked_api_url(url: str, source: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"{source}: {url!r} is not an http(s) URL", ExitCode.AUTH_CONFIG)
    return url.strip().rstrip("/")


def _text(endpoints: dict[str, Any], *keys: str) -> str:
    value: Any = endpoints
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise ValueError(f"it has no {'.'.join(keys)!r}")
    return value


def local_target(path: Path) -> Target:
    """The local stack described by an endpoints file that `make up` wrote."""
    from botocore.credentials import Credentials  # botocore loads on use: --help stays quick

    try:
        endpoints = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(
            f"no endpoints file at {path}", ExitCode.AUTH_CONFIG, hint="start the local stack with `make up`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read the endpoints file {path}: {error}", ExitCode.AUTH_CONFIG) from None
    try:
        if not isinstance(endpoints, dict):
            raise ValueError("it is not a JSON object")
        api_url = _text(endpoints, "api")
        region = _text(endpoints, "region")
        credentials = Credentials(
            _text(endpoints, "credentials", "access_key_id"),
            _text(endpoints, "credentials", "secret_access_key"),
        )
        # Optional here: only the commands that invoke a function need it (and say so).
        lambda_url = _text(endpoints, "lambda") if "lambda" in endpoints else None
        links_ca_bundle = _text(endpoints, "aws_ca_bundle") if "aws_ca_bundle" in endpoints else None
    except ValueError as error:
        raise CliError(f"the endpoints file {path} is not usable: {error}", ExitCode.AUTH_CONFIG) from None
    return Target(
        api_url=_checked_api_url(api_url, str(path)),
        region=region,
        credentials=credentials,
        description=f"the local stack ({path})",
        local=True,
        lambda_url=_checked_api_url(lambda_url, str(path)) if lambda_url else None,
        links_ca_bundle=links_ca_bundle,
    )


def aws_target(api_url: str, *, profile: str | None, region: str | None) -> Target:
    """A deployed API, signed with the standard AWS credential chain."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    url = _checked_api_url(api_url, "--api")
    try:
        session = botocore.session.Session(profile=profile)
        credentials = session.get_credentials()
        # The signature must name the API's own region: an execute-api hostname says which it is,
        # whatever region the profile defaults to; a custom domain leaves it to the configuration.
        # AWS_REGION first, as the AWS CLI reads it (botocore itself only knows AWS_DEFAULT_REGION).
        chosen_region = (
            region
            or region_from_url(url)
            or os.environ.get("AWS_REGION")
            or session.get_config_variable("region")
        )
    except BotoCoreError as error:
        raise CliError(f"AWS configuration: {error}", ExitCode.AUTH_CONFIG) from None
    if credentials is None:
        raise CliError(
            "no AWS credentials found",
            ExitCode.AUTH_CONFIG,
            hint="use --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    if not chosen_region:
        raise CliError(
            f"cannot tell the region of {url}", ExitCode.AUTH_CONFIG, hint="pass --region or set AWS_REGION"
        )
    return Target(api_url=url, region=str(chosen_region), credentials=credentials, description=url)


def resolve_target(
    *,
    api_url: str | None,
    endpoints_file: Path | None,
    profile: str | None,
    region: str | None,
    cwd: Path,
) -> Target:
    """--api wins; then an explicit endpoints file; then the nearest one from `cwd` upward."""
    if api_url:
        return aws_target(api_url, profile=profile, region=region)
    if endpoints_file is not None:
        return local_target(endpoints_file)
    found = find_endpoints_file(cwd)
    if found is None:
        raise CliError(
            f"no local stack found ({ENDPOINTS_RELATIVE_PATH} in {cwd} or above)",
            ExitCode.AUTH_CONFIG,
            hint=f"run `make up`, or pass --endpoints PATH ({ENDPOINTS_ENV}) or --api URL ({API_ENV})",
        )
    return local_target(found)
