"""The Ideogram emulator's ephemeral URLs, in-flight limit and fault switches, all over real HTTP.

Faults are changed at runtime through the emulator's own control routes (/_emulator/faults and
/_emulator/reset), exactly as a test of the product would, and observed over HTTP.
"""

from __future__ import annotations

import http.client
import io
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image

from local_stack.ideogram import EmulatorSettings, RunningEmulator, start_emulator

API_KEY = "integration-test-key"
V3 = "/v1/ideogram-v3/generate"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STARTUP_TTL = 600  # a per-run value: reset must come back to it, not to the dataclass default


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    settings = EmulatorSettings(api_key=API_KEY, url_ttl_seconds=STARTUP_TTL, log_requests=False)
    running = start_emulator(settings, host="127.0.0.1", port=0)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _fresh_faults(emulator: RunningEmulator) -> Iterator[None]:
    yield
    requests.post(f"{emulator.url}/_emulator/reset", timeout=10).raise_for_status()


def set_faults(emulator: RunningEmulator, **faults: Any) -> dict[str, Any]:
    response = requests.put(f"{emulator.url}/_emulator/faults", json=faults, timeout=10)
    assert response.status_code == 200, response.text
    current: dict[str, Any] = response.json()
    return current


def generate(emulator: RunningEmulator, prompt: str = "a red fox", num_images: int = 1) -> requests.Response:
    return requests.post(
        emulator.url + V3,
        files={"prompt": (None, prompt), "num_images": (None, str(num_images))},
        headers={"Api-Key": API_KEY},
        timeout=30,
    )


def image_url(emulator: RunningEmulator, **fields: Any) -> str:
    response = generate(emulator, **fields)
    assert response.status_code == 200, response.text
    url: str = response.json()["data"][0]["url"]
    return url


# -- ephemeral signed URLs -----------------------------------------------------------------------


def test_url_expires(emulator: RunningEmulator) -> None:
    set_faults(emulator, url_ttl_seconds=2)
    url = image_url(emulator)
    expires_at = int(parse_qs(urlsplit(url).query)["exp"][0])
    assert expires_at - time.time() <= 2
    assert requests.get(url, timeout=10).status_code == 200  # at least 1 s of validity left
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert "expired" in response.json()["error"]


def _replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query="&".join(f"{name}={value}" for name, value in query.items())).geturl()


def test_tampered_urls_are_403(emulator: RunningEmulator) -> None:
    url, other = image_url(emulator), image_url(emulator, prompt="a blue jay")
    assert requests.get(url, timeout=10).status_code == 200
    query = parse_qs(urlsplit(url).query)
    signature, expires_at = query["sig"][0], int(query["exp"][0])
    other_id = urlsplit(other).path.rsplit("/", 1)[1]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    tampered = [
        _replace_query(url, sig=flipped),
        _replace_query(url, sig=signature[:-2]),
        _replace_query(url, exp=str(expires_at + 3600)),  # a longer life is not for the client to choose
        _replace_query(url, exp=f"0{expires_at}"),
        url.split("?")[0] + f"?exp={expires_at}",  # no signature
        url.split("?")[0],
        urlsplit(url)._replace(path=f"/api/images/ephemeral/{other_id}").geturl(),  # another image's id
    ]
    for bad in tampered:
        response = requests.get(bad, timeout=10)
        assert response.status_code == 403, bad
        assert response.json()["error"]


def test_download_headers_and_head(emulator: RunningEmulator) -> None:
    url = image_url(emulator)
    response = requests.get(url, timeout=10)
    assert response.headers["Content-Type"] == "image/png"
    assert int(response.headers["Content-Length"]) == len(response.content)
    head = requests.head(url, timeout=10)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == response.headers["Content-Length"]
    assert Image.open(io.BytesIO(response.content)).size == (1024, 1024)


# -- in-flight limit -----------------------------------------------------------------------------


