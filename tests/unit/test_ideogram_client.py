"""The Ideogram client's logic without a network: mapping, bodies, parsing, errors, retries, secrecy.

HTTP goes through a scripted `requests` adapter mounted on the session; time is a fake clock that
the adapter and the injected `sleep` advance, so deadlines are checked exactly and instantly.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import requests
from pydantic import ValidationError
from requests.adapters import BaseAdapter

from ideogram_assets.ideogram import (
    LEGACY_PATH,
    V3_PATH,
    ColorPalettePreset,
    Endpoint,
    GenerateParams,
    IdeogramAuthError,
    IdeogramClient,
    IdeogramError,
    IdeogramInsufficientCredits,
    IdeogramProtocolError,
    IdeogramRejected,
    IdeogramRequestError,
    IdeogramUnavailable,
    MagicPrompt,
    ModelVersion,
    RenderingSpeed,
    RetryPolicy,
    StyleType,
    legacy_model_name,
    spec_values,
)
from ideogram_assets.ideogram.models import parse_generation
from ideogram_assets.ideogram.payload import legacy_body, prepare_call, v3_form
from ideogram_assets.observability import logger
from local_stack.ideogram.spec import SPEC_PATH
from tests.contract.spec_validation import multipart_parts

BASE_URL = "https://api.ideogram.test"
API_KEY = "sk-RECOGNIZABLE-ideogram-key-0123456789"
CREATED = "2024-12-15T17:32:00.965408+00:00"


def image(**overrides: Any) -> dict[str, Any]:
    body = {
        "url": "https://ideogram.ai/api/images/ephemeral/abc.png?exp=1&sig=00",
        "prompt": "a red fox, expanded",
        "resolution": "1024x1024",
        "is_image_safe": True,
        "seed": 12345,
        "style_type": "GENERAL",
    }
    return {**body, **overrides}


def ok_body(*images: dict[str, Any], created: str = CREATED) -> dict[str, Any]:
    return {"created": created, "data": list(images) or [image()]}


def params(**fields: Any) -> GenerateParams:
    """GenerateParams from plain JSON-like values (enum names as strings), as the API receives them."""
    return GenerateParams.model_validate({"prompt": "x", **fields})


# -- fakes ---------------------------------------------------------------------------------------


class FakeClock:
    """Monotonic time that only moves when told to: by `sleep` or by the adapter (request latency)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=ok_body)
    headers: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0  # seconds the attempt takes on the fake clock


class ScriptedAdapter(BaseAdapter):
    """Answers each request with the next scripted Reply, or raises the scripted exception.

    A timeout (raised or caused by a latency longer than the read timeout) consumes the whole read
    timeout the client passed, as a real one would.
    """

    def __init__(self, clock: FakeClock, script: list[Reply | Exception]) -> None:
        super().__init__()
        self.clock = clock
        self.script = list(script)
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[tuple[float, float]] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **_: Any
    ) -> requests.Response:
        self.requests.append(request)
        self.timeouts.append(timeout)
        assert self.script, "the client sent more requests than scripted"
        item = self.script.pop(0)
        if isinstance(item, requests.Timeout):
            self.clock.now += timeout[1]
            raise item
        if isinstance(item, Exception):
            raise item
        if item.latency > timeout[1]:  # a slow answer is a read timeout, as with a real socket
            self.clock.now += timeout[1]
            raise requests.ReadTimeout("scripted latency exceeds the read timeout")
        self.clock.now += item.latency
        response = requests.Response()
        response.status_code = item.status
        response.headers.update({"Content-Type": "application/json", **item.headers})
        body = item.body
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@dataclass
class Harness:
    clock: FakeClock
    adapter: ScriptedAdapter
    session: requests.Session
    client: IdeogramClient


