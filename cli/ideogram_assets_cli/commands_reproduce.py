"""`reproduce ID`: the same image again from a stored record (POST /generations/{id}/reproduce)."""

from __future__ import annotations

from typing import Any

from ideogram_assets_cli.app import (
    EXIT_CODES_HELP,
    ApiOption,
    EndpointsOption,
    IdArgument,
    IdempotencyKeyOption,
    JsonOption,
    ProfileOption,
    RegionOption,
    TimeoutOption,
    _client,
    _post_generation,
    _run,
    app,
)
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.generation_body import new_idempotency_key
from ideogram_assets_cli.output import Output
from ideogram_assets_cli.render import generations_table
from ideogram_assets_cli.render_outcome import match_lines


@app.command(epilog=EXIT_CODES_HELP)
def reproduce(
    generation_id: IdArgument,
    idempotency_key: IdempotencyKeyOption = None,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 180.0,
) -> None:
    """Generate a stored image again from its seed, prompt and parameters, and say whether the new
    image is byte for byte the original (POST /generations/{id}/reproduce).

    The prompt sent is the one Ideogram worked from (as Magic Prompt expanded it), with Magic
    Prompt off; the new record names its original (`parentId`) and is tagged `reproduced`.
    `--json` prints the API's body; its `matchesParent` is the answer. A record Ideogram never
    answered for (no seed) cannot be reproduced: exit 2."""
    output = Output(as_json=as_json)

    def show(body: Any) -> None:
        output.show(generations_table(body, output.out.width))
        for line in match_lines(body):
            output.show(line)

    def action() -> ExitCode:
        from ideogram_assets_cli.api_client import path_segment

        return _post_generation(
            output,
            _client(api, endpoints, profile, region, timeout),
            f"/generations/{path_segment(generation_id)}/reproduce",
            body=None,
            key=idempotency_key or new_idempotency_key(),
            what="reproduction",
            doing=f"reproducing {generation_id} and storing it",
            show=show,
            not_stored="the image is not stored yet; its record keeps Ideogram's URL for reconciliation",
        )

    _run(output, action)
