"""persist_image over real HTTP: images from the Ideogram emulator, stored in moto (server mode).

Faults come from the emulator's own switches (truncation, wrong type, huge images, expiry,
bandwidth), from a small origin server of this module (what the emulator cannot do: no
Content-Length, redirects, odd statuses, non-PNG bodies) and from botocore's event system on
the S3 client (a request refused before it is sent; moto still does all the real work). After
every test, whatever happened, the bucket must hold no object version and no multipart upload
that the test did not expect.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from PIL import Image

from ideogram_assets.links import presigned_get_url
from ideogram_assets.storage import (
    DownloadPolicy,
    DownloadRejected,
    StorageError,
    StoredObject,
    persist_image,
)
from local_stack.aws_emulator import LOCAL_AWS_ENVIRONMENT, AwsEmulator
from local_stack.ideogram import EmulatorSettings, RunningEmulator, start_emulator
from local_stack.ideogram.images import padded_png

MiB = 1024 * 1024
BUCKET = "storage-test-images"
API_KEY = "storage-test-key"
METADATA = {"prompt": "a red fox", "generation-id": "gen-123"}
TAGS = {"retention-class": "short", "owner": "team a+b/c=d"}  # needs URL-encoding


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsEmulator]:
    with AwsEmulator() as running:
        s3 = running.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        # As in template.yaml: with versioning on, a plain delete would leave the data behind.
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield running


@pytest.fixture(scope="module")
def s3(aws: AwsEmulator) -> Any:
    return aws.client("s3")


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    running = start_emulator(EmulatorSettings(api_key=API_KEY, log_requests=False), port=0)
    yield running
    running.stop()


class _Origin(BaseHTTPRequestHandler):
    """What the emulator cannot serve: chunked bodies, redirects, odd statuses, non-PNG bodies."""

    protocol_version = "HTTP/1.1"
    png = b""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        if url.path == "/redirect":
            self._head(302, {"Location": query["to"], "Content-Length": "0"})
        elif url.path == "/status":
            self._head(int(query["code"]), {"Content-Length": "0"})
        elif url.path == "/not-png":
            body = b"GIF89a" + bytes(100)
            self._head(200, {"Content-Type": "image/png", "Content-Length": str(len(body))})
            self.wfile.write(body)
        elif url.path == "/chunked-png":
            self._chunked(int(query["size"]), int(query.get("cut", 0)))
        else:
            self._head(404, {"Content-Length": "0"})

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _chunked(self, size: int, cut: int) -> None:
        """A PNG of `size` bytes without Content-Length; with `cut`, the connection drops after it."""
        self._head(200, {"Content-Type": "image/png", "Transfer-Encoding": "chunked"})
        sent = 0
        for piece in padded_png(self.png, size)[1]:
            for offset in range(0, len(piece), 256 * 1024):
                part = piece[offset : offset + 256 * 1024]
                if cut and sent + len(part) > cut:
                    self.close_connection = True
                    return  # no terminating chunk: the body is incomplete
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                sent += len(part)
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "teal").save(buffer, format="PNG")
    _Origin.png = buffer.getvalue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def policy(emulator: RunningEmulator, origin: str) -> DownloadPolicy:
    hosts = {emulator.url.removeprefix("http://"), origin.removeprefix("http://")}
    return DownloadPolicy(allowed_hosts=frozenset(hosts), connect_timeout=2, read_timeout=5)


@pytest.fixture
def key(request: pytest.FixtureRequest) -> str:
    return f"images/{request.node.name.replace('[', '-').rstrip(']')}.png"


class CountingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests += 1
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def session() -> Iterator[CountingSession]:
    with CountingSession() as counting:
        yield counting


def _versions(s3: Any, key: str) -> list[dict[str, Any]]:
    listing = s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    return [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]


def _uploads(s3: Any) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return uploads


@pytest.fixture(autouse=True)
def _clean_slate(emulator: RunningEmulator, s3: Any) -> Iterator[None]:
    yield
    emulator.reset_faults()
    assert _uploads(s3) == [], "a multipart upload was left behind"


def assert_nothing_stored(s3: Any, key: str) -> None:
    assert _versions(s3, key) == []
    assert _uploads(s3) == []


def image_url(emulator: RunningEmulator, **fields: str) -> str:
    response = requests.post(
        f"{emulator.url}/v1/ideogram-v3/generate",
        headers={"Api-Key": API_KEY},
        files={name: (None, value) for name, value in {"prompt": "a red fox", **fields}.items()},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["data"][0]["url"]
    return url


def persist(
    url: str, key: str, policy: DownloadPolicy, s3: Any, session: requests.Session, **extra: Any
) -> StoredObject:
    return persist_image(
        url,
        bucket=BUCKET,
        key=key,
        metadata=METADATA,
        tags=TAGS,
        policy=policy,
        s3=s3,
        session=session,
        **extra,
    )


def rejected(call: Callable[[], object], kind: str) -> DownloadRejected:
    with pytest.raises(DownloadRejected) as caught:
        call()
    assert caught.value.kind == kind, caught.value.message
    assert "sig=" not in str(caught.value)
    assert "exp=" not in str(caught.value)
    return caught.value


def assert_stored(s3: Any, stored: StoredObject, key: str) -> bytes:
    """The object holds exactly what StoredObject says, with our metadata and tags."""
    got = s3.get_object(Bucket=BUCKET, Key=key)
    body: bytes = got["Body"].read()
    assert hashlib.sha256(body).hexdigest() == stored.sha256
    assert len(body) == stored.size_bytes == got["ContentLength"]
    assert got["ContentType"] == stored.content_type == "image/png"
    assert got["Metadata"] == METADATA
    assert got["ETag"] == stored.etag
    assert got["VersionId"] == stored.version_id
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == TAGS
    return body


# -- the two upload paths ------------------------------------------------------------------------


def test_small_image_is_one_put(
    emulator: RunningEmulator,
    policy: DownloadPolicy,
    s3: Any,
    session: CountingSession,
    key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = image_url(emulator, aspect_ratio="16x9")
    stored = persist(url, key, policy, s3, session)

    body = assert_stored(s3, stored, key)
    assert "-" not in stored.etag  # a multipart ETag is "<md5>-<parts>"
    with Image.open(io.BytesIO(body)) as image:
        assert (stored.width, stored.height) == image.size
    assert stored.width > stored.height
    assert (stored.bucket, stored.key) == (BUCKET, key)
    assert session.requests == 1
    [record] = [record for record in caplog.records if record.getMessage() == "image persisted"]
    fields = vars(record)  # Powertools puts `extra` on the record; it becomes the JSON line
    assert fields["key"] == key
    assert (fields["sha256"], fields["size_bytes"], fields["parts"]) == (stored.sha256, stored.size_bytes, 1)
    assert fields["duration_ms"] >= 0
    assert "sig=" not in repr(fields)  # the URL's signature is never logged


def test_large_image_is_a_multipart_upload(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    emulator.settings.huge_image_bytes = 11 * MiB
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append({name.lower(): str(value) for name, value in request.headers.items()})

    s3.meta.events.register("before-send.s3.UploadPart", record)
    try:
        stored = persist(image_url(emulator), key, policy, s3, session)
    finally:
        s3.meta.events.unregister("before-send.s3.UploadPart", record)

    assert_stored(s3, stored, key)
    assert stored.size_bytes == 11 * MiB
    assert stored.etag.endswith('-3"')  # 5 + 5 + 1 MiB
    assert (stored.width, stored.height) == (1024, 1024)
    assert [headers["content-length"] for headers in sent] == [str(5 * MiB), str(5 * MiB), str(MiB)]
    assert all("x-amz-checksum-crc32" in headers for headers in sent)
    assert not any("expect" in headers for headers in sent)  # no 100-continue round trip per part


def test_without_content_length_small_and_large(
    origin: str, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    small = persist(f"{origin}/chunked-png?size=4000", key + ".small", policy, s3, session)
    assert "-" not in small.etag
    assert (small.width, small.height, small.size_bytes) == (300, 200, 4000)
    assert_stored(s3, small, key + ".small")

    large = persist(f"{origin}/chunked-png?size={7 * MiB + 3}", key, policy, s3, session)
    assert large.etag.endswith('-2"')
    assert large.size_bytes == 7 * MiB + 3
    assert_stored(s3, large, key)


# -- rejected downloads leave nothing ------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 9 * MiB], ids=["small", "multipart"])
def test_truncated_body(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str, size: int
) -> None:
    emulator.settings.huge_image_bytes = size
    emulator.settings.truncate_download = True
    url = image_url(emulator)
    rejected(lambda: persist(url, key, policy, s3, session), "truncated")
    assert_nothing_stored(s3, key)


def test_broken_connection_without_content_length(
    origin: str, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    url = f"{origin}/chunked-png?size={12 * MiB}&cut={7 * MiB}"  # part 1 is uploaded by then
    rejected(lambda: persist(url, key, policy, s3, session), "truncated")
    assert_nothing_stored(s3, key)


def test_wrong_content_type(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    emulator.settings.wrong_content_type = True
    url = image_url(emulator)
    error = rejected(lambda: persist(url, key, policy, s3, session), "bad_content_type")
    assert "text/html" in error.message
    assert_nothing_stored(s3, key)


def test_not_a_png(origin: str, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str) -> None:
    rejected(lambda: persist(f"{origin}/not-png", key, policy, s3, session), "not_png")
    assert_nothing_stored(s3, key)


def test_too_large_by_content_length(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    emulator.settings.huge_image_bytes = 12 * MiB
    small_policy = DownloadPolicy(allowed_hosts=policy.allowed_hosts, max_bytes=10 * MiB)
    url = image_url(emulator)
    error = rejected(lambda: persist(url, key, small_policy, s3, session), "too_large")
    assert str(12 * MiB) in error.message  # refused on the header, before reading the body
    assert_nothing_stored(s3, key)


def test_too_large_without_content_length(
    origin: str, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    small_policy = DownloadPolicy(allowed_hosts=policy.allowed_hosts, max_bytes=8 * MiB)
    url = f"{origin}/chunked-png?size={12 * MiB}"  # counted while reading: part 1 already uploaded
    rejected(lambda: persist(url, key, small_policy, s3, session), "too_large")
    assert_nothing_stored(s3, key)


def test_expired_url(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    emulator.settings.url_ttl_seconds = 1
    url = image_url(emulator)
    expires_at = int(parse_qs(urlsplit(url).query)["exp"][0])
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    error = rejected(lambda: persist(url, key, policy, s3, session), "expired_or_forbidden")
    assert "/api/images/ephemeral/" in error.message  # the path helps; the query is left out
    assert_nothing_stored(s3, key)


def test_tampered_url(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    url = image_url(emulator)
    signature = parse_qs(urlsplit(url).query)["sig"][0]
    tampered = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    rejected(lambda: persist(tampered, key, policy, s3, session), "expired_or_forbidden")
    assert_nothing_stored(s3, key)


@pytest.mark.parametrize(
    ("code", "kind"), [(404, "http_status"), (500, "http_status"), (410, "expired_or_forbidden")]
)
def test_error_statuses(
    origin: str, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str, code: int, kind: str
) -> None:
    rejected(lambda: persist(f"{origin}/status?code={code}", key, policy, s3, session), kind)
    assert_nothing_stored(s3, key)


def test_host_not_allowed_makes_no_request(
    emulator: RunningEmulator, s3: Any, session: CountingSession, key: str
) -> None:
    url = image_url(emulator)
    other = DownloadPolicy(allowed_hosts=frozenset({"ideogram.ai", "*.ideogram.ai", "127.0.0.1:1"}))
    rejected(lambda: persist(url, key, other, s3, session), "host_not_allowed")
    assert session.requests == 0
    assert_nothing_stored(s3, key)


def test_redirects_are_checked_hop_by_hop(
    emulator: RunningEmulator,
    origin: str,
    policy: DownloadPolicy,
    s3: Any,
    session: CountingSession,
    key: str,
) -> None:
    url = image_url(emulator)
    followed = persist(f"{origin}/redirect?to={quote(url, safe='')}", key, policy, s3, session)
    assert_stored(s3, followed, key)
    assert session.requests == 2

    session.requests = 0
    evil = f"{origin}/redirect?to={quote('http://169.254.169.254/latest/meta-data/', safe='')}"
    rejected(lambda: persist(evil, key + ".evil", policy, s3, session), "host_not_allowed")
    assert session.requests == 1  # the redirect was read, its target never fetched
    assert_nothing_stored(s3, key + ".evil")


def test_deadline_already_passed(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    url = image_url(emulator)
    rejected(lambda: persist(url, key, policy, s3, session, deadline=time.monotonic() - 1), "timeout")
    assert session.requests == 0
    assert_nothing_stored(s3, key)


def test_deadline_passes_during_a_multipart_download(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    emulator.settings.huge_image_bytes = 10 * MiB
    emulator.settings.download_bandwidth_bps = 8 * MiB  # ~1.25 s for the whole image
    url = image_url(emulator)
    started = time.monotonic()
    rejected(lambda: persist(url, key, policy, s3, session, deadline=started + 0.8), "timeout")
    assert time.monotonic() - started < 1.5
    assert_nothing_stored(s3, key)


def test_a_trickling_download_ends_at_the_overall_deadline(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession, key: str
) -> None:
    """A few hundred bytes a second never lets one read time out: the deadline must hold anyway."""
    emulator.settings.download_bandwidth_bps = 300
    url = image_url(emulator)
    started = time.monotonic()
    rejected(lambda: persist(url, key, policy, s3, session, deadline=started + 1.0), "timeout")
    assert time.monotonic() - started < 2.0
    assert_nothing_stored(s3, key)


# -- S3 failures leave nothing -------------------------------------------------------------------


Refuse = Callable[..., None]


@pytest.fixture
def refuse_s3(s3: Any) -> Iterator[Refuse]:
    """Makes the client refuse an operation's calls (from the nth on) with a ClientError."""
    registered: list[tuple[str, Callable[..., None]]] = []

    def refuse(operation: str, from_call: int = 1, code: str = "InternalError") -> None:
        calls = 0

        def handler(**_: Any) -> None:
            nonlocal calls
            calls += 1
            if calls >= from_call:
                raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

        event = f"before-call.s3.{operation}"
        s3.meta.events.register(event, handler)
        registered.append((event, handler))

    yield refuse
    for event, handler in registered:
        s3.meta.events.unregister(event, handler)


