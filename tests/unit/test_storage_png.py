"""The pure parts of storage: PNG header parsing, the host allowlist, URL redaction, the policy
and the file view over a part buffer. No network, no S3.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from ideogram_assets.storage import DownloadPolicy, host_allowed
from ideogram_assets.storage.hosts import redact_url
from ideogram_assets.storage.png import PNG_HEADER_BYTES, PNG_SIGNATURE, NotPng, parse_png_header
from ideogram_assets.storage.upload import PartBody

MiB = 1024 * 1024


def png_head(
    width: int = 640,
    height: int = 480,
    *,
    signature: bytes = PNG_SIGNATURE,
    chunk_type: bytes = b"IHDR",
    length: int = 13,
    crc: int | None = None,
) -> bytes:
    data = struct.pack(">II", width, height) + bytes([8, 2, 0, 0, 0])  # 8-bit RGB
    checksum = zlib.crc32(chunk_type + data) if crc is None else crc
    return signature + struct.pack(">I", length) + chunk_type + data + struct.pack(">I", checksum)


# -- PNG signature and IHDR -------------------------------------------------------------------


def test_reads_width_and_height_from_ihdr() -> None:
    assert parse_png_header(png_head(1312, 736)) == (1312, 736)


def test_agrees_with_pillow_on_a_real_file() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (37, 19), "orange").save(buffer, format="PNG")
    assert parse_png_header(buffer.getvalue()[:PNG_HEADER_BYTES]) == (37, 19)


def test_header_is_33_bytes_and_longer_input_is_fine() -> None:
    head = png_head(3, 4)
    assert len(head) == PNG_HEADER_BYTES
    assert parse_png_header(head + b"more chunks") == (3, 4)


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (png_head()[:-1], "too short"),
        (b"", "too short"),
        (png_head(signature=b"\x89PNG\r\n\x1a\x00"), "signature"),
        (b"GIF89a" + bytes(40), "signature"),
        (b"<!doctype html><title>Oops</title>", "signature"),
        (png_head(chunk_type=b"IDAT"), "IHDR"),
        (png_head(length=14), "IHDR"),
        (png_head(crc=0), "checksum"),
        (png_head(0, 10), "dimensions"),
        (png_head(10, 0), "dimensions"),
        (png_head(2**31, 10), "dimensions"),
    ],
)
def test_refuses_what_is_not_a_png(head: bytes, reason: str) -> None:
    with pytest.raises(NotPng, match=reason):
        parse_png_header(head)


# -- host allowlist ---------------------------------------------------------------------------

IDEOGRAM = frozenset({"ideogram.ai", "*.ideogram.ai"})
EMULATOR = frozenset({"127.0.0.1:8090", "[::1]:8090", "localhost:8091"})


@pytest.mark.parametrize(
    "url",
    [
        "https://ideogram.ai/api/images/ephemeral/abc.png?exp=1&sig=ff",
        "https://cdn.ideogram.ai/abc.png",
        "https://a.b.ideogram.ai/abc.png",
        "HTTPS://IDEOGRAM.AI/abc.png",  # scheme and host are case-insensitive
        "https://ideogram.ai./abc.png",  # the fully qualified spelling of the same name
        "https://ideogram.ai:443/abc.png",  # the default port, spelled out
    ],
)
def test_allowed_hosts(url: str) -> None:
    assert host_allowed(url, IDEOGRAM)


@pytest.mark.parametrize(
    "url",
    [
        "http://ideogram.ai/abc.png",  # https only
        "http://cdn.ideogram.ai/abc.png",
        "ftp://ideogram.ai/abc.png",
        "file:///etc/passwd",
        "//ideogram.ai/abc.png",  # no scheme
        "ideogram.ai/abc.png",
        "https://evil.com/abc.png",
        "https://evilideogram.ai/abc.png",  # a suffix, not a subdomain
        "https://ideogram.ai.evil.com/abc.png",
        "https://ideogram.ai@evil.com/abc.png",  # userinfo: goes to evil.com
        "https://user:pass@ideogram.ai/abc.png",  # any userinfo is refused
        "https://evil.com\\@ideogram.ai/abc.png",  # parsers disagree on backslashes
        "https://evil.com%2f@ideogram.ai/",
        "https://ideogram.ai%2eevil.com/",
        "https://ideo\ngram.ai/abc.png",  # urllib strips newlines, other parsers do not
        "https://ideogram.ai\t/abc.png",
        "https://ideogram.ai /abc.png",
        "https:///abc.png",  # no host
        "https://ideogram.ai:8443/abc.png",  # not the default port
        "https://ideogram.ai:0/abc.png",
        "https://ideogram.ai:99999/abc.png",  # out of range
        "https://ideogram.ai:abc/abc.png",
        "https://xn--ideogram-.ai/",
        "https://idéogram.ai/abc.png",  # non-ASCII: refused, not IDNA-guessed
        "https://[::1]/abc.png",
        "https://104.18.0.1/abc.png",  # IP literals only when listed
        "",
        "not a url",
    ],
)
def test_refused_urls(url: str) -> None:
    assert not host_allowed(url, IDEOGRAM)


def test_wildcard_does_not_cover_the_apex() -> None:
    assert not host_allowed("https://ideogram.ai/x.png", frozenset({"*.ideogram.ai"}))
    assert host_allowed("https://img.ideogram.ai/x.png", frozenset({"*.ideogram.ai"}))


def test_entry_with_port_allows_exactly_that_port() -> None:
    allowed = frozenset({"images.example.com:8443"})
    assert host_allowed("https://images.example.com:8443/x.png", allowed)
    assert not host_allowed("https://images.example.com/x.png", allowed)
    assert not host_allowed("https://images.example.com:8444/x.png", allowed)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8090/api/images/ephemeral/a.png?exp=1&sig=2",
        "https://127.0.0.1:8090/a.png",
        "http://[::1]:8090/a.png",
        "http://[0:0:0:0:0:0:0:1]:8090/a.png",  # the same address, spelled out
        "http://localhost:8091/a.png",
    ],
)
def test_plain_http_to_a_listed_loopback_host(url: str) -> None:
    assert host_allowed(url, EMULATOR)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8091/a.png",  # listed with another port
        "http://127.0.0.1/a.png",
        "http://127.0.0.2:8090/a.png",  # loopback, but not listed
        "http://2130706433:8090/a.png",  # 127.0.0.1 as one number
        "http://127.1:8090/a.png",  # 127.0.0.1, abbreviated
        "http://0x7f.0.0.1:8090/a.png",  # 127.0.0.1 in hex
        "http://0177.0.0.1:8090/a.png",  # 127.0.0.1 in octal
        "http://localhost:8090/a.png",
        "http://[::ffff:127.0.0.1]:8090/a.png",
    ],
)
def test_loopback_must_be_listed_exactly(url: str) -> None:
    assert not host_allowed(url, EMULATOR)


def test_a_loopback_entry_without_port_allows_any_port() -> None:
    allowed = frozenset({"127.0.0.1", "images.example.com"})
    assert host_allowed("http://127.0.0.1:41234/a.png", allowed)  # the emulator's run-time port
    assert host_allowed("http://127.0.0.1/a.png", allowed)
    assert not host_allowed("https://images.example.com:41234/a.png", allowed)  # not loopback
    assert not host_allowed("http://localhost:41234/a.png", allowed)  # listed is 127.0.0.1 only


def test_plain_http_to_a_listed_public_host_is_refused() -> None:
    allowed = frozenset({"10.0.0.5:8080", "images.example.com:8080"})
    assert not host_allowed("http://10.0.0.5:8080/a.png", allowed)
    assert not host_allowed("http://images.example.com:8080/a.png", allowed)
    assert host_allowed("https://10.0.0.5:8080/a.png", allowed)  # https to a listed IP is fine


def test_wildcards_never_match_ip_literals_or_grant_plain_http() -> None:
    assert not host_allowed("https://127.0.0.1/a.png", frozenset({"*.0.0.1"}))
    assert not host_allowed("http://a.localhost:8090/a.png", frozenset({"*.localhost:8090"}))


def test_malformed_entries_allow_nothing() -> None:
    allowed = frozenset({"", "*", "*.", "https://ideogram.ai", "ideogram.ai:notaport", "user@ideogram.ai"})
    assert not host_allowed("https://ideogram.ai/a.png", allowed)
    assert not host_allowed("https://anything.com/a.png", allowed)


# -- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://ideogram.ai/api/images/ephemeral/a.png?exp=1700000000&signature=secret",
            "https://ideogram.ai/api/images/ephemeral/a.png",
        ),
        ("http://127.0.0.1:8090/a.png?sig=secret#frag", "http://127.0.0.1:8090/a.png"),
        ("https://user:password@ideogram.ai/a.png", "https://ideogram.ai/a.png"),
        ("http://[::1]:8090/a.png?sig=x", "http://[::1]:8090/a.png"),
        ("https://ideo\ngram.ai/?sig=x", "<unparseable URL>"),
    ],
)
def test_redact_url_drops_query_and_userinfo(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# -- policy --------------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = DownloadPolicy(allowed_hosts=IDEOGRAM)
    assert (policy.max_bytes, policy.part_size) == (64 * MiB, 5 * MiB)


@pytest.mark.parametrize(
    "changes",
    [
        {"part_size": 5 * MiB - 1},  # S3's minimum part size
        {"max_bytes": 0},
        {"max_bytes": 5 * MiB * 10_001},  # more than 10,000 parts
        {"connect_timeout": 0},
        {"read_timeout": -1},
        {"max_redirects": -1},
    ],
)
def test_policy_refuses_bad_values(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"."):
        DownloadPolicy(allowed_hosts=IDEOGRAM, **changes)


def test_policy_refuses_a_lone_string() -> None:
    with pytest.raises(TypeError, match="frozenset"):
        DownloadPolicy(allowed_hosts="ideogram.ai")  # type: ignore[arg-type]


# -- the file view S3 reads a part through ---------------------------------------------------------


def test_part_body_reads_seeks_and_rewinds_without_going_past_length() -> None:
    buffer = bytearray(b"0123456789")
    body = PartBody(buffer, 6)
    assert body.read(4) == b"0123"
    assert body.tell() == 4
    assert body.read() == b"45"
    assert body.read(3) == b""
    assert body.seek(0, io.SEEK_END) == 6
    body.seek(1)
    target = bytearray(3)
    assert body.readinto(target) == 3
    assert target == b"123"
    assert body.seek(-2, io.SEEK_CUR) == 2
    assert body.read(-1) == b"2345"
    body.seek(100)
    assert body.tell() == 6


def test_part_body_releases_the_buffer_when_closed() -> None:
    buffer = bytearray(8)
    with PartBody(buffer, 8), pytest.raises(BufferError):
        buffer.extend(b"x")  # viewed: cannot be resized
    buffer.extend(b"x")  # released
    assert len(buffer) == 9
