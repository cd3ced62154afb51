"""The whole history at once: `report` (GET /reports/storage) and `export` (POST /exports)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ideogram_assets_cli.app import (
    EXIT_CODES_HELP,
    ApiOption,
    EndpointsOption,
    JsonOption,
    ProfileOption,
    RegionOption,
    TimeoutOption,
    _choice_option,
    _client,
    _finish,
    _run,
    app,
)
from ideogram_assets_cli.commands_search import api_failure, fetch_shown
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode
from ideogram_assets_cli.filters import (
    FromOption,
    ModelOption,
    QueryOption,
    SearchOptions,
    SeedOption,
    StarredOption,
    StatusOption,
    StyleOption,
    TagOption,
    ToOption,
)
from ideogram_assets_cli.output import Output
from ideogram_assets_cli.render_report import export_panel, report_view

if TYPE_CHECKING:
    from ideogram_assets_cli.api_client import ApiClient

FINISHED = frozenset({"DONE", "FAILED"})
FIRST_POLL_SECONDS = 0.5
LONGEST_POLL_SECONDS = 5.0


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


@app.command(epilog=EXIT_CODES_HELP)
def report(
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Images, bytes, estimated cost and unsafe rate by status, model, style, retention class, tag
    and month, with a chart of images per month (GET /reports/storage).

    Read from counters kept as images are stored and deleted: as quick at a million images as at ten."""
    output = Output(as_json=as_json)

    def action() -> ExitCode:
        client = _client(api, endpoints, profile, region, timeout)
        reply = client.request("GET", "/reports/storage")
        return _finish(output, reply, lambda body: output.show(report_view(body, output.out.width)))

    _run(output, action)


@app.command(epilog=EXIT_CODES_HELP)
def export(
    export_format: Annotated[
        ExportFormat, _choice_option("--format", ExportFormat, "JSON Lines (one record a line) or CSV.")
    ] = ExportFormat.JSONL,
    q: QueryOption = None,
    tag: TagOption = None,
    seed: SeedOption = None,
    model: ModelOption = None,
    style: StyleOption = None,
    status: StatusOption = None,
    starred: StarredOption = None,
    created_from: FromOption = None,
    created_to: ToOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Save the export here (default: print its link, valid for a while).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    export_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            metavar="EXPORT_ID",
            help="Wait for an export started earlier (its filters and format are its own).",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=1, metavar="SECONDS", help="How long to wait for the export.")
    ] = 900.0,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Export the history (or the records the filters match) as JSON Lines or CSV (POST /exports).

    Waits with a spinner until the export is written, then saves it to --out or prints its link.
    --json prints the export as the API last showed it ({"id", "status", "records", "bytes",
    "url"...}). An export that failed exits 6; one still running after --wait exits 6 too, and
    `export --id EXPORT_ID` waits for it again."""
    output = Output(as_json=as_json)
    filters = SearchOptions.of(
        q=q,
        tags=tag,
        seed=seed,
        model=model,
        style=style,
        status=status,
        starred=starred,
        created_from=created_from,
        created_to=created_to,
    )

    def action() -> ExitCode:
        from ideogram_assets_cli.api_client import path_segment

        if out is not None and out.exists() and not force:
            raise CliError(f"{out} exists", ExitCode.BAD_INPUT, hint="--force replaces it")
        client = _client(api, endpoints, profile, region, timeout)
        fail = api_failure(output)
        if export_id is None:
            reply = client.request(
                "POST", "/exports", body={"format": export_format.value, "filters": filters.fields()}
            )
            if reply.status not in (200, 201, 202) or not isinstance(reply.body, dict):
                raise fail(reply)
            view = reply.body
        else:
            view = {"id": export_id, "status": "RUNNING"}
        identifier = str(view.get("id", ""))
        deadline = time.monotonic() + wait
        pause = FIRST_POLL_SECONDS
        with output.waiting(f"export {identifier}: writing"):
            while view.get("status") not in FINISHED:
                if time.monotonic() >= deadline:
                    raise CliError(
                        f"export {identifier} is still running after {wait:g} s",
                        ExitCode.UNAVAILABLE,
                        hint=f"wait for it again: ideogram-assets export --id {identifier}",
                    )
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 1.5, LONGEST_POLL_SECONDS)
                reply = client.request("GET", f"/exports/{path_segment(identifier)}")
                if reply.status != 200 or not isinstance(reply.body, dict):
                    raise fail(reply)
                view = reply.body
        if view.get("status") == "FAILED":
            if output.as_json:
                output.json(view)
            raise CliError(
                f"export {identifier} failed: {view.get('message') or 'no reason given'}",
                ExitCode.UNAVAILABLE,
            )
        saved = _save(output, client, view, out, timeout) if out is not None else None
        if output.as_json:
            output.json(view)
        else:
            output.show(export_panel(view, saved))
            if saved is None and isinstance(view.get("url"), str):
                output.plain(view["url"])
        return ExitCode.OK

    _run(output, action)


def _save(output: Output, client: ApiClient, view: dict[str, Any], out: Path, timeout: float) -> Path:
    """Downloads a finished export to `out` (through `out.part`; its size checked when known)."""
    from ideogram_assets_cli.transfer import Expected, IntegrityError, TransferError

    url = view.get("url")
    if not isinstance(url, str):
        raise CliError(f"export {view.get('id')} is done but has no link", ExitCode.UNEXPECTED)
    size = view.get("bytes") if isinstance(view.get("bytes"), int) else None
    try:
        fetched = fetch_shown(output, client, url, out, Expected(size=size), label="export", timeout=timeout)
    except (TransferError, IntegrityError) as error:
        raise CliError(f"the export could not be saved: {error.message}", ExitCode.UNAVAILABLE) from None
    return fetched.path
