"""The duplicate policy over HTTP (generate, reuse, reject), finding duplicates by prompt hash,
and reproduction from a stored record, on the local stack with calls counted at the emulator."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from local_stack.client import SigV4Auth
from local_stack.stack import LocalStack
from tests.e2e._helpers import assert_stored_as_recorded, generate, ideogram_calls

pytestmark = pytest.mark.usefixtures("faults_cleared")


def _auth(stack: LocalStack) -> SigV4Auth:
    return SigV4Auth(stack.caller, stack.options.region)


def reproduce(stack: LocalStack, generation_id: str, key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else None
    url = f"{stack.api_url}/generations/{generation_id}/reproduce"
    return requests.post(url, headers=headers, auth=_auth(stack), timeout=90)


def body(prompt: str, **fields: Any) -> dict[str, Any]:
    return {"prompt": prompt, "seed": 77, "magic_prompt": "OFF", **fields}


def test_reuse_returns_the_stored_images_without_calling_ideogram(stack: LocalStack) -> None:
    prompt = f"a brass compass {uuid.uuid4().hex[:8]}"
    first = generate(stack, **body(prompt, num_images=2))
    assert first.status_code == 201, first.text
    calls = ideogram_calls(stack)

    again = generate(stack, **body(prompt, num_images=2), on_duplicate="reuse")
    assert again.status_code == 200, again.text
    assert again.json()["reused"] is True
    assert [g["id"] for g in again.json()["generations"]] == [g["id"] for g in first.json()["generations"]]
    assert again.json()["generations"][0]["imageUrl"]
    assert ideogram_calls(stack) == calls

    # Case and spacing do not make another prompt.
    shouted = generate(stack, **body("  " + prompt.upper() + " ", num_images=2), on_duplicate="reuse")
    assert shouted.status_code == 200
    assert ideogram_calls(stack) == calls


def test_reject_names_the_stored_images_and_generate_makes_new_ones(stack: LocalStack) -> None:
    prompt = f"a glass teapot {uuid.uuid4().hex[:8]}"
    first = generate(stack, **body(prompt))
    stored_id = first.json()["generations"][0]["id"]
    calls = ideogram_calls(stack)

    refused = generate(stack, **body(prompt), on_duplicate="reject")
    assert refused.status_code == 409, refused.text
    assert refused.json()["existing"] == [stored_id]
    assert ideogram_calls(stack) == calls

    again = generate(stack, **body(prompt), on_duplicate="generate")
    assert again.status_code == 201
    assert ideogram_calls(stack) == calls + 1
    assert again.json()["generations"][0]["id"] != stored_id

    # Another seed is another request: nothing to reject.
    other = generate(stack, **body(prompt, seed=78), on_duplicate="reject")
    assert other.status_code == 201

    # The search route finds the duplicates by their hash, newest first.
    digest = first.json()["generations"][0]["promptHash"]
    found = requests.get(
        f"{stack.api_url}/generations", params={"prompt_hash": digest}, auth=_auth(stack), timeout=30
    ).json()
    assert [item["id"] for item in found["items"]] == [again.json()["generations"][0]["id"], stored_id]


def test_reuse_with_nothing_stored_generates(stack: LocalStack) -> None:
    reply = generate(stack, **body(f"a felt hat {uuid.uuid4().hex[:8]}"), on_duplicate="reuse")
    assert reply.status_code == 201
    assert reply.json()["reused"] is False


def test_an_unknown_duplicate_policy_is_refused(stack: LocalStack) -> None:
    reply = generate(stack, prompt="a stone bridge", on_duplicate="sometimes")
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "on_duplicate"


def test_reproduce_gives_the_same_bytes_from_the_expanded_prompt_and_seed(stack: LocalStack) -> None:
    tag = f"t{uuid.uuid4().hex[:10]}"
    original = generate(stack, prompt="a lighthouse keeper's cat", magic_prompt="ON", tags=[tag])
    assert original.status_code == 201, original.text
    parent = original.json()["generations"][0]
    assert parent["expandedPrompt"] != parent["prompt"]

    reply = reproduce(stack, parent["id"])
    assert reply.status_code == 201, reply.text
    [child] = reply.json()["generations"]
    assert child["parentId"] == parent["id"]
    assert child["source"] == "reproduce"
    assert child["prompt"] == parent["expandedPrompt"]
    assert child["seed"] == parent["seed"]
    assert sorted(child["tags"]) == sorted([tag, "reproduced"])
    assert child["sha256"] == parent["sha256"]
    assert child["matchesParent"] is True
    assert assert_stored_as_recorded(stack, child) == assert_stored_as_recorded(stack, parent)


def test_reproduce_of_an_unknown_or_unanswered_generation_is_refused(stack: LocalStack) -> None:
    assert reproduce(stack, "0" * 32).status_code == 404
    assert reproduce(stack, "not-an-id").status_code == 422


def test_a_replayed_reproduction_calls_ideogram_once(stack: LocalStack) -> None:
    parent = generate(stack, prompt="a paper lantern", magic_prompt="OFF").json()["generations"][0]
    key = f"reproduce-{uuid.uuid4().hex}"
    calls = ideogram_calls(stack)
    first = reproduce(stack, parent["id"], key)
    second = reproduce(stack, parent["id"], key)
    assert first.status_code == second.status_code == 201
    assert first.json()["generations"][0]["id"] == second.json()["generations"][0]["id"]
    assert ideogram_calls(stack) == calls + 1