def harness(
    script: list[Reply | Exception],
    *,
    api_key: str = API_KEY,
    retry: RetryPolicy | None = None,
    random: float = 1.0,
    read_timeout: float = 60,
) -> Harness:
    clock = FakeClock()
    adapter = ScriptedAdapter(clock, script)
    session = requests.Session()
    session.mount("https://", adapter)
    client = IdeogramClient(
        BASE_URL,
        api_key,
        session,
        read_timeout=read_timeout,
        retry=retry,
        sleep=clock.sleep,
        clock=clock,
        random=lambda: random,
    )
    return Harness(clock, adapter, session, client)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the Powertools logger writes (JSON lines), captured from its own handler."""
    handler = cast("logging.StreamHandler[Any]", logger.registered_handler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def log_records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def form_parts(request: requests.PreparedRequest) -> dict[str, tuple[str | None, bytes]]:
    """name -> (the part's Content-Type, value); plain form fields only, each named once."""
    parts = multipart_parts(request)
    assert all(part.filename is None for part in parts)
    assert len({part.name for part in parts}) == len(parts)
    return {part.name: (part.content_type, part.value) for part in parts}


# -- enums and allowed values are the spec's -----------------------------------------------------


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return cast(dict[str, Any], document["components"]["schemas"])


@pytest.mark.parametrize(
    ("enum", "schema"),
    [
        (RenderingSpeed, "RenderingSpeed"),
        (MagicPrompt, "MagicPromptOption"),
        (StyleType, "StyleType"),
        (ColorPalettePreset, "ColorPalettePresetName"),
    ],
)
def test_enums_equal_the_spec(schemas: dict[str, Any], enum: Any, schema: str) -> None:
    assert [member.value for member in enum] == schemas[schema]["enum"]


def test_allowed_value_sets_equal_the_spec(schemas: dict[str, Any]) -> None:
    def neutral(values: list[str], prefix: str) -> set[str]:
        return {value.removeprefix(prefix).replace("_", "x") for value in values}

    assert set(schemas["StyleTypeV3"]["enum"]) == spec_values.V3_STYLE_TYPES
    assert set(schemas["AspectRatioV3"]["enum"]) == spec_values.V3_ASPECT_RATIOS
    assert set(schemas["ResolutionV3"]["enum"]) == spec_values.V3_RESOLUTIONS
    assert neutral(schemas["AspectRatio"]["enum"], "ASPECT_") == spec_values.LEGACY_ASPECT_RATIOS
    assert neutral(schemas["Resolution"]["enum"], "RESOLUTION_") == spec_values.LEGACY_RESOLUTIONS


def test_limits_and_defaults_equal_the_spec(schemas: dict[str, Any]) -> None:
    v3 = schemas["GenerateImageRequestV3"]["properties"]
    legacy = schemas["ImageRequest"]["properties"]
    for properties in (v3, legacy):
        assert properties["seed"]["maximum"] == spec_values.MAX_SEED
        assert properties["seed"]["minimum"] == 0
        assert properties["num_images"]["maximum"] == spec_values.MAX_IMAGES
        assert properties["num_images"]["default"] == params(prompt="x").num_images
    assert schemas["RenderingSpeed"]["default"] == params(prompt="x").rendering_speed
    members = schemas["ColorPaletteWithMembers"]["properties"]["members"]
    assert members["maxItems"] == spec_values.MAX_PALETTE_MEMBERS
    member = schemas["ColorPaletteMember"]["properties"]
    assert member["color_hex"]["pattern"] == spec_values.COLOR_HEX_PATTERN
    weight = member["color_weight"]
    assert (weight["minimum"], weight["maximum"]) == (
        spec_values.MIN_COLOR_WEIGHT,
        spec_values.MAX_COLOR_WEIGHT,
    )


def test_legacy_model_names_cover_the_spec(schemas: dict[str, Any]) -> None:
    names = {legacy_model_name(model, speed) for model in ModelVersion for speed in RenderingSpeed} - {None}
    # V_3 has its own endpoint; AUTO (let Ideogram choose) is deliberately not offered.
    assert names == set(schemas["ModelEnum"]["enum"]) - {"V_3", "AUTO"}


# -- endpoint and model mapping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "speed", "expected"),
    [
        ("V_1", "DEFAULT", "V_1"),
        ("V_1", "TURBO", "V_1_TURBO"),
        ("V_2", "DEFAULT", "V_2"),
        ("V_2", "TURBO", "V_2_TURBO"),
        ("V_2A", "DEFAULT", "V_2A"),
        ("V_2A", "TURBO", "V_2A_TURBO"),
    ],
)
def test_legacy_models_go_to_generate_with_the_speed_in_the_name(
    model: str, speed: str, expected: str
) -> None:
    call = prepare_call(params(prompt="x", model=model, rendering_speed=speed))
    assert (call.endpoint, call.path, call.files) == (Endpoint.LEGACY, LEGACY_PATH, None)
    assert call.json == {"image_request": {"prompt": "x", "model": expected, "num_images": 1}}


