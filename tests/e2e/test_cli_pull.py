"""`pull DIR` as a user runs it, against the local stack over real HTTP: the mirror's layout and
manifest, every file's SHA-256, and resuming after an interruption on the wire, damaged files and
a stored object that no longer matches its record."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ideogram_assets_cli.exit_codes import ExitCode
from local_stack.fault_proxy import FaultRule
from local_stack.stack import LocalStack
from tests.e2e._helpers import generate, record
from tests.e2e.test_cli import _run, _write_endpoints

pytestmark = pytest.mark.usefixtures("faults_cleared")


@pytest.fixture
def workdir(tmp_path: Path, stack: LocalStack) -> Path:
    _write_endpoints(tmp_path / ".local" / "endpoints.json", stack.endpoints())
    return tmp_path


@pytest.fixture
def tagged(stack: LocalStack) -> tuple[str, list[dict[str, Any]]]:
    """Six stored images and one unsafe record under a tag of their own, newest first."""
    tag = f"t{uuid.uuid4().hex[:12]}"
    generations: list[dict[str, Any]] = []
    for prompt, count in (("a mirrored lake", 3), ("an unsafe scene", 1), ("a mirrored hill", 3)):
        reply = generate(stack, prompt=prompt, tags=[tag], num_images=count)
        assert reply.status_code == 201, reply.text
        generations.extend(reply.json()["generations"])
    assert [g["status"] for g in generations].count("STORED") == 6
    return tag, sorted(generations, key=lambda g: (g["createdAt"], g["id"]), reverse=True)


def _summary(result: Any) -> dict[str, Any]:
    assert "Traceback" not in result.stderr
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def _path(mirror: Path, generation: dict[str, Any]) -> Path:
    day = str(generation["createdAt"])[:10].replace("-", "/")  # createdAt is UTC (…Z)
    return mirror / "images" / day / f"{generation['id']}.png"


def _stored(generations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [g for g in generations if g["status"] == "STORED"]


def _manifest(mirror: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((mirror / "generations.json").read_text())
    return records


def test_pull_mirrors_every_image_in_the_buckets_layout_with_a_manifest(
    stack: LocalStack, workdir: Path, tagged: tuple[str, list[dict[str, Any]]]
) -> None:
    tag, generations = tagged
    mirror = workdir / "mirror"

    result = _run("pull", str(mirror), "--tag", tag, "--json", cwd=workdir)

    assert result.returncode == ExitCode.OK, result.stderr
    summary = _summary(result)
    assert (summary["records"], summary["images"], summary["downloaded"]) == (7, 6, 6)
    assert (summary["present"], summary["no_image"], summary["failed"]) == (0, 1, [])
    assert summary["complete"] is True
    for generation in _stored(generations):
        item = record(stack, generation["id"])
        path = _path(mirror, generation)
        assert path.relative_to(mirror).as_posix() == item["key"]["S"]  # the bucket's own key
        assert hashlib.sha256(path.read_bytes()).hexdigest() == generation["sha256"]
    manifest = _manifest(mirror)
    assert [entry["id"] for entry in manifest] == [g["id"] for g in generations]  # newest first
    assert all("imageUrl" not in entry and "imageUrlExpiresIn" not in entry for entry in manifest)
    assert {entry["status"] for entry in manifest} == {"STORED", "UNSAFE"}
    assert not list(mirror.rglob("*.part"))
    assert summary["bytesDownloaded"] == sum(g["sizeBytes"] for g in _stored(generations))

    table = _run("pull", str(mirror), "--tag", tag, cwd=workdir)
    assert table.returncode == ExitCode.OK, table.stderr
    assert "already present" in table.stdout


def test_pull_again_fetches_only_what_is_missing_or_damaged(
    workdir: Path, tagged: tuple[str, list[dict[str, Any]]]
) -> None:
    tag, generations = tagged
    mirror = workdir / "mirror"
    assert _run("pull", str(mirror), "--tag", tag, cwd=workdir).returncode == ExitCode.OK
    stored = _stored(generations)
    deleted, truncated, rewritten, interrupted = (_path(mirror, g) for g in stored[:4])
    deleted.unlink()
    truncated.write_bytes(truncated.read_bytes()[:100])
    rewritten.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * (stored[2]["sizeBytes"] - 8))  # same size
    interrupted.rename(interrupted.with_name(interrupted.name + ".part"))  # a download cut short
    untouched = {path: path.stat().st_mtime_ns for path in (_path(mirror, g) for g in stored[4:])}

    again = _summary(_run("pull", str(mirror), "--tag", tag, "--json", cwd=workdir))

    assert (again["downloaded"], again["present"], again["failed"]) == (4, 2, [])
    for generation in stored:
        assert hashlib.sha256(_path(mirror, generation).read_bytes()).hexdigest() == generation["sha256"]
    assert {path: path.stat().st_mtime_ns for path in untouched} == untouched  # not written again
    assert not list(mirror.rglob("*.part"))


def test_an_interrupted_pull_keeps_what_it_has_and_the_next_goes_on(
    stack: LocalStack, workdir: Path, tagged: tuple[str, list[dict[str, Any]]]
) -> None:
    tag, generations = tagged
    mirror = workdir / "mirror"
    assert stack.proxy is not None
    # The connection drops on every image download after the first two: the pull is cut off
    # on the wire, as a network failure or a laptop lid would cut it.
    stack.proxy.inject(FaultRule(method="GET", path=r"/images/\d{4}/", skip=2, status=None))

    cut = _run("pull", str(mirror), "--tag", tag, "--jobs", "1", "--json", cwd=workdir)

    assert cut.returncode == ExitCode.PARTIAL, cut.stderr
    summary = _summary(cut)
    assert (summary["downloaded"], len(summary["failed"])) == (2, 4)
    kept = _manifest(mirror)
    fetched = [g for g in _stored(generations) if _path(mirror, g).exists()]
    assert len(fetched) == 2
    # the manifest names what the mirror holds: the images fetched and the record with none
    assert {entry["id"] for entry in kept} == {g["id"] for g in fetched} | {
        g["id"] for g in generations if g["status"] == "UNSAFE"
    }
    assert not list(mirror.rglob("*.part"))
    for failure in summary["failed"]:
        assert failure["id"] in cut.stderr

    stack.proxy.clear()
    resumed = _summary(_run("pull", str(mirror), "--tag", tag, "--json", cwd=workdir))

    assert (resumed["downloaded"], resumed["present"], resumed["failed"]) == (4, 2, [])
    assert [entry["id"] for entry in _manifest(mirror)] == [g["id"] for g in generations]
    for generation in _stored(generations):
        assert hashlib.sha256(_path(mirror, generation).read_bytes()).hexdigest() == generation["sha256"]


def test_an_image_that_does_not_match_its_record_is_reported_and_the_rest_mirrored(
    stack: LocalStack, workdir: Path, tagged: tuple[str, list[dict[str, Any]]]
) -> None:
    tag, generations = tagged
    mirror = workdir / "mirror"
    bad = _stored(generations)[1]
    item = record(stack, bad["id"])
    stack.aws.client("s3").put_object(Bucket=item["bucket"]["S"], Key=item["key"]["S"], Body=b"\x89PNG other")

    result = _run("pull", str(mirror), "--tag", tag, "--json", cwd=workdir)

    assert result.returncode == ExitCode.PARTIAL, result.stderr
    summary = _summary(result)
    assert summary["downloaded"] == 5
    [failure] = summary["failed"]
    assert failure["id"] == bad["id"]
    assert "bytes arrived" in failure["reason"] or "SHA-256" in failure["reason"]
    assert bad["id"] in result.stderr
    assert not _path(mirror, bad).exists()
    assert not list(mirror.rglob("*.part"))
    assert bad["id"] not in {entry["id"] for entry in _manifest(mirror)}
    for generation in _stored(generations):
        if generation["id"] != bad["id"]:
            assert hashlib.sha256(_path(mirror, generation).read_bytes()).hexdigest() == generation["sha256"]


def test_a_file_that_is_not_a_manifest_is_never_replaced(workdir: Path) -> None:
    mirror = workdir / "mirror"
    mirror.mkdir()
    (mirror / "generations.json").write_text('{"mine": true}')
    result = _run("pull", str(mirror), "--tag", "nothing-here", cwd=workdir)
    assert result.returncode == ExitCode.BAD_INPUT
    assert "not a manifest" in result.stderr
    assert (mirror / "generations.json").read_text() == '{"mine": true}'
