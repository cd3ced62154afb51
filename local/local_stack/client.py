"""A requests auth that signs calls to the API with SigV4, as production callers do."""

from __future__ import annotations

from typing import Any

import requests

from local_stack.sigv4 import CallerCredentials, sign


class SigV4Auth(requests.auth.AuthBase):
    """Signs each request for the `execute-api` service with the given caller's credentials."""

    def __init__(self, caller: CallerCredentials, region: str) -> None:
        self.caller = caller
        self.region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body: Any = request.body or b""
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        headers = {name: value for name, value in request.headers.items() if name.lower() == "content-type"}
        signed = sign(str(request.method), str(request.url), headers, payload, self.region, self.caller)
        request.headers.update(signed)
        return request