@pytest.mark.parametrize("speed", list(RenderingSpeed))
def test_v3_goes_to_the_v3_endpoint_with_any_speed(speed: RenderingSpeed) -> None:
    call = prepare_call(params(prompt="x", rendering_speed=speed))
    assert (call.endpoint, call.path, call.json) == (Endpoint.V3, V3_PATH, None)
    assert ("rendering_speed", (None, speed.value)) in (call.files or [])


def test_default_model_is_v3() -> None:
    assert params(prompt="x").model is ModelVersion.V_3


@pytest.mark.parametrize("speed", ["FLASH", "BALANCED", "QUALITY"])
@pytest.mark.parametrize("model", ["V_1", "V_2", "V_2A"])
def test_legacy_models_refuse_v3_only_speeds_before_any_http(model: str, speed: str) -> None:
    h = harness([])
    with pytest.raises(IdeogramRequestError) as caught:
        h.client.generate(params(prompt="x", model=model, rendering_speed=speed))
    assert f"rendering_speed {speed}" in caught.value.message
    assert caught.value.http_status == 400
    assert caught.value.kind == "invalid_params"
    assert caught.value.attempts == 0
    assert h.adapter.requests == []


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"model": "V_2A", "negative_prompt": "blur"}, "negative_prompt is not supported by model V_2A"),
        ({"model": "V_1", "color_palette": "EMBER"}, "color_palette is not supported by model V_1"),
        ({"model": "V_2A", "color_palette": "EMBER"}, "color_palette is not supported by model V_2A"),
        ({"model": "V_1", "style_type": "REALISTIC"}, "style_type is not supported by model V_1"),
        ({"model": "V_1", "resolution": "1024x1024"}, "resolution is not supported by model V_1"),
        ({"model": "V_2A", "resolution": "1024x1024"}, "resolution is not supported by model V_2A"),
        ({"model": "V_2", "aspect_ratio": "4x5"}, "aspect_ratio 4x5 is not available for model V_2"),
        ({"model": "V_2", "resolution": "800x1280"}, "resolution 800x1280 is not available for model V_2"),
        ({"resolution": "1280x720"}, "resolution 1280x720 is not available for model V_3"),
        ({"style_type": "ANIME"}, "style_type ANIME is not available for V_3"),
        ({"style_type": "RENDER_3D"}, "style_type RENDER_3D is not available for V_3"),
    ],
)
def test_parameters_the_endpoint_cannot_take_are_refused(fields: dict[str, Any], fragment: str) -> None:
    wanted = params(prompt="x", **fields)
    with pytest.raises(IdeogramRequestError) as caught:
        prepare_call(wanted)
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_all_problems_are_reported_at_once() -> None:
    wanted = params(
        prompt="x", model="V_2A", rendering_speed="FLASH", negative_prompt="y", color_palette="EMBER"
    )
    with pytest.raises(IdeogramRequestError) as caught:
        prepare_call(wanted)
    assert len(caught.value.problems) == 3


