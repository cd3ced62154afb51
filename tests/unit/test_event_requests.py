"""GenerationRequested details become the same generation spec as POST /generations bodies."""

from __future__ import annotations

from ideogram_assets.api.generations import GenerationRequest
from ideogram_assets.events.requests import GenerationRequested


def test_a_client_request_id_is_no_part_of_what_is_generated() -> None:
    body = {"prompt": "a red fox logo", "seed": 7, "tags": ["Brand"], "on_duplicate": "reuse"}
    detail = GenerationRequested.model_validate({**body, "client_request_id": "cms-article-4711"})
    assert detail.spec() == GenerationRequest.model_validate(body).spec()
    assert detail.on_duplicate == "reuse"
