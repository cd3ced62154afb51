"""`reproduce ID` and `generate --on-duplicate`: what is sent, how a 409 ends, what a person reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ideogram_assets.generation.duplicates import DEFAULT_DUPLICATE_POLICY
from ideogram_assets_cli.api_client import ApiReply
from ideogram_assets_cli.app import _api_error, app
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import MEANINGS, ExitCode
from ideogram_assets_cli.generation_body import DuplicatePolicy, GenerateOptions, generation_body
from ideogram_assets_cli.render_outcome import match_lines, reused_note
from ideogram_assets_cli.retry_safety import conflict_exit_code, existing_ids, retry_hints

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
PARENT = "666e21fa47864eff96273e5412cceb5c"


def _text(renderable: Any) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_on_duplicate_is_sent_only_when_chosen_with_the_apis_values() -> None:
    assert "on_duplicate" not in generation_body(GenerateOptions(prompt="a fox"))
    body = generation_body(GenerateOptions(prompt="a fox", on_duplicate=DuplicatePolicy.REJECT))
    assert body == {"prompt": "a fox", "on_duplicate": "reject"}
    field = json.loads(OPENAPI.read_text())["components"]["schemas"]["GenerationRequest"]["properties"][
        "on_duplicate"
    ]
    assert sorted(field["enum"]) == sorted(policy.value for policy in DuplicatePolicy)
    assert field["default"] == DEFAULT_DUPLICATE_POLICY


def _conflict(body: dict[str, Any], headers: dict[str, str] | None = None) -> ApiReply:
    return ApiReply(status=409, body=body, text=json.dumps(body), headers=headers or {})


DUPLICATE = _conflict(
    {
        "message": "1 stored image(s) have this prompt and these parameters already; send "
        "on_duplicate=reuse to get them or on_duplicate=generate to make new ones",
        "existing": [PARENT, "0" * 32],
    }
)
STILL_RUNNING = _conflict(
    {"message": "a request with this Idempotency-Key is still running"}, {"retry-after": "5"}
)
NO_SEED = _conflict({"message": f"generation {PARENT} has no seed: Ideogram never answered for it"})


def test_a_conflict_is_worth_retrying_only_when_the_api_says_when() -> None:
    assert conflict_exit_code(STILL_RUNNING) is ExitCode.UNAVAILABLE
    assert conflict_exit_code(DUPLICATE) is ExitCode.BAD_INPUT
    assert conflict_exit_code(NO_SEED) is ExitCode.BAD_INPUT


def test_a_rejected_duplicate_names_the_stored_images_and_what_to_send_instead() -> None:
    assert existing_ids(DUPLICATE) == [PARENT, "0" * 32]
    assert existing_ids(NO_SEED) == []
    error = _api_error(DUPLICATE, ExitCode.BAD_INPUT)
    assert error.message.endswith("(HTTP 409)")
    assert error.details == (f"existing: {PARENT}", f"existing: {'0' * 32}")
    assert error.hint is not None
    assert "--on-duplicate reuse" in error.hint
    # The busy conflict keeps its retry hint.
    assert _api_error(STILL_RUNNING, ExitCode.UNAVAILABLE).hint == "retry in 5 s"


def test_an_error_after_which_images_may_exist_names_the_key_for_a_safe_retry() -> None:
    with pytest.raises(CliError) as unavailable, retry_hints("cli-key-1234", "reproduction"):
        raise CliError("no answer from the API within 180 s", ExitCode.UNAVAILABLE)
    assert unavailable.value.hint is not None
    assert "--idempotency-key cli-key-1234" in unavailable.value.hint
    with pytest.raises(CliError) as interrupted, retry_hints("cli-key-1234", "reproduction"):
        raise KeyboardInterrupt
    assert interrupted.value.code is ExitCode.INTERRUPTED
    assert "reproduction may still complete" in interrupted.value.message
    with pytest.raises(CliError) as refused, retry_hints("cli-key-1234", "reproduction"):
        raise CliError("the request is not valid", ExitCode.BAD_INPUT)
    assert refused.value.hint is None  # nothing was generated: no key to keep


@pytest.mark.parametrize(
    ("matches", "answer"),
    [
        (True, "bytes match the original: yes"),
        (False, "bytes match the original: no"),
        (None, "bytes match the original: not known yet"),
    ],
)
def test_each_reproduction_says_whether_its_bytes_match(matches: bool | None, answer: str) -> None:
    reply = {"generations": [{"id": "1" * 32, "parentId": PARENT, "matchesParent": matches}]}
    original, match = (_text(line).strip() for line in match_lines(reply))
    assert original == f"reproduction of {PARENT}"
    assert match.startswith(answer)


def test_reused_images_say_nothing_was_generated() -> None:
    text = _text(reused_note({"reused": True, "generations": [{"id": PARENT}, {"id": "0" * 32}]}))
    assert text.strip() == "reused 2 stored images of the same prompt and parameters: nothing was generated"


def test_reproduce_help_lists_its_route_and_every_exit_code() -> None:
    result = CliRunner().invoke(app, ["reproduce", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "/generations/{id}/reproduce" in result.stdout
    assert "--idempotency-key" in result.stdout
    for code in ExitCode:
        assert re.search(rf"\b{int(code)}\b.*{re.escape(MEANINGS[code][:30])}", result.stdout), code


def test_an_unknown_duplicate_policy_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["generate", "a fox", "--on-duplicate", "sometimes"])
    assert result.exit_code == ExitCode.BAD_INPUT
