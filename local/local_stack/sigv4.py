"""Verifies AWS Signature Version 4 on requests to the local gateway.

Production routes use the HTTP API's IAM authorizer: every request is SigV4-signed for the
`execute-api` service. The local gateway enforces the same rule against the local caller's
credentials, recomputing the signature with botocore's own signer. The local Lambda Invoke API
checks its requests the same way, for the `lambda` service.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
MAX_CLOCK_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed_headers>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureError(Exception):
    """The request is not signed, or not signed by a known caller."""


@dataclass(frozen=True)
class CallerCredentials:
    access_key_id: str
    secret_access_key: str
    account_id: str
    user_arn: str


@dataclass(frozen=True)
class VerifiedCaller:
    access_key_id: str
    account_id: str
    user_arn: str


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    callers: Mapping[str, CallerCredentials],
    now: datetime | None = None,
    service: str = SERVICE,
) -> VerifiedCaller:
    """Returns the caller whose credentials signed the request, or raises SignatureError."""
    lowered = {name.lower(): value for name, value in headers.items()}
    match = _AUTHORIZATION.match(lowered.get("authorization", "").strip())
    if match is None:
        raise SignatureError("Missing Authentication Token")
    scope = (match["credential"].split("/") + [""] * 5)[:5]
    access_key_id, date, scope_region, scope_service, terminator = scope
    if terminator != "aws4_request" or scope_service != service or scope_region != region:
        raise SignatureError(f"Credential should be scoped to a valid region and the {service} service")
    caller = callers.get(access_key_id)
    if caller is None:
        raise SignatureError("The security token included in the request is invalid")
    amz_date = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("Missing or malformed X-Amz-Date") from None
    if not amz_date.startswith(date) or abs((now or datetime.now(UTC)) - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureError("Signature expired or not yet valid")

    signed_names = match["signed_headers"].split(";")
    if "host" not in signed_names:
        raise SignatureError("The host header must be signed")
    missing = [name for name in signed_names if name not in lowered]
    if missing:
        raise SignatureError(f"Signed headers missing from the request: {', '.join(missing)}")
    # botocore's signer takes a signed x-amz-content-sha256 as the payload hash on trust; AWS
    # hashes the body it received (UNSIGNED-PAYLOAD is S3's alone), so a claim must match it.
    claimed_hash = lowered.get("x-amz-content-sha256") if "x-amz-content-sha256" in signed_names else None
    if claimed_hash is not None and claimed_hash != hashlib.sha256(body).hexdigest():
        raise SignatureError("The request signature we calculated does not match the signature you provided")
    request = AWSRequest(
        method=method, url=url, data=body, headers={name: lowered[name] for name in signed_names}
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(caller.access_key_id, caller.secret_access_key, lowered.get("x-amz-security-token")),
        service,
        region,
    )
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError("The request signature we calculated does not match the signature you provided")
    return VerifiedCaller(access_key_id=access_key_id, account_id=caller.account_id, user_arn=caller.user_arn)


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    caller: CallerCredentials,
    service: str = SERVICE,
) -> dict[str, str]:
    """Headers of a request signed by caller (what an AWS SDK or `curl --aws-sigv4` sends)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(caller.access_key_id, caller.secret_access_key), service, region).add_auth(request)
    return dict(request.headers.items())
