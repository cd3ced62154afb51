"""The search filters as the commands send them: GET /generations's query (signed as sent), and
POST /exports's `filters` member; the pages of a search followed to the last."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.credentials import Credentials
from requests.adapters import BaseAdapter

from ideogram_assets.ideogram import ModelVersion, StyleType
from ideogram_assets.records.status import Status
from ideogram_assets_cli.api_client import ApiClient, ApiReply, query_string
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.filters import SearchOptions
from ideogram_assets_cli.paging import search_pages
from ideogram_assets_cli.target import Target
from local_stack.sigv4 import CallerCredentials, verify

CALLER = CallerCredentials(
    "AKIAEXAMPLE000000001", "secret", "123456789012", "arn:aws:iam::123456789012:user/t"
)


class Replies(BaseAdapter):
    """Answers every request with the next JSON body of a script, and keeps what was sent."""

    def __init__(self, bodies: list[Any]) -> None:
        super().__init__()
        self.bodies = list(bodies)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(self.bodies.pop(0)).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def _client(adapter: Replies) -> ApiClient:
    session = requests.Session()
    session.mount("https://", adapter)
    target = Target(
        api_url="https://api.example.com/prod",
        region="us-east-1",
        credentials=Credentials(CALLER.access_key_id, CALLER.secret_access_key),
        description="test",
    )
    return ApiClient(target, timeout_seconds=5, session=session)


def test_words_from_arguments_and_q_join_and_every_filter_becomes_a_parameter() -> None:
    options = SearchOptions.of(
        words=["red", "fox"],
        q="  logo  mark ",
        tags=["brand", "q3"],
        seed=42,
        model=ModelVersion.V_3,
        style=StyleType.REALISTIC,
        status=Status.STORED,
        starred=False,
        created_from="2025-01-01",
        created_to="2025-01-31T23:59:59Z",
    )
    assert options.query_params() == {
        "q": "red fox logo mark",
        "tags": "brand,q3",
        "seed": "42",
        "model": "V_3",
        "style_type": "REALISTIC",
        "status": "STORED",
        "starred": "false",
        "from": "2025-01-01",
        "to": "2025-01-31T23:59:59Z",
    }
    assert options.fields() == {
        "q": "red fox logo mark",
        "tags": ["brand", "q3"],
        "seed": 42,
        "model": "V_3",
        "style_type": "REALISTIC",
        "status": "STORED",
        "starred": False,
        "from": "2025-01-01",
        "to": "2025-01-31T23:59:59Z",
    }


def test_no_filter_is_no_parameter() -> None:
    assert SearchOptions.of().query_params() == {}
    assert SearchOptions.of().fields() == {}
    assert SearchOptions.of(starred=True, seed=0).query_params() == {"starred": "true", "seed": "0"}


def test_the_query_is_encoded_as_sigv4_encodes_it() -> None:
    assert query_string({}) == ""
    assert query_string({"q": "café au lait", "tags": "a,b", "to": "2025-01-01T00:00:00+00:00"}) == (
        "?q=caf%C3%A9%20au%20lait&tags=a%2Cb&to=2025-01-01T00%3A00%3A00%2B00%3A00"
    )
    assert query_string({"cursor": "a/b=c~d_e.f-g"}) == "?cursor=a%2Fb%3Dc~d_e.f-g"


def test_a_search_request_is_signed_over_the_query_it_sends() -> None:
    adapter = Replies([{"items": [], "nextCursor": None}])
    params = SearchOptions.of(words=["l'été", "à", "Paris!"], tags=["a", "b"]).query_params()
    _client(adapter).request("GET", "/generations", params={**params, "limit": "5"})
    [sent] = adapter.sent
    assert sent.url is not None
    assert "%20" in sent.url
    assert "+" not in sent.url.split("?", 1)[1]
    caller = verify(
        sent.method or "",
        sent.url,
        {**sent.headers, "Host": "api.example.com"},  # added on the wire by the HTTP client
        b"",
        "us-east-1",
        {CALLER.access_key_id: CALLER},
    )
    assert caller.access_key_id == CALLER.access_key_id


def _fail(reply: ApiReply) -> CliError:
    return CliError(f"HTTP {reply.status}", ExitCode.UNAVAILABLE)


def test_pages_are_followed_with_each_cursor_until_there_is_none() -> None:
    adapter = Replies(
        [
            {"items": [{"id": "1"}, {"id": "2"}], "nextCursor": "c1"},
            {"items": [{"id": "3"}], "nextCursor": "c2"},
            {"items": [], "nextCursor": None},
        ]
    )
    pages = list(search_pages(_client(adapter), {"tags": "x"}, limit=2, fail=_fail))
    assert [[item["id"] for item in page.items] for page in pages] == [["1", "2"], ["3"], []]
    queries = [str(request.url).split("?", 1)[1] for request in adapter.sent]
    assert queries == ["tags=x&limit=2", "tags=x&limit=2&cursor=c1", "tags=x&limit=2&cursor=c2"]


def test_a_cursor_handed_out_twice_stops_the_paging() -> None:
    adapter = Replies([{"items": [], "nextCursor": "same"}, {"items": [], "nextCursor": "same"}])
    with pytest.raises(CliError) as raised:
        list(search_pages(_client(adapter), {}, fail=_fail))
    assert raised.value.code is ExitCode.UNEXPECTED


@pytest.mark.parametrize(
    "body", [{"nextCursor": None}, {"items": "x"}, {"items": [1]}, {"items": [], "nextCursor": 3}, []]
)
def test_a_reply_that_is_not_a_page_is_an_unexpected_answer(body: Any) -> None:
    with pytest.raises(CliError) as raised:
        list(search_pages(_client(Replies([body])), {}, fail=_fail))
    assert raised.value.code is ExitCode.UNEXPECTED
