"""Finding images again: GET /generations with every filter, pages and cursors, labels by PATCH,
and the image link, on the local stack over real HTTP.

The stack is shared by the whole session, so every test searches within words and tags of its
own (a fresh token), and never assumes the table is empty.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from ideogram_assets.records.index_items import index_items, words_of
from ideogram_assets.records.model import GenerationRecord, iso, record_key
from ideogram_assets.records.status import Status
from local_stack.client import SigV4Auth
from local_stack.stack import LocalStack
from tests.e2e._helpers import generate

pytestmark = pytest.mark.usefixtures("faults_cleared")


def _auth(stack: LocalStack) -> SigV4Auth:
    return SigV4Auth(stack.caller, stack.options.region)


def search(stack: LocalStack, **params: Any) -> requests.Response:
    query = {name.rstrip("_"): value for name, value in params.items() if value is not None}
    return requests.get(f"{stack.api_url}/generations", params=query, auth=_auth(stack), timeout=60)


def found(stack: LocalStack, **params: Any) -> list[str]:
    reply = search(stack, **params)
    assert reply.status_code == 200, reply.text
    return [item["id"] for item in reply.json()["items"]]


def change(stack: LocalStack, generation_id: str, **body: Any) -> requests.Response:
    url = f"{stack.api_url}/generations/{generation_id}"
    return requests.patch(url, json=body, auth=_auth(stack), timeout=60)


def token() -> str:
    """A word no other test uses (letters only: digits would make it a different word per test)."""
    return "zq" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:10])


def made(stack: LocalStack, prompt: str, **body: Any) -> list[dict[str, Any]]:
    reply = generate(stack, prompt=prompt, **body)
    assert reply.status_code == 201, reply.text
    generations: list[dict[str, Any]] = reply.json()["generations"]
    return generations


def test_words_match_whatever_their_case_accents_and_punctuation(stack: LocalStack) -> None:
    word = token()
    [image] = made(stack, f"A Café-Racer at dusk, NEON signs; {word}!", magic_prompt="OFF")

    for query in (f"{word} cafe", f"{word.upper()} CAFÉ racer", f"{word}, neon!", f"racer {word} dusk"):
        assert found(stack, q=query) == [image["id"]], query
    assert found(stack, q=f"{word} bicycle") == []
    # Whole words, not parts of them.
    assert found(stack, q=f"{word} caf") == []


def test_words_of_the_expanded_prompt_are_found_too(stack: LocalStack) -> None:
    word = token()
    [image] = made(stack, f"a lighthouse {word}", magic_prompt="ON")
    expanded = image["expandedPrompt"]
    assert expanded
    assert expanded != image["prompt"]
    added = next(
        w
        for w in expanded.replace(",", " ").replace(".", " ").split()
        if len(w) > 4 and w not in image["prompt"]
    )

    assert found(stack, q=f"{word} {added}") == [image["id"]]


def test_a_query_of_common_words_alone_is_still_answered(stack: LocalStack) -> None:
    word = token()
    [image] = made(stack, f"the {word} and the sea", magic_prompt="OFF", tags=[word])

    # "the" and "and" are not indexed; the tag narrows the search and the words are checked.
    assert found(stack, q="the and", tags=word) == [image["id"]]
    assert found(stack, q="the and with", tags=word) == []


def test_tags_all_must_match_and_the_newest_comes_first(stack: LocalStack) -> None:
    a, b = token(), token()
    older = made(stack, "a red fox", tags=[a])
    newer = made(stack, "a blue fox", tags=[a, b], num_images=2)

    # The images of one request share their creation time: among them, the order is by id.
    newest_first = sorted((image["id"] for image in newer), reverse=True)
    assert found(stack, tags=a) == [*newest_first, older[0]["id"]]
    assert set(found(stack, tags=f"{a},{b}")) == {image["id"] for image in newer}
    assert set(found(stack, tags=f"{b},{a.upper()}")) == {image["id"] for image in newer}


def test_seed_model_style_status_and_time_filters(stack: LocalStack) -> None:
    tag = token()
    turbo = made(stack, "a paper crane", tags=[tag], seed=424242, model="V_2", style_type="DESIGN")
    plain = made(stack, "a paper boat", tags=[tag], seed=515151)
    created = turbo[0]["createdAt"]

    assert found(stack, seed=424242, tags=tag) == [turbo[0]["id"]]
    assert turbo[0]["id"] in found(stack, seed=424242)
    assert found(stack, model="V_2", tags=tag) == [turbo[0]["id"]]
    assert found(stack, style_type="DESIGN", tags=tag) == [turbo[0]["id"]]
    assert set(found(stack, status="STORED", tags=tag)) == {turbo[0]["id"], plain[0]["id"]}
    assert found(stack, status="UNSAFE", tags=tag) == []
    # Bounds are inclusive; a bare date is its whole day.
    assert set(found(stack, tags=tag, from_=created)) == {turbo[0]["id"], plain[0]["id"]}
    assert found(stack, tags=tag, to=created) == [turbo[0]["id"]]
    assert set(found(stack, tags=tag, from_=created[:10], to=created[:10])) == {
        turbo[0]["id"],
        plain[0]["id"],
    }
    assert found(stack, tags=tag, to="2001-01-01") == []
    # The model and the date alone: served by the model's index within the day.
    assert turbo[0]["id"] in found(stack, model="V_2", from_=created[:10], to=created[:10], limit=100)


def test_tags_star_and_note_change_what_search_finds(stack: LocalStack) -> None:
    tag, added = token(), token()
    [image] = made(stack, "a quiet harbour", tags=[tag, "draft"])

    reply = change(
        stack, image["id"], add_tags=[added], remove_tags=["draft"], starred=True, note="hero shot"
    )
    assert reply.status_code == 200, reply.text
    view = reply.json()
    assert view["tags"] == sorted([tag, added])
    assert view["starred"] is True
    assert view["note"] == "hero shot"

    assert found(stack, tags=added) == [image["id"]]
    assert found(stack, tags=f"{tag},draft") == []
    assert found(stack, tags=tag, starred="true") == [image["id"]]
    assert image["id"] in found(stack, starred="true", limit=100)
    assert found(stack, tags=tag, starred="false") == []

    reply = change(stack, image["id"], remove_tags=[added], starred=False, note="")
    assert reply.status_code == 200, reply.text
    assert reply.json()["starred"] is False
    assert reply.json()["note"] is None
    assert found(stack, tags=added) == []
    assert found(stack, tags=tag, starred="false") == [image["id"]]
    assert image["id"] not in found(stack, starred="true", limit=100)


def test_bad_label_changes_are_refused_with_the_field(stack: LocalStack) -> None:
    [image] = made(stack, "a lantern")
    for body in (
        {},
        {"add_tags": ["no spaces"]},
        {"starred": "yes"},
        {"note": "x" * 501},
        {"add_tags": ["a"], "remove_tags": ["a"]},
    ):
        reply = change(stack, image["id"], **body)
        assert reply.status_code == 422, (body, reply.text)
        assert reply.json()["errors"], body
    reply = change(stack, image["id"], add_tags=[f"t{number}" for number in range(21)])
    assert reply.status_code == 422
    reply = change(stack, "0" * 32, starred=True)
    assert reply.status_code == 404


def _loaded(stack: LocalStack, tag: str, count: int) -> list[str]:
    """`count` answered records with their index items, written straight into the table in bulk
    (the pagination under test is search's, not generation's); in fours, as requests of four
    images are: the same creation time, told apart by id."""
    table = stack.endpoints()["resources"]["AssetsTable"]
    started = datetime.now(UTC) - timedelta(hours=2)
    items: list[dict[str, Any]] = []
    ids: list[str] = []
    for number in range(count):
        created = started + timedelta(seconds=number // 4)
        record = GenerationRecord(
            record_key(generation_id := uuid.uuid4().hex),
            id=generation_id,
            request_id=f"bulk{number // 4:028d}",
            index_in_request=number % 4,
            # UNSAFE: answered, indexed, no object (nothing for the reconciler's audit to find
            # missing, no event to announce).
            status=Status.UNSAFE.value,
            is_safe=False,
            source="api",
            prompt=f"a tile {tag} number {number}",
            model="V_3",
            rendering_speed="TURBO",
            prompt_hash="0" * 64,
            tags={tag},
            index_words=set(words_of(f"a tile {tag}", None)),
            created_at=iso(created),
            updated_at=iso(created),
            time_bucket=f"{created:%Y-%m-%d}",
        )
        items += [record.serialize(), *index_items(record)]
        ids.append(generation_id)
    dynamodb = stack.aws.client("dynamodb")
    for start in range(0, len(items), 25):
        requests_ = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        while requests_:
            reply = dynamodb.batch_write_item(RequestItems={table: requests_})
            requests_ = reply.get("UnprocessedItems", {}).get(table, [])
    return ids


def test_pages_have_no_duplicate_and_no_gap_while_new_records_arrive(stack: LocalStack) -> None:
    tag = token()
    initial = _loaded(stack, tag, 300)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        reply = search(stack, tags=tag, limit=17, cursor=cursor)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if pages in (2, 6):  # newer records arrive while the caller pages on
            made(stack, f"a late tile {tag}", tags=[tag], num_images=3)
        cursor = page["nextCursor"]
        if not cursor:
            break

    assert len(seen) == len(set(seen)), "a record came twice"
    assert sorted(seen) == sorted(initial), "a record is missing, or a newer one slipped in"
    # Newest first; among records created at the same time (a request's four), by id.
    order = {generation_id: (number // 4, generation_id) for number, generation_id in enumerate(initial)}
    assert seen == sorted(initial, key=order.__getitem__, reverse=True)
    # The same pages by words, through the token index: the late records are there now.
    by_word: list[str] = []
    cursor = None
    while True:
        page = search(stack, q=tag, limit=50, cursor=cursor).json()
        by_word += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(by_word) == len(set(by_word)) == len(initial) + 6


def _tampered(cursor: str) -> str:
    payload, mac = cursor.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["t"] += 1
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{forged}.{mac}"


def test_forged_garbled_and_foreign_cursors_are_refused(stack: LocalStack) -> None:
    tag = token()
    made(stack, "a kite", tags=[tag], num_images=3)
    cursor = search(stack, tags=tag, limit=1).json()["nextCursor"]
    assert cursor

    for bad in (_tampered(cursor), "garbage", cursor + "x", "a.b", cursor.replace(".", "..")):
        reply = search(stack, tags=tag, limit=1, cursor=bad)
        assert reply.status_code == 400, (bad, reply.text)
        assert reply.json()["errors"][0]["field"] == "cursor"
    reply = search(stack, tags=tag, model="V_3", limit=1, cursor=cursor)
    assert reply.status_code == 400
    assert "another search" in reply.json()["message"]
    assert search(stack, tags=tag, limit=1, cursor=cursor).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 101}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"seed": -1}, "query.seed"),
        ({"model": "V_9"}, "query.model"),
        ({"status": "DONE"}, "query.status"),
        ({"starred": "perhaps"}, "query.starred"),
        ({"from_": "yesterday"}, "query.from"),
        ({"tags": "ok,not ok"}, "query.tags[1]"),
        ({"prompt_hash": "abc"}, "query.prompt_hash"),
        ({"q": "x" * 201}, "query.q"),
        ({"from_": "2026-02-01", "to": "2026-01-01"}, "query"),
    ],
)
def test_bad_filters_get_400_naming_the_parameter(
    stack: LocalStack, params: dict[str, Any], field: str
) -> None:
    reply = search(stack, **params)
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["message"] == "the query string is not valid"
    assert any(error["field"].startswith(field) for error in body["errors"]), body


def test_the_image_route_redirects_to_a_fresh_link_to_the_stored_bytes(stack: LocalStack) -> None:
    [image] = made(stack, "a copper kettle")
    url = f"{stack.api_url}/generations/{image['id']}/image"
    reply = requests.get(url, auth=_auth(stack), allow_redirects=False, timeout=30)
    assert reply.status_code == 302, reply.text
    assert reply.headers["Cache-Control"] == "no-store"
    body = requests.get(reply.headers["Location"], timeout=30, verify=stack.aws.ca_bundle).content
    assert hashlib.sha256(body).hexdigest() == image["sha256"]

    missing = requests.get(f"{stack.api_url}/generations/{'0' * 32}/image", auth=_auth(stack), timeout=30)
    assert missing.status_code == 404