# -- bodies --------------------------------------------------------------------------------------


def test_legacy_body_uses_legacy_names_and_spellings() -> None:
    wanted = params(
        prompt="a lighthouse",
        negative_prompt="fog",
        model="V_2",
        rendering_speed="TURBO",
        style_type="ANIME",
        aspect_ratio="16x9",
        magic_prompt="OFF",
        seed=0,
        num_images=8,
        color_palette=[{"color_hex": "#b470b3", "color_weight": 0.5}, {"color_hex": "#FFF"}],
    )
    assert legacy_body(wanted) == {
        "image_request": {
            "prompt": "a lighthouse",
            "model": "V_2_TURBO",
            "num_images": 8,
            "negative_prompt": "fog",
            "style_type": "ANIME",
            "aspect_ratio": "ASPECT_16_9",
            "magic_prompt_option": "OFF",
            "seed": 0,
            "color_palette": {
                "members": [{"color_hex": "#b470b3", "color_weight": 0.5}, {"color_hex": "#FFF"}]
            },
        }
    }
    resolution = legacy_body(params(prompt="x", model="V_2", resolution="1280x720"))
    assert resolution["image_request"]["resolution"] == "RESOLUTION_1280_720"


def test_legacy_body_is_json_on_the_wire() -> None:
    h = harness([Reply()])
    h.client.generate(params(prompt="x", model="V_2", color_palette="PASTEL"))
    [sent] = h.adapter.requests
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(cast(bytes, sent.body))["image_request"]["color_palette"] == {"name": "PASTEL"}


def test_v3_form_parts() -> None:
    wanted = params(
        prompt="a red fox",
        negative_prompt="blur",
        style_type="REALISTIC",
        resolution="800x1280",
        magic_prompt="ON",
        seed=2147483647,
        num_images=8,
        color_palette="MELON",
    )
    assert v3_form(wanted) == [
        ("prompt", (None, "a red fox")),
        ("negative_prompt", (None, "blur")),
        ("rendering_speed", (None, "DEFAULT")),
        ("style_type", (None, "REALISTIC")),
        ("resolution", (None, "800x1280")),
        ("magic_prompt", (None, "ON")),
        ("seed", (None, "2147483647")),
        ("num_images", (None, "8")),
        ("color_palette", (None, '{"name": "MELON"}', "application/json")),
    ]


def test_v3_request_is_multipart_with_a_json_palette_part() -> None:
    h = harness([Reply()])
    members = [{"color_hex": "#642a9c", "color_weight": 0.05}]
    h.client.generate(params(prompt="x", aspect_ratio="ASPECT_9_16", color_palette=members))
    [sent] = h.adapter.requests
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = form_parts(sent)
    assert parts["prompt"] == (None, b"x")
    assert parts["aspect_ratio"] == (None, b"9x16")  # the legacy spelling was accepted and normalised
    content_type, palette = parts["color_palette"]
    assert content_type == "application/json"
    assert json.loads(palette) == {"members": members}


def test_request_headers_carry_the_key_only_per_request() -> None:
    h = harness([Reply()])
    h.client.generate(params(prompt="x"))
    [sent] = h.adapter.requests
    assert sent.headers["Api-Key"] == API_KEY
    assert "Authorization" not in sent.headers
    assert "Api-Key" not in h.session.headers  # the shared session may download from other hosts
    assert sent.url == BASE_URL + V3_PATH