def _concurrently(emulator: RunningEmulator, *image_counts: int) -> list[requests.Response]:
    barrier = threading.Barrier(len(image_counts))
    responses: list[requests.Response | None] = [None] * len(image_counts)

    def call(index: int, num_images: int) -> None:
        barrier.wait()
        responses[index] = generate(emulator, num_images=num_images)

    threads = [threading.Thread(target=call, args=pair) for pair in enumerate(image_counts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(response is not None for response in responses)
    return [response for response in responses if response is not None]


def test_inflight_limit_counts_images(emulator: RunningEmulator) -> None:
    set_faults(emulator, inflight_limit=4, latency_seconds=0.5)
    statuses = sorted(response.status_code for response in _concurrently(emulator, 3, 3))
    assert statuses == [200, 429]  # two requests, but six images for four slots
    [refused] = [response for response in _concurrently(emulator, 3, 3) if response.status_code == 429]
    assert refused.json()["reject_reason"] == "inflight_limit"
    assert refused.json()["error"]
    # Slots come back once requests finish: two requests of two images fit together.
    assert [response.status_code for response in _concurrently(emulator, 2, 2)] == [200, 200]
    assert generate(emulator, num_images=5).status_code == 429  # more images than slots, ever


# -- fault switches ------------------------------------------------------------------------------


def test_faults_are_readable_and_reset_restores_the_run_values(emulator: RunningEmulator) -> None:
    initial = requests.get(f"{emulator.url}/_emulator/faults", timeout=10).json()
    assert initial["url_ttl_seconds"] == STARTUP_TTL
    assert initial["inflight_limit"] == 10
    assert "api_key" not in initial
    assert "signing_secret" not in initial
    changed = set_faults(emulator, latency_seconds=0.25, error_rate_5xx=0.5, fail_next=[{"status": 402}])
    assert changed["latency_seconds"] == 0.25
    assert changed["fail_next"] == [{"status": 402}]
    emulator.settings.wrong_content_type = True  # the Python object is the same live settings
    assert requests.get(f"{emulator.url}/_emulator/faults", timeout=10).json()["wrong_content_type"] is True
    reset = requests.post(f"{emulator.url}/_emulator/reset", timeout=10).json()
    assert reset == initial
    assert generate(emulator).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"no_such_fault": 1},
        {"error_rate_5xx": 2},
        {"latency_seconds": -1},
        {"truncate_download": "yes"},
        {"fail_next": [{"status": 99}]},
        {"safety_pattern": "("},
        {"return_images_delta": 9},
        {"return_images_delta": True},
        {"unreadable_response": "sometimes"},
        {"image_faults": {"index": 0, "fault": "reset"}},
        {"image_faults": [{"index": 0}]},
        {"image_faults": [{"index": -1, "fault": "reset"}]},
        {"image_faults": [{"index": 0, "fault": "explode"}]},
        {"image_faults": [{"index": 0, "fault": "reset", "times": 0}]},
        {"image_faults": [{"index": 0, "fault": "stall", "stall_seconds": 601}]},
        {"image_faults": [{"index": 0, "fault": "truncate", "colour": "red"}]},
        [1, 2],
    ],
)
def test_bad_fault_updates_are_400_and_change_nothing(emulator: RunningEmulator, body: Any) -> None:
    before = requests.get(f"{emulator.url}/_emulator/faults", timeout=10).json()
    response = requests.put(f"{emulator.url}/_emulator/faults", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]
    assert requests.get(f"{emulator.url}/_emulator/faults", timeout=10).json() == before


def test_latency(emulator: RunningEmulator) -> None:
    set_faults(emulator, latency_seconds=0.5)
    started = time.monotonic()
    assert generate(emulator).status_code == 200
    assert time.monotonic() - started >= 0.5


def test_bandwidth_cap_slows_downloads(emulator: RunningEmulator) -> None:
    size, bandwidth = 400_000, 500_000
    url = image_url(emulator)
    set_faults(emulator, huge_image_bytes=size, download_bandwidth_bps=bandwidth)
    started = time.monotonic()
    response = requests.get(url, timeout=30)
    elapsed = time.monotonic() - started
    assert len(response.content) == size
    # The server paces in steps of bandwidth/20 bytes, so all but the last step take size/bandwidth.
    assert elapsed >= size / bandwidth - 0.1


def test_error_rate_5xx(emulator: RunningEmulator) -> None:
    set_faults(emulator, error_rate_5xx=1.0)
    for _ in range(5):
        response = generate(emulator)
        assert response.status_code in (500, 503)
        assert response.json()["error"]
    set_faults(emulator, error_rate_5xx=0.0)
    assert generate(emulator).status_code == 200


def test_fail_next_sequence(emulator: RunningEmulator) -> None:
    set_faults(
        emulator,
        fail_next=[{"status": 429}, {"status": 503}, {"status": 402, "body": {"error": "no credits"}}],
    )
    first = generate(emulator)
    assert first.status_code == 429
    assert first.json()["reject_reason"] == "inflight_limit"
    assert generate(emulator).status_code == 503
    third = generate(emulator)
    assert (third.status_code, third.json()) == (402, {"error": "no credits"})
    assert generate(emulator).status_code == 200
    assert requests.get(f"{emulator.url}/_emulator/faults", timeout=10).json()["fail_next"] == []


