"""The emulator's copy of Ideogram's OpenAPI spec is the published one, byte for byte.

The copy lets a fresh clone run offline; when the shared reference snapshot sits beside the
project (../shared/ideogram/openapi.json), the two must not drift.
"""

from __future__ import annotations

import json

import pytest

from local_stack.template import PROJECT_ROOT

VENDORED = PROJECT_ROOT / "local" / "local_stack" / "ideogram" / "openapi.json"
REFERENCE = PROJECT_ROOT.parent / "shared" / "ideogram" / "openapi.json"


def test_vendored_spec_is_an_openapi_document() -> None:
    document = json.loads(VENDORED.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.")
    assert {"/generate", "/v1/ideogram-v3/generate"} <= set(document["paths"])


@pytest.mark.skipif(not REFERENCE.exists(), reason="the shared reference snapshot is not beside the project")
def test_vendored_spec_matches_the_reference_snapshot() -> None:
    assert VENDORED.read_bytes() == REFERENCE.read_bytes()