# -- parameter validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"prompt": ""},
        {"prompt": "   "},
        {"seed": -1},
        {"seed": 2147483648},
        {"seed": True},
        {"seed": "12"},
        {"num_images": 0},
        {"num_images": 9},
        {"aspect_ratio": "16x7"},
        {"resolution": "1000x1000"},
        {"aspect_ratio": "1x1", "resolution": "1024x1024"},
        {"color_palette": "NEON"},
        {"color_palette": []},
        {"color_palette": [{"color_hex": "red"}]},
        {"color_palette": [{"color_hex": "#fff", "color_weight": 0.01}]},
        {"color_palette": [{"color_hex": "#fff"}] * 9},
        {"color_palette": {"name": "PASTEL", "members": []}},
        {"model": "V_4"},
        {"rendering_speed": "WARP"},
        {"style": "ANIME"},  # unknown field: a typo must not be ignored silently
    ],
)
def test_invalid_params_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        params(**{"prompt": "x", **fields})


def test_spec_shaped_palettes_are_accepted() -> None:
    assert params(prompt="x", color_palette={"name": "PASTEL"}).color_palette is ColorPalettePreset.PASTEL
    wanted = params(prompt="x", color_palette={"members": [{"color_hex": "#abc"}]})
    assert isinstance(wanted.color_palette, list)
    assert wanted.color_palette[0].color_hex == "#abc"


def test_legacy_size_spellings_are_normalised() -> None:
    assert params(prompt="x", aspect_ratio="ASPECT_10_16").aspect_ratio == "10x16"
    assert params(prompt="x", resolution="RESOLUTION_1024_1024").resolution == "1024x1024"


# -- response parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2024-12-15T17:32:00.965408+00:00", datetime(2024, 12, 15, 17, 32, 0, 965408, tzinfo=UTC)),
        ("2024-12-15T17:32:00.965408Z", datetime(2024, 12, 15, 17, 32, 0, 965408, tzinfo=UTC)),
        ("2024-12-15T17:32:00Z", datetime(2024, 12, 15, 17, 32, tzinfo=UTC)),
        ("2024-12-15T17:32:00+00:00", datetime(2024, 12, 15, 17, 32, tzinfo=UTC)),
        ("2024-12-15T18:32:00+01:00", datetime(2024, 12, 15, 17, 32, tzinfo=UTC)),
        ("2024-12-15T17:32:00.9654081+00:00", datetime(2024, 12, 15, 17, 32, 0, 965408, tzinfo=UTC)),
        ("2024-12-15 17:32:00+0000", datetime(2024, 12, 15, 17, 32, tzinfo=UTC)),
        ("2024-12-15T17:32:00", datetime(2024, 12, 15, 17, 32, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_created_is_parsed_leniently_into_an_aware_datetime(created: str, expected: datetime) -> None:
    result = parse_generation(
        json.dumps(ok_body(created=created)).encode(), endpoint=Endpoint.V3, attempts=1, latency_ms=1
    )
    assert result.created == expected
    assert result.created.utcoffset() is not None


def test_response_fields_are_kept() -> None:
    body = ok_body(
        image(seed=7, prompt="a fox, with soft light", upscaled_resolution="4096x4096", new_field=1),
        image(url=None, is_image_safe=False, style_type="SOMETHING_NEW"),
        image(url="", is_image_safe=False),
    )
    h = harness([Reply(body=body, latency=0.25)])
    result = h.client.generate(params(prompt="a fox"))
    first, unsafe, empty = result.data
    assert (first.seed, first.prompt, first.resolution, first.is_image_safe) == (
        7,
        "a fox, with soft light",
        "1024x1024",
        True,
    )
    assert (unsafe.url, unsafe.is_image_safe, unsafe.style_type) == (None, False, "SOMETHING_NEW")
    assert empty.url is None  # "empty" URL of an unsafe image normalised to None
    assert (result.endpoint, result.attempts, result.latency_ms) == (Endpoint.V3, 1, 250.0)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>gateway</html>",
        b"",
        {"data": [image()]},
        {"created": CREATED},
        {"created": "yesterday", "data": [image()]},
        {"created": CREATED, "data": [image(is_image_safe="perhaps")]},
        {"created": CREATED, "data": [{"url": "https://x"}]},
        [ok_body()],
    ],
)
def test_unreadable_200_is_a_protocol_error_without_retry(body: Any) -> None:
    h = harness([Reply(body=body), Reply()])
    with pytest.raises(IdeogramProtocolError) as caught:
        h.client.generate(params(prompt="x"))
    assert len(h.adapter.requests) == 1  # it may have been billed: never ask twice
    error = caught.value
    assert (error.status, error.kind, error.http_status, error.attempts) == (200, "protocol", 502, 1)
    assert "billed" in error.message
    assert error.detail