def test_upload_part_failure_aborts_the_upload(
    emulator: RunningEmulator,
    policy: DownloadPolicy,
    s3: Any,
    session: CountingSession,
    key: str,
    refuse_s3: Refuse,
) -> None:
    emulator.settings.huge_image_bytes = 12 * MiB
    refuse_s3("UploadPart", from_call=2)
    url = image_url(emulator)
    with pytest.raises(StorageError) as caught:
        persist(url, key, policy, s3, session)
    assert caught.value.kind == "s3"
    assert caught.value.message == "S3 UploadPart failed (InternalError)"
    assert_nothing_stored(s3, key)


def test_complete_failure_aborts_the_upload(
    emulator: RunningEmulator,
    policy: DownloadPolicy,
    s3: Any,
    session: CountingSession,
    key: str,
    refuse_s3: Refuse,
) -> None:
    emulator.settings.huge_image_bytes = 6 * MiB
    refuse_s3("CompleteMultipartUpload")
    with pytest.raises(StorageError, match="CompleteMultipartUpload"):
        persist(image_url(emulator), key, policy, s3, session)
    assert_nothing_stored(s3, key)


def test_create_failure(
    emulator: RunningEmulator,
    policy: DownloadPolicy,
    s3: Any,
    session: CountingSession,
    key: str,
    refuse_s3: Refuse,
) -> None:
    emulator.settings.huge_image_bytes = 6 * MiB
    refuse_s3("CreateMultipartUpload", code="AccessDenied")
    with pytest.raises(StorageError, match="AccessDenied"):
        persist(image_url(emulator), key, policy, s3, session)
    assert_nothing_stored(s3, key)


