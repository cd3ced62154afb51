"""SigV4-signed HTTP calls to the API (IAM auth, service `execute-api`), with botocore's own signer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from ideogram_assets_cli import __version__
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.target import Target

SERVICE = "execute-api"
USER_AGENT = f"ideogram-assets-cli/{__version__}"


@dataclass(frozen=True)
class ApiReply:
    status: int
    body: Any  # the parsed JSON body, or None when it was not JSON
    text: str
    headers: dict[str, str]  # names in lower case

    @property
    def message(self) -> str:
        """The API's error message ({"message": ...}), or the start of whatever else it sent."""
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return str(self.body["message"])
        return self.text.strip().splitlines()[0][:200] if self.text.strip() else ""

    @property
    def field_errors(self) -> list[str]:
        """{"errors": [{"field", "message"}]} as "field: message" lines."""
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        if not isinstance(errors, list):
            return []
        return [
            f"{error.get('field', '?')}: {error.get('message', '')}"
            for error in errors
            if isinstance(error, dict)
        ]


def path_segment(value: str) -> str:
    """A value placed in a URL path, so an id can never reach another route."""
    return quote(value, safe="")


def query_string(params: dict[str, str]) -> str:
    """`?name=value&...` for the parameters given (none: ""), encoded as SigV4 encodes them: every
    byte but A-Z a-z 0-9 - _ . ~ (a space is %20, never "+"), so the query signed is the query
    any gateway recomputes."""
    pairs = (f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in params.items())
    return "?" + "&".join(pairs) if params else ""


class ApiClient:
    def __init__(
        self, target: Target, *, timeout_seconds: float, session: requests.Session | None = None
    ) -> None:
        self.target = target
        self.timeout_seconds = timeout_seconds
        self.session = session or requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> ApiReply:
        """`follow_redirects=False` returns a redirect itself (its `location` header), as a route
        that answers with a link does."""
        url = self.target.api_url + path + query_string(params or {})
        data = json.dumps(body).encode("utf-8") if body is not None else b""
        all_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        # What is signed is exactly what is sent: the same URL, body bytes and headers.
        signed = AWSRequest(method=method, url=url, data=data, headers=all_headers)
        SigV4Auth(self.target.credentials, SERVICE, self.target.region).add_auth(signed)
        try:
            reply = self.session.request(
                method,
                url,
                data=data,
                headers=dict(signed.headers.items()),
                timeout=self.timeout_seconds,
                allow_redirects=follow_redirects,
            )
        except requests.Timeout:
            raise CliError(
                f"no answer from {self.target.description} within {self.timeout_seconds:g} s",
                ExitCode.UNAVAILABLE,
            ) from None
        except requests.ConnectionError:
            raise CliError(f"cannot reach {self.target.description}", ExitCode.UNAVAILABLE) from None
        except requests.RequestException as error:
            raise CliError(
                f"request to {self.target.description} failed: {error}", ExitCode.UNAVAILABLE
            ) from None
        try:
            parsed: Any = reply.json()
        except ValueError:
            parsed = None
        return ApiReply(
            status=reply.status_code,
            body=parsed,
            text=reply.text,
            headers={name.lower(): value for name, value in reply.headers.items()},
        )