# -- error mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "message", "kind"),
    [
        (
            400,
            {"error": "num_images: 9 is greater than the maximum of 8"},
            "num_images: 9 is greater",
            "rejected",
        ),
        (400, {"message": "bad thing"}, "bad thing", "rejected"),
        (400, b"<html>nope</html>", "Ideogram rejected the request (HTTP 400)", "rejected"),
        (
            422,
            {"error": "Prompt provided failed safety check."},
            "Prompt provided failed safety check.",
            "safety_rejected",
        ),
    ],
)
def test_400_and_422_are_rejections_with_ideograms_message(
    status: int, body: Any, message: str, kind: str
) -> None:
    h = harness([Reply(status=status, body=body)])
    with pytest.raises(IdeogramRejected) as caught:
        h.client.generate(params(prompt="x"))
    error = caught.value
    assert error.message.startswith(message)
    assert (error.status, error.http_status, error.kind, error.attempts) == (status, status, kind, 1)
    assert len(h.adapter.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_configuration_errors(status: int) -> None:
    h = harness([Reply(status=status, body={"error": "Invalid Api-Key."})])
    with pytest.raises(IdeogramAuthError) as caught:
        h.client.generate(params(prompt="x"))
    assert caught.value.message == "the Ideogram API key is missing or invalid (configuration)"
    assert (caught.value.status, caught.value.kind, len(h.adapter.requests)) == (status, "auth", 1)


def test_a_blank_key_fails_without_a_request() -> None:
    h = harness([], api_key="  ")
    with pytest.raises(IdeogramAuthError):
        h.client.generate(params(prompt="x"))
    assert h.adapter.requests == []


def test_402_is_insufficient_credits_without_retry() -> None:
    h = harness([Reply(status=402, body={"error": "Insufficient credits"}), Reply()])
    with pytest.raises(IdeogramInsufficientCredits) as caught:
        h.client.generate(params(prompt="x"))
    assert (caught.value.message, caught.value.kind, caught.value.status) == (
        "insufficient credits",
        "insufficient_credits",
        402,
    )
    assert len(h.adapter.requests) == 1


@pytest.mark.parametrize("status", [404, 405, 409, 307])
def test_unexpected_statuses_are_protocol_errors(status: int) -> None:
    headers = {"Location": "https://elsewhere.test/generate"} if status == 307 else {}
    h = harness([Reply(status=status, body={"error": "?"}, headers=headers), Reply()])
    with pytest.raises(IdeogramProtocolError) as caught:
        h.client.generate(params(prompt="x"))
    assert caught.value.status == status
    assert len(h.adapter.requests) == 1  # a redirect is not followed (it would carry the key along)


# -- retries -------------------------------------------------------------------------------------


def test_429_and_503_are_retried_with_full_jitter() -> None:
    h = harness([Reply(status=429), Reply(status=503), Reply()], random=0.5)
    result = h.client.generate(params(prompt="x"))
    assert result.attempts == 3
    assert h.clock.sleeps == [0.25, 0.5]  # random() * min(8, 0.5 * 2 ** (attempt - 1))


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("connection refused"),
        requests.ReadTimeout("read timed out"),
        requests.ConnectTimeout("connect timed out"),
        requests.exceptions.ChunkedEncodingError("connection broken"),
        Reply(status=500),
        Reply(status=502),
        Reply(status=504),
        Reply(status=408),
    ],
)
def test_transient_failures_are_retried(failure: Reply | Exception) -> None:
    h = harness([failure, Reply()])
    assert h.client.generate(params(prompt="x")).attempts == 2


