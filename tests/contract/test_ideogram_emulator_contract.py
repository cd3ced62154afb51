"""The Ideogram emulator honours Ideogram's own OpenAPI document, checked with openapi-core.

Every request is sent over real HTTP with `requests`; openapi-core (reading the vendored
openapi.json) validates the request we send and the response the emulator returns. The spec's
only server URL is "" (relative), so openapi-core matches the paths on any host, the emulator's
included.

openapi-core 0.23.1 does not cast multipart text parts by schema (`num_images=3` arrives as the
string "3" and fails `type: integer`), so a multipart request is validated through its JSON twin:
the operation accepts application/json with the very same schema (asserted below), and the twin
carries the same typed fields.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.request.exceptions import RequestValidationError
from openapi_core.validation.response.exceptions import DataValidationError

import local_stack.ideogram
from local_stack.ideogram import EmulatorSettings, RunningEmulator, start_emulator
from local_stack.ideogram.generation import RESOLUTION_BY_ASPECT_RATIO

SPEC_PATH = Path(local_stack.ideogram.__file__).with_name("openapi.json")
API_KEY = "contract-test-key"
LEGACY = "/generate"
V3 = "/v1/ideogram-v3/generate"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SEED = 2147483647
# ISO-8601 with microseconds and a UTC offset, e.g. 2024-12-15T17:32:00.965408+00:00
CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC_PATH))


@pytest.fixture(scope="module")
def spec_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    running = start_emulator(EmulatorSettings(api_key=API_KEY, log_requests=False), host="127.0.0.1", port=0)
    yield running
    running.stop()


class SpecClient:
    """Sends real requests to the emulator; openapi-core checks each request and each response."""

    def __init__(self, emulator: RunningEmulator, openapi: OpenAPI) -> None:
        self.emulator = emulator
        self.openapi = openapi
        self.session = requests.Session()

    def _send(
        self, prepared: requests.PreparedRequest, spec_request: requests.PreparedRequest, *, valid: bool
    ) -> requests.Response:
        if valid:
            self.openapi.validate_request(RequestsOpenAPIRequest(spec_request))
        else:
            # A request we expect the emulator to refuse must be one the spec refuses too.
            with pytest.raises(RequestValidationError):
                self.openapi.validate_request(RequestsOpenAPIRequest(spec_request))
        response = self.session.send(prepared, timeout=30)
        self.openapi.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))
        return response

    def legacy(
        self,
        image_request: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        valid: bool = True,
    ) -> requests.Response:
        request = requests.Request(
            "POST",
            self.emulator.url + LEGACY,
            json={"image_request": dict(image_request)},
            headers=dict({"Api-Key": API_KEY} if headers is None else headers),
        )
        prepared = self.session.prepare_request(request)
        return self._send(prepared, prepared, valid=valid)

    def v3(
        self,
        fields: Mapping[str, Any],
        *,
        files: Mapping[str, bytes] | None = None,
        as_json: bool = False,
        headers: Mapping[str, str] | None = None,
        valid: bool = True,
    ) -> requests.Response:
        """POST /v1/ideogram-v3/generate as multipart/form-data (Ideogram's documented form) or JSON."""
        url = self.emulator.url + V3
        all_headers = dict({"Api-Key": API_KEY} if headers is None else headers)
        twin = self.session.prepare_request(
            requests.Request("POST", url, json=dict(fields), headers=all_headers)
        )
        if as_json:
            return self._send(twin, twin, valid=valid)
        parts: list[tuple[str, tuple[str | None, str | bytes, str]]] = []
        for name, value in fields.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    parts.append((name, (None, json.dumps(item), "application/json")))
                else:
                    parts.append((name, (None, str(item), "text/plain")))
        for name, content in (files or {}).items():
            parts.append((name, (f"{name}.png", content, "image/png")))
        prepared = self.session.prepare_request(
            requests.Request("POST", url, files=parts, headers=all_headers)
        )
        return self._send(prepared, twin, valid=valid)

    def download(self, url: str) -> bytes:
        response = self.session.get(url, timeout=30)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "image/png"
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert response.content.startswith(PNG_SIGNATURE)
        return response.content


@pytest.fixture
def client(emulator: RunningEmulator, openapi: OpenAPI) -> SpecClient:
    return SpecClient(emulator, openapi)


def _data(response: requests.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert CREATED.match(body["created"]), body["created"]
    assert datetime.fromisoformat(body["created"]).utcoffset() is not None
    data: list[dict[str, Any]] = body["data"]
    return data


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# -- facts of the spec the emulator relies on ----------------------------------------------------


def test_v3_multipart_and_json_bodies_share_one_schema(spec_document: dict[str, Any]) -> None:
    content = spec_document["paths"][V3]["post"]["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"] == content["application/json"]["schema"]


@pytest.mark.parametrize("schema", ["ImageObject", "ImageGenerationObjectV3"])
def test_spec_lets_unsafe_images_have_a_null_url(spec_document: dict[str, Any], schema: str) -> None:
    url = spec_document["components"]["schemas"][schema]["properties"]["url"]
    assert url["nullable"] is True
    assert "url" not in spec_document["components"]["schemas"][schema]["required"]


def test_aspect_ratio_table_covers_the_spec_and_yields_v3_resolutions(spec_document: dict[str, Any]) -> None:
    schemas = spec_document["components"]["schemas"]
    assert set(RESOLUTION_BY_ASPECT_RATIO) == set(schemas["AspectRatioV3"]["enum"])
    assert set(RESOLUTION_BY_ASPECT_RATIO.values()) <= set(schemas["ResolutionV3"]["enum"])
    legacy = {value.removeprefix("ASPECT_").replace("_", "x") for value in schemas["AspectRatio"]["enum"]}
    assert legacy <= set(RESOLUTION_BY_ASPECT_RATIO)


# -- happy paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("num_images", [1, 8])
def test_legacy_generate(client: SpecClient, emulator: RunningEmulator, num_images: int) -> None:
    data = _data(client.legacy({"prompt": "a lighthouse at dusk", "num_images": num_images, "model": "V_2"}))
    assert len(data) == num_images
    for image in data:
        assert image["is_image_safe"] is True
        assert image["resolution"] == "1024x1024"
        assert 0 <= image["seed"] <= MAX_SEED
        assert image["url"].startswith(f"{emulator.url}/api/images/ephemeral/")
        assert re.search(r"\.png\?exp=\d+&sig=[0-9a-f]{64}$", image["url"])
    assert len({image["url"] for image in data}) == num_images
    client.download(data[0]["url"])


@pytest.mark.parametrize("num_images", [1, 8])
def test_v3_generate_multipart(client: SpecClient, num_images: int) -> None:
    data = _data(client.v3({"prompt": "a red fox", "num_images": num_images, "rendering_speed": "TURBO"}))
    assert len(data) == num_images
    assert {image["resolution"] for image in data} == {"1024x1024"}
    assert {image["style_type"] for image in data} == {"GENERAL"}
    assert client.download(data[-1]["url"])


def test_v3_generate_json(client: SpecClient) -> None:
    data = _data(client.v3({"prompt": "a red fox", "num_images": 2, "aspect_ratio": "16x9"}, as_json=True))
    assert [image["resolution"] for image in data] == ["1312x736", "1312x736"]


def test_v3_multipart_with_palette_style_codes_and_reference_image(client: SpecClient) -> None:
    fields = {
        "prompt": "a poster",
        "color_palette": {"members": [{"color_hex": "#b470b3", "color_weight": 0.5}]},
        "style_codes": ["AAFF5733", "0133FF57"],
        "aspect_ratio": "9x16",
    }
    data = _data(client.v3(fields))
    assert data[0]["resolution"] == "736x1312"
    reference = client.v3(
        {"prompt": "a poster", "style_type": "REALISTIC"}, files={"style_reference_images": PNG_SIGNATURE}
    )
    assert _data(reference)[0]["style_type"] == "REALISTIC"


@pytest.mark.parametrize(
    ("fields", "resolution"),
    [({"resolution": "1280x800"}, "1280x800"), ({"aspect_ratio": "4x3"}, "1152x864"), ({}, "1024x1024")],
)
def test_v3_resolution(client: SpecClient, fields: dict[str, str], resolution: str) -> None:
    data = _data(client.v3({"prompt": "a map", **fields}))
    assert data[0]["resolution"] == resolution
    image = client.download(data[0]["url"])
    width, height = (int(side) for side in resolution.split("x"))
    assert int.from_bytes(image[16:20], "big") == width  # IHDR width
    assert int.from_bytes(image[20:24], "big") == height


@pytest.mark.parametrize(
    ("fields", "resolution"),
    [({"resolution": "RESOLUTION_1280_800"}, "1280x800"), ({"aspect_ratio": "ASPECT_16_9"}, "1312x736")],
)
def test_legacy_resolution(client: SpecClient, fields: dict[str, str], resolution: str) -> None:
    assert _data(client.legacy({"prompt": "a map", **fields}))[0]["resolution"] == resolution


def test_style_type_is_echoed_and_auto_is_resolved(client: SpecClient) -> None:
    assert _data(client.legacy({"prompt": "x", "style_type": "ANIME"}))[0]["style_type"] == "ANIME"
    assert _data(client.legacy({"prompt": "x", "style_type": "AUTO"}))[0]["style_type"] == "GENERAL"
    assert _data(client.v3({"prompt": "x", "style_type": "DESIGN"}))[0]["style_type"] == "DESIGN"


# -- invalid input -------------------------------------------------------------------------------


def _error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    message: str = response.json()["error"]
    assert message
    return message


@pytest.mark.parametrize("num_images", [0, 9])
def test_num_images_out_of_range_is_400(client: SpecClient, num_images: int) -> None:
    assert "num_images" in _error(client.legacy({"prompt": "x", "num_images": num_images}, valid=False), 400)
    assert "num_images" in _error(client.v3({"prompt": "x", "num_images": num_images}, valid=False), 400)


@pytest.mark.parametrize(
    "fields",
    [
        {"aspect_ratio": "16x7"},
        {"rendering_speed": "WARP"},
        {"magic_prompt": "MAYBE"},
        {"style_type": "ANIME"},  # a legacy style, not a v3 one
        {"resolution": "1000x1000"},
        {"seed": MAX_SEED + 1},
        {"style_codes": ["XYZ"]},
        {"color_palette": {"name": "NEON"}},
    ],
)
def test_v3_invalid_field_is_400_naming_it(client: SpecClient, fields: dict[str, Any]) -> None:
    [name] = fields
    assert name in _error(client.v3({"prompt": "x", **fields}, valid=False), 400)


@pytest.mark.parametrize(
    "fields",
    [{"model": "V_9"}, {"magic_prompt_option": "MAYBE"}, {"aspect_ratio": "16x9"}, {"num_images": "two"}],
)
def test_legacy_invalid_field_is_400_naming_it(client: SpecClient, fields: dict[str, Any]) -> None:
    [name] = fields
    assert f"image_request.{name}" in _error(client.legacy({"prompt": "x", **fields}, valid=False), 400)


def test_missing_prompt_is_400(client: SpecClient) -> None:
    assert "prompt" in _error(client.legacy({"num_images": 1}, valid=False), 400)
    assert "prompt" in _error(client.v3({"num_images": 1}, valid=False), 400)
    assert "prompt" in _error(client.v3({"num_images": 1}, as_json=True, valid=False), 400)


def test_non_integer_multipart_part_is_400(client: SpecClient, emulator: RunningEmulator) -> None:
    response = requests.post(
        emulator.url + V3,
        files={"prompt": (None, "x"), "num_images": (None, "three")},
        headers={"Api-Key": API_KEY},
    )
    assert "num_images" in _error(response, 400)


def test_resolution_with_aspect_ratio_is_400(client: SpecClient) -> None:
    # Valid per schema, refused per the spec's prose ("cannot be used in conjunction").
    assert "aspect_ratio" in _error(
        client.v3({"prompt": "x", "resolution": "1024x1024", "aspect_ratio": "1x1"}), 400
    )


def test_legacy_body_must_be_json(emulator: RunningEmulator) -> None:
    response = requests.post(emulator.url + LEGACY, data="prompt=x", headers={"Api-Key": API_KEY})
    assert "Content-Type" in _error(response, 400)
    response = requests.post(
        emulator.url + LEGACY,
        data=b"{not json",
        headers={"Api-Key": API_KEY, "Content-Type": "application/json"},
    )
    assert "JSON" in _error(response, 400)


# -- Magic Prompt, seeds and deterministic images ------------------------------------------------


@pytest.mark.parametrize("option", ["ON", "AUTO", None])
def test_magic_prompt_expands(client: SpecClient, option: str | None) -> None:
    prompt = "a quiet harbour"
    v3_fields = {"prompt": prompt} if option is None else {"prompt": prompt, "magic_prompt": option}
    legacy_fields = (
        {"prompt": prompt} if option is None else {"prompt": prompt, "magic_prompt_option": option}
    )
    for data in (_data(client.v3(v3_fields)), _data(client.legacy(legacy_fields))):
        assert data[0]["prompt"] != prompt
        assert data[0]["prompt"].startswith(prompt)


def test_magic_prompt_off_keeps_the_prompt(client: SpecClient) -> None:
    prompt = "a quiet harbour"
    assert _data(client.v3({"prompt": prompt, "magic_prompt": "OFF"}))[0]["prompt"] == prompt
    assert _data(client.legacy({"prompt": prompt, "magic_prompt_option": "OFF"}))[0]["prompt"] == prompt


def test_magic_prompt_is_deterministic(client: SpecClient) -> None:
    first = _data(client.v3({"prompt": "a barn owl", "magic_prompt": "ON"}))[0]["prompt"]
    assert _data(client.v3({"prompt": "a barn owl", "magic_prompt": "ON"}))[0]["prompt"] == first


def test_seed_is_returned_and_images_are_deterministic(client: SpecClient) -> None:
    fields = {"prompt": "a glass teapot", "seed": 12345, "aspect_ratio": "3x2"}
    first, second = _data(client.v3(fields))[0], _data(client.v3(fields))[0]
    assert first["seed"] == second["seed"] == 12345
    assert first["url"] != second["url"]  # a new image id per generation
    reference = _sha256(client.download(first["url"]))
    assert _sha256(client.download(second["url"])) == reference
    legacy = _data(client.legacy({"prompt": "a glass teapot", "seed": 12345, "aspect_ratio": "ASPECT_3_2"}))[
        0
    ]
    assert _sha256(client.download(legacy["url"])) == reference  # same inputs, either endpoint

    other_seed = _data(client.v3({**fields, "seed": 12346}))[0]
    other_size = _data(client.v3({**fields, "aspect_ratio": "2x3"}))[0]
    other_prompt = _data(client.v3({**fields, "prompt": "a copper teapot"}))[0]
    for other in (other_seed, other_size, other_prompt):
        assert _sha256(client.download(other["url"])) != reference


def test_several_images_from_one_seed_differ(client: SpecClient) -> None:
    data = _data(client.legacy({"prompt": "a kite", "seed": 7, "num_images": 3}))
    assert [image["seed"] for image in data] == [7, 8, 9]
    assert len({_sha256(client.download(image["url"])) for image in data}) == 3


def test_random_seed_when_none_is_asked(client: SpecClient) -> None:
    data = _data(client.v3({"prompt": "a kite", "num_images": 4}))
    seeds = [image["seed"] for image in data]
    assert all(0 <= seed <= MAX_SEED for seed in seeds)
    assert len(set(seeds)) > 1  # four draws from 2**31 values


# -- safety, unsafe output and auth -------------------------------------------------------------


def test_unsafe_images_have_no_url(client: SpecClient) -> None:
    for data in (
        _data(client.v3({"prompt": "an unsafe scene", "num_images": 2})),
        _data(client.legacy({"prompt": "an unsafe scene"})),
    ):
        assert all(image["is_image_safe"] is False and image["url"] is None for image in data)
        assert all(0 <= image["seed"] <= MAX_SEED for image in data)


def test_safety_check_is_422(client: SpecClient) -> None:
    # openapi-core validates these bodies against GenerateImageSafetyError (the spec's 422 content).
    assert "safety" in _error(client.v3({"prompt": "a forbidden scene"}), 422)
    assert "safety" in _error(client.legacy({"prompt": "a Forbidden scene"}), 422)


@pytest.mark.parametrize(
    ("headers", "spec_accepts"),
    [
        ({}, False),
        ({"Api-Key": "wrong-key"}, True),
        # The spec lists BearerAuth as an alternative, but Ideogram answers 401 to it (README).
        ({"Authorization": f"Bearer {API_KEY}"}, True),
    ],
)
def test_unauthorised_is_401(client: SpecClient, headers: dict[str, str], spec_accepts: bool) -> None:
    _error(client.legacy({"prompt": "x"}, headers=headers, valid=spec_accepts), 401)
    _error(client.v3({"prompt": "x"}, headers=headers, valid=spec_accepts), 401)


# -- fault switches that touch the generate reply -----------------------------------------------


@pytest.mark.parametrize(("delta", "num_images", "returned"), [(-1, 3, 2), (-1, 1, 0), (2, 8, 10)])
def test_fewer_or_more_images_than_asked_still_follow_the_spec(
    client: SpecClient, emulator: RunningEmulator, delta: int, num_images: int, returned: int
) -> None:
    emulator.settings.return_images_delta = delta
    try:
        v3 = _data(client.v3({"prompt": "a lantern", "num_images": num_images}))
        legacy = _data(client.legacy({"prompt": "a lantern", "num_images": num_images}))
    finally:
        emulator.settings.return_images_delta = 0
    assert len(v3) == len(legacy) == returned


@pytest.mark.parametrize("how", ["not_json", "breaks_schema"])
def test_an_unreadable_reply_is_one_the_spec_refuses(
    client: SpecClient, emulator: RunningEmulator, how: str
) -> None:
    emulator.settings.unreadable_response = how
    try:
        # SpecClient checks every response against the spec: this one must not pass.
        with pytest.raises(DataValidationError):
            client.v3({"prompt": "a lantern"})
    finally:
        emulator.settings.unreadable_response = None
