"""Downloads through presigned links: a file takes its name only once its SHA-256 and size match."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from ideogram_assets_cli.transfer import (
    Expected,
    IntegrityError,
    TransferError,
    fetch_verified,
    file_sha256,
    matches,
    part_path,
)

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 300
URL = "https://bucket.example.com/images/2025/03/14/x.png?X-Amz-Signature=abc"


class Serves(BaseAdapter):
    """Answers every GET with `status` and `content`, in small chunks (as a network would)."""

    def __init__(self, content: bytes, status: int = 200) -> None:
        super().__init__()
        self.content = content
        self.status = status

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = self.status
        response.raw = io.BytesIO(self.content)
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def _session(content: bytes, status: int = 200) -> requests.Session:
    session = requests.Session()
    session.mount("https://", Serves(content, status))
    return session


def _expected(content: bytes = IMAGE) -> Expected:
    return Expected(sha256=hashlib.sha256(content).hexdigest(), size=len(content))


def test_a_matching_download_takes_its_name_and_leaves_no_part_file(tmp_path: Path) -> None:
    destination = tmp_path / "x.png"
    received: list[int] = []
    fetched = fetch_verified(
        _session(IMAGE),
        URL,
        destination,
        expected=_expected(),
        verify=True,
        timeout=5,
        on_bytes=received.append,
    )
    assert destination.read_bytes() == IMAGE
    assert (fetched.size, fetched.sha256) == (len(IMAGE), hashlib.sha256(IMAGE).hexdigest())
    assert sum(received) == len(IMAGE)
    assert not part_path(destination).exists()
    assert matches(destination, _expected())
    assert file_sha256(destination) == hashlib.sha256(IMAGE).hexdigest()


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        (IMAGE[:-1] + b"\x00", "SHA-256"),  # same size, other bytes
        (IMAGE[:1000], "1000 bytes arrived"),  # cut short
        (IMAGE + b"trailing", "bytes arrived"),  # longer than the record says
    ],
)
def test_bytes_that_do_not_match_the_record_never_take_the_name(
    tmp_path: Path, served: bytes, reason: str
) -> None:
    destination = tmp_path / "x.png"
    destination.write_bytes(b"what was there before")
    with pytest.raises(IntegrityError) as raised:
        fetch_verified(_session(served), URL, destination, expected=_expected(), verify=True, timeout=5)
    assert reason in raised.value.message
    assert destination.read_bytes() == b"what was there before"
    assert not part_path(destination).exists()


def test_a_refused_link_is_a_transfer_error_with_its_status(tmp_path: Path) -> None:
    destination = tmp_path / "x.png"
    with pytest.raises(TransferError) as raised:
        fetch_verified(
            _session(b"<Error>expired</Error>", status=403),
            URL,
            destination,
            expected=_expected(),
            verify=True,
            timeout=5,
        )
    assert raised.value.status == 403
    assert not destination.exists()
    assert not part_path(destination).exists()


def test_a_file_of_unknown_hash_is_never_taken_as_present(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(IMAGE)
    assert matches(path, _expected())
    assert matches(path, Expected(sha256=hashlib.sha256(IMAGE).hexdigest().upper(), size=None))
    assert not matches(path, Expected(sha256=None, size=len(IMAGE)))
    assert not matches(path, Expected(sha256=hashlib.sha256(IMAGE).hexdigest(), size=len(IMAGE) + 1))
    assert not matches(tmp_path / "absent.png", _expected())


def test_without_an_expected_hash_only_the_size_is_checked(tmp_path: Path) -> None:
    export = b'{"id": "a"}\n'
    destination = tmp_path / "export.jsonl"
    fetched = fetch_verified(
        _session(export), URL, destination, expected=Expected(size=len(export)), verify=True, timeout=5
    )
    assert fetched.size == len(export)
    assert destination.read_bytes() == export


def test_links_from_the_local_stack_are_trusted_through_its_certificate(tmp_path: Path) -> None:
    from ideogram_assets_cli.target import local_target

    endpoints = {
        "api": "http://127.0.0.1:41231/",
        "region": "us-east-1",
        "credentials": {"access_key_id": "AKIALOCALEXAMPLE0001", "secret_access_key": "local-secret"},
    }
    without = tmp_path / "without.json"
    without.write_text(json.dumps(endpoints))
    assert local_target(without).links_verify is True  # the system's trust store
    with_bundle = tmp_path / "with.json"
    with_bundle.write_text(json.dumps({**endpoints, "aws_ca_bundle": "/tmp/stack/ca.pem"}))
    assert local_target(with_bundle).links_verify == "/tmp/stack/ca.pem"