def test_attempts_are_capped_without_a_deadline() -> None:
    h = harness([Reply(status=503)] * 5)
    with pytest.raises(IdeogramUnavailable) as caught:
        h.client.generate(params(prompt="x"))
    error = caught.value
    assert (error.attempts, error.reason, error.status, error.kind, error.http_status) == (
        5,
        "server_error",
        503,
        "unavailable",
        503,
    )
    assert h.clock.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert error.retry_after_seconds == 8  # the next backoff step, capped at max_delay
    assert "retry in 8 s" in error.message


@pytest.mark.parametrize("latency", [0.0, 0.7, 3.0])
@pytest.mark.parametrize("random", [0.0, 0.5, 1.0])
def test_retries_stay_within_the_deadline(latency: float, random: float) -> None:
    h = harness([Reply(status=503, latency=latency)] * 50, retry=RetryPolicy(max_attempts=50), random=random)
    deadline = h.clock.now + 20
    with pytest.raises(IdeogramUnavailable) as caught:
        h.client.generate(params(prompt="x"), deadline=deadline)
    assert h.clock.now <= deadline
    assert sum(h.clock.sleeps) <= deadline - 1000.0
    assert caught.value.attempts == len(h.adapter.requests) > 1
    for connect, read in h.adapter.timeouts:
        assert connect <= 5
        assert read <= 20


def test_timeouts_shrink_to_the_time_left_and_never_pass_the_deadline() -> None:
    h = harness([requests.ReadTimeout("slow")] * 10, read_timeout=6, retry=RetryPolicy(max_attempts=10))
    deadline = h.clock.now + 10
    with pytest.raises(IdeogramUnavailable) as caught:
        h.client.generate(params(prompt="x"), deadline=deadline)
    assert caught.value.reason == "timeout"
    first, second = h.adapter.timeouts[:2]
    assert first == (5, 6)
    assert second[1] == pytest.approx(10 - 6 - 0.5)  # what is left after the first attempt and a sleep
    assert h.clock.now <= deadline
    assert len(h.adapter.requests) == caught.value.attempts == 2


