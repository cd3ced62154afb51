"""The payload hash in a signature is always the hash of the body received, as execute-api computes it."""

from __future__ import annotations

import hashlib

import pytest

from local_stack.sigv4 import CallerCredentials, SignatureError, sign, verify

CALLER = CallerCredentials("AKIALOCALTEST", "s3cret", "111122223333", "arn:aws:iam::111122223333:user/dev")
CALLERS = {CALLER.access_key_id: CALLER}
URL = "http://127.0.0.1:9000/generations"
BODY = b'{"prompt": "a red fox"}'


def _signed(claimed_hash: str) -> dict[str, str]:
    headers = sign("POST", URL, {"x-amz-content-sha256": claimed_hash}, BODY, "us-east-1", CALLER)
    return {**headers, "Host": "127.0.0.1:9000"}


def test_unsigned_payload_is_refused() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify("POST", URL, _signed("UNSIGNED-PAYLOAD"), BODY, "us-east-1", CALLERS)


def test_a_signed_hash_of_the_body_is_accepted_and_binds_the_body() -> None:
    headers = _signed(hashlib.sha256(BODY).hexdigest())
    assert verify("POST", URL, headers, BODY, "us-east-1", CALLERS).access_key_id == CALLER.access_key_id
    with pytest.raises(SignatureError, match="does not match"):
        verify("POST", URL, headers, b'{"prompt": "a blue fox"}', "us-east-1", CALLERS)


def test_an_unsigned_content_hash_header_does_not_replace_the_body_hash() -> None:
    headers = sign("POST", URL, {}, BODY, "us-east-1", CALLER)
    headers = {**headers, "Host": "127.0.0.1:9000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    assert verify("POST", URL, headers, BODY, "us-east-1", CALLERS).account_id == CALLER.account_id
    with pytest.raises(SignatureError, match="does not match"):
        verify("POST", URL, headers, b"{}", "us-east-1", CALLERS)