def test_truncated_download(emulator: RunningEmulator) -> None:
    url = image_url(emulator)
    set_faults(emulator, truncate_download=True)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        requests.get(url, timeout=10)
    # Below requests: the body really is shorter than the promised Content-Length.
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        promised = int(response.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as short:
            response.read()
    finally:
        connection.close()
    assert 0 < len(short.value.partial) < promised


def test_wrong_content_type(emulator: RunningEmulator) -> None:
    url = image_url(emulator)
    set_faults(emulator, wrong_content_type=True)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert not response.content.startswith(PNG_SIGNATURE)


def test_huge_image(emulator: RunningEmulator) -> None:
    size = 8 * 1024 * 1024
    url = image_url(emulator)
    set_faults(emulator, huge_image_bytes=size)
    with requests.get(url, stream=True, timeout=30) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert int(response.headers["Content-Length"]) == size
        body = b"".join(response.iter_content(1024 * 1024))
    assert len(body) == size
    assert body.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(body))
    image.load()  # decodes: the padding is an ancillary chunk a PNG reader skips
    assert image.size == (1024, 1024)


def test_ideogram_can_return_fewer_or_more_images_than_asked(emulator: RunningEmulator) -> None:
    set_faults(emulator, return_images_delta=-1)
    assert len(generate(emulator, num_images=3).json()["data"]) == 2
    assert generate(emulator, num_images=1).json()["data"] == []  # never fewer than none
    set_faults(emulator, return_images_delta=2)
    data = generate(emulator, num_images=2).json()["data"]
    assert len(data) == 4
    assert len({image["url"] for image in data}) == 4
    assert all(requests.get(image["url"], timeout=10).status_code == 200 for image in data)


def test_unreadable_responses_are_200s_no_client_can_parse(emulator: RunningEmulator) -> None:
    set_faults(emulator, unreadable_response="not_json")
    cut = generate(emulator)
    assert cut.status_code == 200
    assert int(cut.headers["Content-Length"]) == len(cut.content)  # complete on the wire
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    set_faults(emulator, unreadable_response="breaks_schema")
    renamed = generate(emulator)
    assert renamed.status_code == 200
    assert "data" not in renamed.json()
    assert renamed.json()["images"][0]["url"]  # the images exist: the generation happened


def test_generate_requests_are_counted(emulator: RunningEmulator) -> None:
    def seen() -> int:
        count: int = requests.get(f"{emulator.url}/_emulator/health", timeout=10).json()["generate_requests"]
        return count

    before = seen()
    generate(emulator)
    requests.post(emulator.url + V3, files={"prompt": (None, "a fox")}, timeout=10)  # 401, still a call
    assert seen() == before + 2


def test_429s_are_counted_whatever_their_cause(emulator: RunningEmulator) -> None:
    def health() -> dict[str, int]:
        answer: dict[str, int] = requests.get(f"{emulator.url}/_emulator/health", timeout=10).json()
        return answer

    before = health()
    set_faults(emulator, inflight_limit=4, latency_seconds=0.5)
    statuses = sorted(response.status_code for response in _concurrently(emulator, 3, 3))
    assert statuses == [200, 429]  # the in-flight limit refuses one
    set_faults(emulator, fail_next=[{"status": 429}, {"status": 503}])
    assert generate(emulator).status_code == 429  # scripted
    assert generate(emulator).status_code == 503  # not a 429: not counted
    assert generate(emulator).status_code == 200
    after = health()
    assert after["rate_limited_requests"] == before["rate_limited_requests"] + 2
    assert after["generate_requests"] == before["generate_requests"] + 5
    assert after["inflight_images"] == 0


def _two_image_urls(emulator: RunningEmulator) -> list[str]:
    response = generate(emulator, num_images=2)
    assert response.status_code == 200, response.text
    return [image["url"] for image in response.json()["data"]]


def test_an_image_fault_hits_only_its_index_and_every_download_by_default(emulator: RunningEmulator) -> None:
    set_faults(emulator, image_faults=[{"index": 1, "fault": "truncate"}])
    first, second = _two_image_urls(emulator)
    for _ in range(3):
        assert requests.get(first, timeout=10).status_code == 200
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
            requests.get(second, timeout=10)
    assert requests.head(second, timeout=10).status_code == 200  # HEAD shows a normal download


def test_a_reset_fault_with_times_fails_that_many_downloads_of_each_image(emulator: RunningEmulator) -> None:
    set_faults(emulator, image_faults=[{"index": 0, "fault": "reset", "times": 1}])
    for url in (image_url(emulator), image_url(emulator, prompt="a grey heron")):  # counted per image
        with pytest.raises(requests.exceptions.ChunkedEncodingError) as broken:
            requests.get(url, timeout=10)
        assert "reset" in str(broken.value).lower()
        retried = requests.get(url, timeout=10)
        assert retried.status_code == 200
        assert int(retried.headers["Content-Length"]) == len(retried.content)
        assert retried.content.startswith(PNG_SIGNATURE)