@pytest.mark.parametrize(
    ("script", "timed_out"),
    [
        ([requests.ReadTimeout("slow"), Reply(status=503), Reply(status=503)], True),
        ([Reply(status=503), Reply(status=429), Reply(status=503)], False),
        ([requests.ConnectTimeout("no route"), Reply(status=503), Reply(status=503)], False),
    ],
    ids=["a-read-timeout-first", "only-refusals", "a-connect-timeout-never-sent"],
)
def test_unavailable_says_whether_an_attempt_timed_out(
    script: list[Reply | Exception], timed_out: bool
) -> None:
    """A timed-out attempt may have generated (and billed) images: the pipeline keeps a trace."""
    h = harness(script, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(IdeogramUnavailable) as caught:
        h.client.generate(params(prompt="x"))
    assert caught.value.timed_out is timed_out


def test_no_attempt_is_started_without_enough_time() -> None:
    h = harness([Reply()])
    with pytest.raises(IdeogramUnavailable) as caught:
        h.client.generate(params(prompt="x"), deadline=h.clock.now + 0.5)
    assert (caught.value.reason, caught.value.attempts) == ("deadline", 0)
    assert h.adapter.requests == []


def test_no_sleep_that_leaves_the_next_attempt_no_time() -> None:
    h = harness([Reply(status=503), Reply()], retry=RetryPolicy(base_delay=4, max_delay=4))
    with pytest.raises(IdeogramUnavailable) as caught:
        h.client.generate(params(prompt="x"), deadline=h.clock.now + 4.5)
    assert h.clock.sleeps == []  # 4 s of backoff + 1 s for an attempt do not fit in 4.5 s
    assert caught.value.attempts == 1


def test_retry_after_is_honoured() -> None:
    h = harness([Reply(status=429, headers={"Retry-After": "3"}), Reply()], random=0.1)
    assert h.client.generate(params(prompt="x")).attempts == 2
    assert h.clock.sleeps == [3.0]


def test_retry_after_as_http_date_is_honoured() -> None:
    when = datetime.now(UTC) + timedelta(seconds=5)
    header = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    h = harness([Reply(status=503, headers={"Retry-After": header}), Reply()], random=0.0)
    h.client.generate(params(prompt="x"))
    assert 3.0 <= h.clock.sleeps[0] <= 5.0


def test_a_retry_after_beyond_our_patience_is_passed_on() -> None:
    h = harness([Reply(status=429, headers={"Retry-After": "30"}), Reply()])
    with pytest.raises(IdeogramUnavailable) as caught:
        h.client.generate(params(prompt="x"))
    assert (caught.value.retry_after_seconds, caught.value.reason, caught.value.attempts) == (
        30,
        "rate_limited",
        1,
    )
    assert h.clock.sleeps == []


# -- logging and secrecy -------------------------------------------------------------------------


def test_each_attempt_is_logged_without_headers(log_output: io.StringIO) -> None:
    h = harness([Reply(status=429, latency=0.1), requests.ConnectionError("refused"), Reply(latency=0.2)])
    h.client.generate(params(prompt="a secret prompt"))
    records = log_records(log_output)
    assert [(r["attempt"], r.get("status"), r["outcome"]) for r in records] == [
        (1, 429, "rate_limited"),
        (2, None, "connection"),
        (3, 200, "success"),
    ]
    assert {r["ideogram_path"] for r in records} == {V3_PATH}
    assert [r["duration_ms"] for r in records] == [100.0, 0.0, 200.0]
    assert "a secret prompt" not in log_output.getvalue()


def _error_paths() -> list[tuple[list[Reply | Exception], dict[str, Any], float | None]]:
    echo = {"error": f"bad key {API_KEY}"}  # a server that echoes the key back must not leak it
    return [
        ([], {"model": "V_2", "rendering_speed": "FLASH"}, None),
        ([Reply(status=400, body=echo)], {}, None),
        ([Reply(status=422, body=echo)], {}, None),
        ([Reply(status=401, body=echo)], {}, None),
        ([Reply(status=403, body=echo)], {}, None),
        ([Reply(status=402, body=echo)], {}, None),
        ([Reply(status=404, body=echo)], {}, None),
        ([Reply(status=200, body=echo)], {}, None),
        ([Reply(status=503, body=echo)] * 5, {}, None),
        ([requests.ConnectionError(f"refused {API_KEY}")] * 5, {}, None),
        ([requests.ReadTimeout("slow")], {}, 5.0),  # one attempt uses the whole budget
        ([Reply(status=429, body=echo, headers={"Retry-After": "60"})], {}, None),
        ([], {}, 0.1),
    ]


@pytest.mark.parametrize(("script", "fields", "budget"), _error_paths())
def test_the_key_never_appears_in_errors_or_logs(
    log_output: io.StringIO, script: list[Reply | Exception], fields: dict[str, Any], budget: float | None
) -> None:
    h = harness(script)
    deadline = None if budget is None else h.clock.now + budget
    with pytest.raises(IdeogramError) as caught:
        h.client.generate(params(prompt="x", **fields), deadline=deadline)
    error = caught.value
    for text in (
        str(error),
        repr(error),
        error.message,
        repr(vars(error)),
        log_output.getvalue(),
        repr(h.client),
    ):
        assert API_KEY not in text
    assert h.adapter.script == []  # every scripted reply was used: the path really ran
