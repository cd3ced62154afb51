"""The Ideogram client speaks Ideogram's OpenAPI spec, and works end to end against the emulator.

1. Every request the client builds (legacy JSON and v3 multipart, across the parameter space) is
   captured by a recording adapter and validated with openapi-core against the vendored spec
   (tests/contract/spec_validation.py; multipart goes through its typed JSON twin).
2. Over real HTTP against the local Ideogram emulator: happy paths, unsafe images, safety 422,
   wrong key, scripted 429/503/402, persistent 5xx and latency beyond the read timeout. The
   session used there validates every outgoing request against the spec too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.request.exceptions import RequestValidationError
from requests.adapters import BaseAdapter, HTTPAdapter

from ideogram_assets.ideogram import (
    Endpoint,
    GenerateParams,
    IdeogramAuthError,
    IdeogramClient,
    IdeogramInsufficientCredits,
    IdeogramRejected,
    IdeogramUnavailable,
    RetryPolicy,
)
from local_stack.ideogram import EmulatorSettings, RunningEmulator, start_emulator
from tests.contract.spec_validation import json_twin, multipart_parts, openapi, validate_request

API_KEY = "client-contract-key"
BASE_URL = "https://api.ideogram.test"
CANNED = {
    "created": "2024-12-15T17:32:00.965408+00:00",
    "data": [
        {
            "url": "https://ideogram.ai/api/images/ephemeral/xtdZiqPwRxqY1Y7NExFmzB.png?exp=1743867804&sig=e1",
            "prompt": "A photo of a cat sleeping on a couch.",
            "resolution": "1024x1024",
            "is_image_safe": True,
            "seed": 12345,
            "style_type": "GENERAL",
        }
    ],
}
FAST_RETRY = RetryPolicy(base_delay=0.02, max_delay=0.1, max_attempts=20, min_attempt_seconds=0.05)


def params(**fields: Any) -> GenerateParams:
    """GenerateParams from plain JSON-like values (enum names as strings), as the API receives them."""
    return GenerateParams.model_validate({"prompt": "x", **fields})


# -- 1. every request the client builds is one the spec accepts ------------------------------------


class RecordingAdapter(BaseAdapter):
    """Keeps each request and answers 200 with a canned, spec-valid body."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(CANNED).encode()
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _sent(wanted: GenerateParams) -> requests.PreparedRequest:
    adapter = RecordingAdapter()
    session = requests.Session()
    session.mount("https://", adapter)
    IdeogramClient(BASE_URL, API_KEY, session).generate(wanted)
    [prepared] = adapter.requests
    return prepared


MEMBERS = [
    {"color_hex": "#b470b3", "color_weight": 0.49},
    {"color_hex": "#7a79e3", "color_weight": 0.16},
    {"color_hex": "#FFF"},
]
V3_CASES: dict[str, dict[str, Any]] = {
    "minimal": {},
    "seed-0": {"seed": 0},
    "seed-max": {"seed": 2147483647},
    "eight-images": {"num_images": 8},
    "negative-prompt": {"negative_prompt": "brush strokes, painting"},
    "palette-preset": {"color_palette": "ULTRAMARINE"},
    "palette-members": {"color_palette": MEMBERS},
    "aspect-ratio": {"aspect_ratio": "4x5"},
    "resolution": {"resolution": "800x1280"},
    "flash": {"rendering_speed": "FLASH"},
    "balanced": {"rendering_speed": "BALANCED"},
    "everything": {
        "negative_prompt": "blur",
        "rendering_speed": "QUALITY",
        "style_type": "DESIGN",
        "aspect_ratio": "16x9",
        "magic_prompt": "OFF",
        "seed": 42,
        "num_images": 8,
        "color_palette": MEMBERS,
    },
}
LEGACY_CASES: dict[str, dict[str, Any]] = {
    "v1": {"model": "V_1"},
    "v1-turbo-negative": {"model": "V_1", "rendering_speed": "TURBO", "negative_prompt": "fog"},
    "v2-seed": {"model": "V_2", "seed": 7},
    "v2-turbo-eight": {"model": "V_2", "rendering_speed": "TURBO", "num_images": 8},
    "v2-palette-preset": {"model": "V_2", "color_palette": "PASTEL"},
    "v2-palette-members": {"model": "V_2", "color_palette": MEMBERS},
    "v2-resolution": {"model": "V_2", "resolution": "1280x720"},
    "v2a-style": {"model": "V_2A", "style_type": "ANIME", "aspect_ratio": "10x16"},
    "v2a-turbo-magic": {"model": "V_2A", "rendering_speed": "TURBO", "magic_prompt": "ON"},
    "everything": {
        "model": "V_2",
        "negative_prompt": "blur",
        "style_type": "RENDER_3D",
        "aspect_ratio": "3x1",
        "magic_prompt": "AUTO",
        "seed": 2147483647,
        "num_images": 8,
        "color_palette": "EMBER",
    },
}