def test_put_failure(
    emulator: RunningEmulator,
    policy: DownloadPolicy,
    s3: Any,
    session: CountingSession,
    key: str,
    refuse_s3: Refuse,
) -> None:
    refuse_s3("PutObject", code="SlowDown")
    with pytest.raises(StorageError, match="PutObject"):
        persist(image_url(emulator), key, policy, s3, session)
    assert_nothing_stored(s3, key)


def test_missing_bucket(
    emulator: RunningEmulator, policy: DownloadPolicy, s3: Any, session: CountingSession
) -> None:
    with pytest.raises(StorageError, match="NoSuchBucket"):
        persist_image(
            image_url(emulator),
            bucket="no-such-bucket-here",
            key="images/x.png",
            metadata={},
            tags={},
            policy=policy,
            s3=s3,
            session=session,
        )


# -- reading it back -----------------------------------------------------------------------------


def test_presigned_url_serves_the_stored_bytes(
    aws: AwsEmulator,
    emulator: RunningEmulator,
    policy: DownloadPolicy,
    s3: Any,
    session: CountingSession,
    key: str,
) -> None:
    stored = persist(image_url(emulator), key, policy, s3, session)
    url = presigned_get_url(s3, BUCKET, key, expires_in=60)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "X-Amz-Expires=60" in url
    # moto may serve https with a certificate of its own (then the emulator names its CA file).
    verify: str | bool = getattr(aws, "ca_bundle", True)
    response = requests.get(url, timeout=10, verify=verify)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == stored.sha256
    with pytest.raises(ValueError, match="expires_in"):
        presigned_get_url(s3, BUCKET, key, expires_in=8 * 24 * 3600)


@pytest.mark.parametrize("signature_version", [None, "s3v4"], ids=["default-config", "s3v4-config"])
def test_presigned_urls_are_sigv4_whatever_the_client_config(
    aws: AwsEmulator, signature_version: str | None
) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=aws.endpoint_url,
        region_name=LOCAL_AWS_ENVIRONMENT["AWS_REGION"],
        config=Config(signature_version=signature_version),
    )
    # botocore alone presigns with SigV2 unless the client was configured with s3v4
    plain = client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"})
    assert ("AWSAccessKeyId=" in plain) == (signature_version is None)

    url = presigned_get_url(client, BUCKET, "images/x.png")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "X-Amz-Expires=900" in url
