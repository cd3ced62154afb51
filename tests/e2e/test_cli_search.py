"""`search`, `tag`, `star`, `note`, `open` and `download` as a user runs them: the installed console
script in its own process, against the local stack over real HTTP (SigV4-signed)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from ideogram_assets_cli.exit_codes import ExitCode
from local_stack.stack import LocalStack
from tests.e2e._helpers import generate, record
from tests.e2e.test_cli import _run, _write_endpoints

pytestmark = pytest.mark.usefixtures("faults_cleared")


@pytest.fixture
def workdir(tmp_path: Path, stack: LocalStack) -> Path:
    """A directory whose .local/endpoints.json names the running stack, as `make up` leaves it."""
    _write_endpoints(tmp_path / ".local" / "endpoints.json", stack.endpoints())
    return tmp_path


def _tag() -> str:
    """A tag of the test's own: the session's stack is shared with every other test."""
    return f"t{uuid.uuid4().hex[:12]}"


def _generated(stack: LocalStack, **body: Any) -> list[dict[str, Any]]:
    reply = generate(stack, **body)
    assert reply.status_code == 201, reply.text
    generations: list[dict[str, Any]] = reply.json()["generations"]
    return generations


def _json(result: Any) -> Any:
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)  # the body and nothing else


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def test_search_finds_by_word_tag_seed_and_model_newest_first(stack: LocalStack, workdir: Path) -> None:
    tag = _tag()
    first = _generated(stack, prompt="a copper weathervane on a barn", seed=7, tags=[tag])
    later = _generated(stack, prompt="a copper kettle, steaming", seed=8, tags=[tag, "kitchen"], num_images=2)

    by_tag = _run("search", "--tag", tag, "--json", cwd=workdir)
    assert by_tag.returncode == ExitCode.OK, by_tag.stderr
    body = _json(by_tag)
    assert set(body) == {"items", "nextCursor"}
    assert sorted(_ids(body)) == sorted(g["id"] for g in first + later)
    created = [item["createdAt"] for item in body["items"]]
    assert created == sorted(created, reverse=True)
    assert body["items"][-1]["id"] == first[0]["id"]

    # QUERY words and --q join; case and punctuation do not matter
    words = _json(_run("search", "COPPER", "--q", "kettle!", "--tag", tag, "--json", cwd=workdir))
    assert sorted(_ids(words)) == sorted(g["id"] for g in later)
    by_seed = _json(_run("search", "--tag", tag, "--seed", "7", "--json", cwd=workdir))
    assert _ids(by_seed) == [first[0]["id"]]
    two_tags = _json(_run("search", "--tag", tag, "--tag", "kitchen", "--json", cwd=workdir))
    assert sorted(_ids(two_tags)) == sorted(g["id"] for g in later)
    model = _json(_run("search", "--tag", tag, "--model", "v_3", "--status", "stored", "--json", cwd=workdir))
    assert len(model["items"]) == 3
    assert _json(_run("search", "--tag", tag, "--model", "V_2", "--json", cwd=workdir))["items"] == []


def test_search_prints_a_table_and_the_cursor_of_the_next_page(stack: LocalStack, workdir: Path) -> None:
    tag = _tag()
    generations = _generated(stack, prompt="a paper lantern festival", seed=11, tags=[tag], num_images=3)

    first = _run("search", "--tag", tag, "--limit", "2", cwd=workdir)
    assert first.returncode == ExitCode.OK, first.stderr
    header = first.stdout.splitlines()[0].split()
    assert header == ["id", "time", "(UTC)", "status", "model", "seed", "size", "tags", "prompt"]
    assert first.stdout.count("STORED") == 2
    assert "a paper lantern festival" in first.stdout
    assert tag in first.stdout
    cursor = first.stdout.split("next page: --cursor", 1)[1].split()[0]

    second = _run("search", "--tag", tag, "--limit", "2", "--cursor", cursor, cwd=workdir)
    assert second.returncode == ExitCode.OK, second.stderr
    assert second.stdout.count("STORED") == 1
    assert "--cursor" not in second.stdout
    shown = {line.split()[0] for line in (first.stdout + second.stdout).splitlines() if "STORED" in line}
    assert shown == {g["id"] for g in generations}


def test_search_all_reads_every_page_and_keeps_stdout_clean(stack: LocalStack, workdir: Path) -> None:
    tag = _tag()
    generations = [
        g for _ in range(3) for g in _generated(stack, prompt="a tide pool", tags=[tag], num_images=2)
    ]

    every = _run("search", "--tag", tag, "--all", "--limit", "4", "--json", cwd=workdir)
    assert every.returncode == ExitCode.OK, every.stderr
    body = _json(every)
    assert body["nextCursor"] is None
    assert sorted(_ids(body)) == sorted(g["id"] for g in generations)
    assert len(set(_ids(body))) == 6  # no duplicate across pages

    table = _run("search", "--tag", tag, "--all", "--limit", "4", cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    assert table.stdout.count("STORED") == 6
    assert "6 generations" in table.stdout


@pytest.mark.parametrize(
    ("arguments", "field"),
    [(["--from", "last tuesday"], "from"), (["--cursor", "not-a-cursor"], "cursor")],
)
def test_bad_filters_and_cursors_exit_with_the_bad_input_code_and_the_fields(
    workdir: Path, arguments: list[str], field: str
) -> None:
    result = _run("search", *arguments, cwd=workdir)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "HTTP 400" in result.stderr
    assert field in result.stderr
    assert result.stdout == ""
    as_json = _run("search", *arguments, "--json", cwd=workdir)
    assert as_json.returncode == ExitCode.BAD_INPUT
    assert "message" in _json(as_json)


def test_tag_adds_and_removes_tags_and_search_follows(stack: LocalStack, workdir: Path) -> None:
    tag, extra = _tag(), _tag()
    [generation] = _generated(stack, prompt="a fox in the snow", tags=[tag, "draft"])

    result = _run("tag", generation["id"], f"+{extra}", "-draft", "+Final", "--json", cwd=workdir)
    assert result.returncode == ExitCode.OK, result.stderr
    assert _json(result)["tags"] == sorted([tag, extra, "final"])

    assert _ids(_json(_run("search", "--tag", extra, "--json", cwd=workdir))) == [generation["id"]]
    still_draft = _json(_run("search", "--tag", tag, "--tag", "draft", "--json", cwd=workdir))
    assert still_draft["items"] == []

    # `--` ends the options: whatever follows is a change
    table = _run("tag", generation["id"], "--", f"-{extra}", cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    assert "final" in table.stdout
    assert extra not in table.stdout
    assert _json(_run("search", "--tag", extra, "--json", cwd=workdir))["items"] == []


def test_star_unstar_and_note(stack: LocalStack, workdir: Path) -> None:
    tag = _tag()
    [starred, plain] = _generated(stack, prompt="a harbour at dawn", tags=[tag], num_images=2)

    assert _json(_run("star", starred["id"], "--json", cwd=workdir))["starred"] is True
    only_starred = _json(_run("search", "--tag", tag, "--starred", "--json", cwd=workdir))
    assert _ids(only_starred) == [starred["id"]]
    not_starred = _json(_run("search", "--tag", tag, "--not-starred", "--json", cwd=workdir))
    assert _ids(not_starred) == [plain["id"]]

    noted = _run("note", starred["id"], "the client's pick", cwd=workdir)
    assert noted.returncode == ExitCode.OK, noted.stderr
    assert "the client's pick" in noted.stdout
    assert "★ yes" in noted.stdout
    assert _json(_run("note", starred["id"], "--clear", "--json", cwd=workdir))["note"] is None

    assert _json(_run("unstar", starred["id"], "--json", cwd=workdir))["starred"] is False
    assert _json(_run("star", plain["id"], "--off", "--json", cwd=workdir))["starred"] is False
    assert _json(_run("search", "--tag", tag, "--starred", "--json", cwd=workdir))["items"] == []


def test_curating_an_unknown_id_or_a_long_note_says_why(workdir: Path) -> None:
    missing = _run("star", "0" * 32, cwd=workdir)
    assert missing.returncode == ExitCode.NOT_FOUND
    assert "not found" in missing.stderr
    too_long = _run("note", "0" * 32, "x" * 501, cwd=workdir)
    assert too_long.returncode == ExitCode.BAD_INPUT
    assert "note" in too_long.stderr


def test_open_prints_or_opens_a_fresh_link_to_the_image(stack: LocalStack, workdir: Path) -> None:
    [generation] = _generated(stack, prompt="a blue door")

    printed = _run("open", generation["id"], "--print", cwd=workdir)
    assert printed.returncode == ExitCode.OK, printed.stderr
    url = printed.stdout.strip()
    image = requests.get(url, timeout=30, verify=stack.aws.ca_bundle)
    assert hashlib.sha256(image.content).hexdigest() == generation["sha256"]

    # The browser is whatever $BROWSER names: here a script that writes down what it was given.
    opened = workdir / "opened.txt"
    browser = workdir / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    result = _run("open", generation["id"], cwd=workdir, environment={"BROWSER": f"{browser} %s"})
    assert result.returncode == ExitCode.OK, result.stderr
    assert "X-Amz-Signature=" in opened.read_text()
    link = requests.get(opened.read_text(), timeout=30, verify=stack.aws.ca_bundle)
    assert link.content == image.content

    as_json = _json(_run("open", generation["id"], "--print", "--json", cwd=workdir))
    assert as_json["id"] == generation["id"]
    assert as_json["url"].startswith("http")


def test_open_and_download_say_when_there_is_no_image(stack: LocalStack, workdir: Path) -> None:
    [unsafe] = _generated(stack, prompt="an unsafe scene")
    assert unsafe["status"] == "UNSAFE"
    for command in ("open", "download"):
        result = _run(command, unsafe["id"], "--print" if command == "open" else "--force", cwd=workdir)
        assert result.returncode == ExitCode.NOT_FOUND, (command, result.stderr)
        assert "no stored image" in result.stderr
    assert _run("open", "0" * 32, "--print", cwd=workdir).returncode == ExitCode.NOT_FOUND


def test_download_saves_the_image_checked_and_never_overwrites_unasked(
    stack: LocalStack, workdir: Path
) -> None:
    [generation] = _generated(stack, prompt="a red bicycle", seed=3)

    saved = _run("download", generation["id"], cwd=workdir)
    assert saved.returncode == ExitCode.OK, saved.stderr
    path = workdir / f"{generation['id']}.png"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == generation["sha256"]
    assert "matches the record" in " ".join(saved.stdout.split())  # however the terminal wraps it

    again = _run("download", generation["id"], cwd=workdir)
    assert again.returncode == ExitCode.BAD_INPUT
    assert "--force" in again.stderr

    out = workdir / "named.png"
    as_json = _json(_run("download", generation["id"], "--out", str(out), "--json", cwd=workdir))
    assert as_json == {
        "id": generation["id"],
        "path": str(out),
        "sizeBytes": generation["sizeBytes"],
        "sha256": generation["sha256"],
    }
    forced = _run("download", generation["id"], "--out", str(out), "--force", cwd=workdir)
    assert forced.returncode == ExitCode.OK, forced.stderr
    assert sorted(os.listdir(workdir)) == sorted([".local", path.name, out.name])  # no .part left


def test_download_refuses_bytes_that_do_not_match_the_record(stack: LocalStack, workdir: Path) -> None:
    [generation] = _generated(stack, prompt="a green teapot")
    item = record(stack, generation["id"])
    # The stored object changes behind the record's back (bit rot, a bad copy): same key, other bytes.
    stack.aws.client("s3").put_object(
        Bucket=item["bucket"]["S"], Key=item["key"]["S"], Body=b"\x89PNG not it"
    )

    result = _run("download", generation["id"], cwd=workdir)
    assert result.returncode == ExitCode.UNAVAILABLE
    assert "does not match its record" in result.stderr
    assert not (workdir / f"{generation['id']}.png").exists()
    assert not (workdir / f"{generation['id']}.png.part").exists()