@pytest.mark.parametrize("fields", V3_CASES.values(), ids=V3_CASES.keys())
def test_v3_requests_follow_the_spec(fields: dict[str, Any]) -> None:
    prepared = _sent(params(prompt="A photo of a cat", **fields))
    assert prepared.url == BASE_URL + "/v1/ideogram-v3/generate"
    validate_request(prepared)
    # Checked against the typed twin too, so a value cannot pass by being compared as text.
    twin = json.loads(json_twin(prepared).body or b"{}")
    for name, value in fields.items():
        expected = {"name": value} if name == "color_palette" and isinstance(value, str) else value
        if name == "color_palette" and isinstance(value, list):
            expected = {"members": value}
        assert twin[name] == expected


@pytest.mark.parametrize("fields", LEGACY_CASES.values(), ids=LEGACY_CASES.keys())
def test_legacy_requests_follow_the_spec(fields: dict[str, Any]) -> None:
    prepared = _sent(params(prompt="A serene tropical beach", **fields))
    assert prepared.url == BASE_URL + "/generate"
    assert prepared.headers["Content-Type"] == "application/json"
    validate_request(prepared)


def test_palette_part_is_declared_json_as_the_spec_encoding_says() -> None:
    parts = {part.name: part for part in multipart_parts(_sent(params(prompt="x", color_palette="MAGIC")))}
    assert parts["color_palette"].content_type == "application/json"
    assert parts["prompt"].content_type is None
    assert parts["prompt"].filename is None


def test_the_validator_does_refuse_what_the_spec_refuses() -> None:
    """Guards the guard: a request breaking the spec must fail validate_request."""
    prepared = _sent(params(prompt="x", num_images=8))
    broken = prepared.copy()
    assert isinstance(broken.body, bytes)
    broken.body = broken.body.replace(b'name="num_images"\r\n\r\n8', b'name="num_images"\r\n\r\n9')
    with pytest.raises(RequestValidationError):
        validate_request(broken)
    legacy = _sent(params(prompt="x", model="V_2"))
    without_key = legacy.copy()
    del without_key.headers["Api-Key"]
    with pytest.raises(RequestValidationError):
        validate_request(without_key)


def test_the_canned_response_is_one_the_spec_allows() -> None:
    for wanted in (params(), params(model="V_2")):
        prepared = _sent(wanted)
        response = RecordingAdapter().send(prepared)
        openapi().validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))


# -- 2. end to end against the emulator ----------------------------------------------------------