def test_a_reset_cuts_the_body_where_asked(emulator: RunningEmulator) -> None:
    url = image_url(emulator)
    set_faults(emulator, image_faults=[{"index": 0, "fault": "reset", "after_bytes": 1000}])
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        assert response.status == 200
        received = response.read(1000)
        with pytest.raises(ConnectionResetError):
            response.read()
    finally:
        connection.close()
    assert len(received) == 1000


def test_a_wrong_content_type_fault_serves_html_the_given_number_of_times(emulator: RunningEmulator) -> None:
    set_faults(emulator, image_faults=[{"index": 0, "fault": "wrong_content_type", "times": 2}])
    url = image_url(emulator)
    types = [requests.get(url, timeout=10).headers["Content-Type"] for _ in range(3)]
    assert [kind.split(";")[0] for kind in types] == ["text/html", "text/html", "image/png"]


def test_a_stall_fault_stops_sending_mid_body(emulator: RunningEmulator) -> None:
    set_faults(
        emulator, image_faults=[{"index": 0, "fault": "stall", "after_bytes": 4096, "stall_seconds": 20}]
    )
    url = image_url(emulator)
    started = time.monotonic()
    with requests.get(url, stream=True, timeout=(5, 0.5)) as response:
        assert response.status_code == 200
        received = bytearray()

        def read_body() -> None:
            for chunk in response.iter_content(1024):
                received.extend(chunk)

        with pytest.raises(requests.exceptions.ConnectionError, match="timed out"):
            read_body()
    assert len(received) == 4096
    assert time.monotonic() - started < 5
    # Rules are counted again from zero whenever image_faults is set; a reset removes them.
    requests.post(f"{emulator.url}/_emulator/reset", timeout=10).raise_for_status()
    assert requests.get(url, timeout=10).status_code == 200


# -- the command line ----------------------------------------------------------------------------


def test_cli_serves_logs_without_secrets_and_stops_on_ctrl_c() -> None:
    key = "cli-secret-key-4711"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_stack.ideogram",
            "--port",
            "0",
            "--api-key",
            key,
            "--url-ttl-seconds",
            "30",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        assert "listening on http://127.0.0.1:" in banner
        url = banner.split("listening on ", 1)[1].split()[0]
        response = requests.post(
            url + V3, files={"prompt": (None, "a fox")}, headers={"Api-Key": key}, timeout=10
        )
        assert response.status_code == 200
        image = response.json()["data"][0]["url"]
        assert image.startswith(url)
        assert requests.get(image, timeout=10).status_code == 200
        assert requests.post(url + V3, files={"prompt": (None, "a fox")}, timeout=10).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0
    lines = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert [(line["method"], line["status"]) for line in lines] == [
        ("POST", 200),
        ("GET", 200),
        ("POST", 401),
    ]
    assert all({"path", "duration_ms"} <= set(line) for line in lines)
    assert key not in errors
    assert "sig=" not in errors
    assert "stopped" in errors


def test_a_kept_connection_answers_after_the_latency_alone(emulator: RunningEmulator) -> None:
    """The emulator answers after L, not L plus the ~40 ms a body waits for the client's delayed
    acknowledgement when Nagle's algorithm holds it back on a kept-alive connection."""
    set_faults(emulator, latency_seconds=0.2)
    body = {"image_request": {"prompt": "a lighthouse at dusk", "seed": 7}}
    with requests.Session() as session:
        took = []
        for _ in range(6):
            started = time.perf_counter()
            reply = session.post(
                f"{emulator.url}/generate", json=body, headers={"Api-Key": API_KEY}, timeout=10
            )
            took.append(time.perf_counter() - started)
            assert reply.status_code == 200, reply.text
    assert sorted(took)[len(took) // 2] < 0.2 + 0.03  # one connection throughout; ~0.24 s with Nagle


def test_every_local_http_server_sends_without_nagles_delay() -> None:
    from local_stack.fault_proxy import _ProxyHandler
    from local_stack.gateway import _GatewayHandler
    from local_stack.ideogram.server import _Handler
    from local_stack.lambda_api import _LambdaApiHandler

    for handler in (_Handler, _GatewayHandler, _LambdaApiHandler, _ProxyHandler):
        assert handler.protocol_version == "HTTP/1.1"
        assert handler.disable_nagle_algorithm is True, handler.__name__
