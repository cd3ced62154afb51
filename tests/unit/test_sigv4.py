"""The gateway accepts only requests SigV4-signed by a known caller for execute-api."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_stack.sigv4 import CallerCredentials, SignatureError, sign, verify

CALLER = CallerCredentials("AKIALOCALTEST", "s3cret", "111122223333", "arn:aws:iam::111122223333:user/dev")
CALLERS = {CALLER.access_key_id: CALLER}
URL = "http://127.0.0.1:9000/generations?tag=a&tag=b&q=red%20fox"
BODY = b'{"prompt": "a red fox"}'


def _signed(url: str = URL, body: bytes = BODY, caller: CallerCredentials = CALLER) -> dict[str, str]:
    headers = sign("POST", url, {"content-type": "application/json"}, body, "us-east-1", caller)
    return {**headers, "Host": "127.0.0.1:9000"}


def test_a_correctly_signed_request_names_its_caller() -> None:
    caller = verify("POST", URL, _signed(), BODY, "us-east-1", CALLERS)
    assert caller.access_key_id == CALLER.access_key_id
    assert caller.user_arn == CALLER.user_arn


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: {k: v for k, v in h.items() if k != "Authorization"}, "Missing Authentication Token"),
        (lambda h: {**h, "Authorization": h["Authorization"][:-4] + "0000"}, "does not match"),
        (lambda h: {**h, "content-type": "text/plain"}, "does not match"),
        (lambda h: {**h, "Host": "evil.example:9000"}, "does not match"),
        (lambda h: {**h, "Authorization": h["Authorization"].replace("execute-api", "s3")}, "execute-api"),
        (lambda h: {**h, "Authorization": h["Authorization"].replace("us-east-1", "eu-west-1")}, "region"),
        (lambda h: {k: v for k, v in h.items() if k != "X-Amz-Date"}, "X-Amz-Date"),
    ],
)
def test_tampered_or_incomplete_requests_are_refused(change, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SignatureError, match=message):
        verify("POST", URL, change(_signed()), BODY, "us-east-1", CALLERS)


def test_a_changed_body_or_query_is_refused() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify("POST", URL, _signed(), b'{"prompt": "a blue fox"}', "us-east-1", CALLERS)
    with pytest.raises(SignatureError, match="does not match"):
        verify("POST", URL.replace("tag=b", "tag=c"), _signed(), BODY, "us-east-1", CALLERS)


def test_an_unknown_caller_is_refused() -> None:
    stranger = CallerCredentials("AKIASTRANGER", "other", "999999999999", "arn:aws:iam::999999999999:user/x")
    with pytest.raises(SignatureError, match="invalid"):
        verify("POST", URL, _signed(caller=stranger), BODY, "us-east-1", CALLERS)


def test_a_stale_signature_is_refused() -> None:
    later = datetime.now(UTC) + timedelta(minutes=6)
    with pytest.raises(SignatureError, match="expired"):
        verify("POST", URL, _signed(), BODY, "us-east-1", CALLERS, now=later)