class SpecCheckingAdapter(HTTPAdapter):
    """A real HTTP adapter that first validates each outgoing request against the spec."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        validate_request(request)
        return super().send(request, *args, **kwargs)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    running = start_emulator(EmulatorSettings(api_key=API_KEY, log_requests=False), host="127.0.0.1", port=0)
    yield running
    running.stop()


@pytest.fixture
def emu(emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    emulator.reset_faults()
    yield emulator
    emulator.reset_faults()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as shared:
        shared.mount("http://", SpecCheckingAdapter())
        yield shared


def _client(
    emu: RunningEmulator, session: requests.Session, *, api_key: str = API_KEY, read_timeout: float = 10
) -> IdeogramClient:
    return IdeogramClient(
        emu.url, api_key, session, connect_timeout=2, read_timeout=read_timeout, retry=FAST_RETRY
    )


def test_v3_happy_path(emu: RunningEmulator, session: requests.Session) -> None:
    wanted = params(prompt="a red fox", num_images=3, aspect_ratio="16x9", seed=100, color_palette="JUNGLE")
    result = _client(emu, session).generate(wanted, deadline=time.monotonic() + 10)
    assert (result.endpoint, result.attempts) == (Endpoint.V3, 1)
    assert result.latency_ms > 0
    assert result.created.utcoffset() is not None
    assert [image.seed for image in result.data] == [100, 101, 102]
    for image in result.data:
        assert image.is_image_safe
        assert image.url is not None
        assert image.url.startswith(emu.url)
        assert image.resolution == "1312x736"
        assert image.prompt.startswith("a red fox, with ")  # expanded by Magic Prompt


def test_legacy_happy_path(emu: RunningEmulator, session: requests.Session) -> None:
    wanted = params(
        prompt="a lighthouse", model="V_2", rendering_speed="TURBO", magic_prompt="OFF", style_type="ANIME"
    )
    result = _client(emu, session).generate(wanted)
    assert (result.endpoint, result.attempts, len(result.data)) == (Endpoint.LEGACY, 1, 1)
    [image] = result.data
    assert (image.prompt, image.style_type, image.resolution) == ("a lighthouse", "ANIME", "1024x1024")


@pytest.mark.parametrize("model", ["V_3", "V_2"])
def test_unsafe_images_have_no_url(emu: RunningEmulator, session: requests.Session, model: str) -> None:
    wanted = params(prompt="an unsafe scene", num_images=2, model=model)
    result = _client(emu, session).generate(wanted)
    assert [(image.is_image_safe, image.url) for image in result.data] == [(False, None), (False, None)]


@pytest.mark.parametrize("model", ["V_3", "V_2"])
def test_safety_failure_is_rejected_with_ideograms_message(
    emu: RunningEmulator, session: requests.Session, model: str
) -> None:
    with pytest.raises(IdeogramRejected) as caught:
        _client(emu, session).generate(params(prompt="a forbidden scene", model=model))
    error = caught.value
    assert (error.status, error.http_status, error.kind, error.attempts) == (422, 422, "safety_rejected", 1)
    assert error.message == "Prompt provided failed safety check due to the inclusion of prohibited content."


def test_wrong_key_is_an_auth_error(emu: RunningEmulator, session: requests.Session) -> None:
    with pytest.raises(IdeogramAuthError) as caught:
        _client(emu, session, api_key="wrong-key").generate(params(prompt="x"))
    assert caught.value.status == 401
    assert "wrong-key" not in str(caught.value)


def test_rate_limit_and_outage_then_success(emu: RunningEmulator, session: requests.Session) -> None:
    emu.settings.fail_next = [{"status": 429}, {"status": 503}]
    result = _client(emu, session).generate(params(prompt="x"), deadline=time.monotonic() + 10)
    assert result.attempts == 3
    assert emu.settings.fail_next == []


def test_insufficient_credits_is_not_retried(emu: RunningEmulator, session: requests.Session) -> None:
    emu.settings.fail_next = [{"status": 402}, {"status": 503}]
    with pytest.raises(IdeogramInsufficientCredits):
        _client(emu, session).generate(params(prompt="x", model="V_2"))
    assert emu.settings.fail_next == [{"status": 503}]  # exactly one request was sent


def test_persistent_5xx_ends_unavailable_within_the_deadline(
    emu: RunningEmulator, session: requests.Session
) -> None:
    emu.settings.error_rate_5xx = 1.0
    started = time.monotonic()
    deadline = started + 0.8
    with pytest.raises(IdeogramUnavailable) as caught:
        _client(emu, session).generate(params(prompt="x"), deadline=deadline)
    assert time.monotonic() <= deadline
    error = caught.value
    assert error.reason == "server_error"
    assert error.status in (500, 503)
    assert error.attempts > 1
    assert error.retry_after_seconds >= 1


def test_latency_beyond_the_read_timeout_is_retried_then_unavailable(
    emu: RunningEmulator, session: requests.Session
) -> None:
    emu.settings.latency_seconds = 0.5
    deadline = time.monotonic() + 0.9
    with pytest.raises(IdeogramUnavailable) as caught:
        _client(emu, session, read_timeout=0.2).generate(params(prompt="x"), deadline=deadline)
    assert time.monotonic() <= deadline + 0.05  # requests' timer granularity
    assert caught.value.reason == "timeout"
    assert caught.value.attempts >= 2


def test_latency_within_the_read_timeout_succeeds(emu: RunningEmulator, session: requests.Session) -> None:
    emu.settings.latency_seconds = 0.2
    result = _client(emu, session, read_timeout=2).generate(params(prompt="x"))
    assert result.attempts == 1
    assert result.latency_ms >= 200
