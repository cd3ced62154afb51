"""Many generations at once: `batch FILE` (POST /batches, then GET /batches/{id} until complete)."""

from __future__ import annotations

import sys
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
    _run,
    app,
)
from ideogram_assets_cli.batch_file import MAX_ITEMS, BatchFileError, FileFormat, read_batch_file
from ideogram_assets_cli.commands_search import api_failure
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode, exit_code_for_status
from ideogram_assets_cli.output import Output
from ideogram_assets_cli.render_batch import BatchBar, batch_counts, batch_view, queued_view

if TYPE_CHECKING:
    from ideogram_assets_cli.api_client import ApiClient

FIRST_POLL_SECONDS = 0.5
LONGEST_POLL_SECONDS = 3.0
# A few failed polls in a row (a busy or briefly unreachable API) are waited out.
POLL_FAILURES_TOLERATED = 5


class DuplicateChoice(StrEnum):
    """on_duplicate, as `batch --on-duplicate` takes it."""

    GENERATE = "generate"
    REUSE = "reuse"
    REJECT = "reject"


def _resume_hint(batch_id: str) -> str:
    return f"follow it again: ideogram-assets batch --resume {batch_id}"


def _read_stdin(_: Path) -> str:
    return sys.stdin.read()


def _poll(client: ApiClient, output: Output, batch_id: str) -> dict[str, Any] | None:
    """One GET /batches/{id}: the batch, or None when the API was busy or unreachable this time."""
    from ideogram_assets_cli.api_client import path_segment

    try:
        reply = client.request("GET", f"/batches/{path_segment(batch_id)}")
    except CliError as error:
        if error.code is ExitCode.UNAVAILABLE:
            return None
        raise
    if reply.status == 200 and isinstance(reply.body, dict):
        return reply.body
    if exit_code_for_status(reply.status, reply.message) is ExitCode.UNAVAILABLE:
        return None
    raise api_failure(output)(reply)


def follow(
    client: ApiClient,
    output: Output,
    batch_id: str,
    *,
    wait: float | None,
    sleep: Any = time.sleep,
) -> dict[str, Any]:
    """Polls the batch, showing its progress, until it is complete; its last view."""
    deadline = None if wait is None else time.monotonic() + wait
    pause = FIRST_POLL_SECONDS
    failures = 0
    try:
        with BatchBar(output.err, batch_id) as bar:
            while True:
                view = _poll(client, output, batch_id)
                if view is None:
                    failures += 1
                    if failures > POLL_FAILURES_TOLERATED:
                        raise CliError(
                            f"batch {batch_id}: the API did not answer {failures} times in a row",
                            ExitCode.UNAVAILABLE,
                            hint=f"the batch goes on; {_resume_hint(batch_id)}",
                        )
                else:
                    failures = 0
                    bar.show(view)
                    if view.get("complete") is True:
                        return view
                if deadline is not None and time.monotonic() >= deadline:
                    raise CliError(
                        f"batch {batch_id} is not complete after {wait:g} s",
                        ExitCode.UNAVAILABLE,
                        hint=f"the batch goes on; {_resume_hint(batch_id)}",
                    )
                sleep(pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 1.5, LONGEST_POLL_SECONDS)
    except KeyboardInterrupt:
        raise CliError(
            f"interrupted; batch {batch_id} goes on without you",
            ExitCode.INTERRUPTED,
            hint=_resume_hint(batch_id),
        ) from None


def _start(
    client: ApiClient, output: Output, items: list[dict[str, Any]], on_duplicate: DuplicateChoice | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"items": items}
    if on_duplicate is not None:
        body["on_duplicate"] = on_duplicate.value
    count = len(items)
    with output.waiting(f"queueing {count} request{'s' if count > 1 else ''}"):
        reply = client.request("POST", "/batches", body=body)
    if (
        reply.status != 202
        or not isinstance(reply.body, dict)
        or not isinstance(reply.body.get("batchId"), str)
    ):
        raise api_failure(output)(reply)
    return reply.body


def _ended(output: Output, view: dict[str, Any]) -> ExitCode:
    output.result(view, lambda: batch_view(view))
    _, failed, _ = batch_counts(view)
    if failed:
        output.warn(f"{failed} item{'s' if failed > 1 else ''} failed (listed with the reason)")
        return ExitCode.PARTIAL
    return ExitCode.OK


@app.command(epilog=EXIT_CODES_HELP)
def batch(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="Requests, one per line: JSON Lines (the body of POST /generations, plus item_id, "
            "on_duplicate, client_request_id) or CSV with a header row (prompt, model, "
            "rendering_speed, style_type, aspect_ratio, resolution, seed, num_images, magic_prompt, "
            f"negative_prompt, tags separated by ';', item_id...). At most {MAX_ITEMS:,}; - reads stdin.",
            show_default=False,
        ),
    ] = None,
    file_format: Annotated[
        FileFormat | None,
        _choice_option("--format", FileFormat, "The file's format (default: from its extension or content)."),
    ] = None,
    on_duplicate: Annotated[
        DuplicateChoice | None,
        _choice_option(
            "--on-duplicate",
            DuplicateChoice,
            "For requests that do not say: when the same prompt and parameters are stored already, "
            "generate anyway (the API's default), reuse the stored images, or reject the request.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="BATCH_ID",
            help="Follow a batch queued earlier (no FILE).",
            show_default=False,
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Return once the requests are queued (with --resume: show it now)."),
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            min=1,
            metavar="SECONDS",
            help="Stop following after this long (default: until complete).",
        ),
    ] = None,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 60.0,
) -> None:
    """Generate many images from a file of requests (POST /batches), with a live progress bar.

    Every line is checked first (a mistake is reported with its line number and nothing is
    queued); the requests are then queued as one batch and generated in the background at
    Ideogram's pace. The command follows the batch until every request has ended; Ctrl-C stops
    following, not the batch: `--resume BATCH_ID` follows it again. Each request is generated
    once, however often it is delivered. --json prints the batch as GET /batches/{id} shows it
    (with --no-wait, the reply of POST /batches). Exits 3 when some request failed."""
    output = Output(as_json=as_json)

    def action() -> ExitCode:
        items: list[dict[str, Any]] = []
        if (file is None) == (resume is None):
            raise CliError("give a FILE of requests, or --resume BATCH_ID (not both)", ExitCode.BAD_INPUT)
        if file is not None:
            try:
                items = read_batch_file(
                    file,
                    file_format,
                    on_duplicate=on_duplicate.value if on_duplicate else None,
                    **({"read_text": _read_stdin} if str(file) == "-" else {}),
                )
            except BatchFileError as error:
                raise CliError(error.message, ExitCode.BAD_INPUT, details=error.problems) from None
        client = _client(api, endpoints, profile, region, timeout)
        if resume is not None:
            batch_id = resume
            if no_wait:
                view = _poll(client, output, batch_id)
                if view is None:
                    raise CliError(f"batch {batch_id}: the API is unavailable", ExitCode.UNAVAILABLE)
                if view.get("complete"):
                    return _ended(output, view)
                output.result(view, lambda: batch_view(view))
                return ExitCode.OK
        else:
            queued = _start(client, output, items, on_duplicate)
            batch_id = queued["batchId"]
            not_queued = len(queued.get("failures") or [])
            if no_wait:
                if output.as_json:
                    output.json(queued)
                else:
                    output.show(queued_view(queued))
                    output.plain(f"follow it: ideogram-assets batch --resume {batch_id}", stderr=True)
                return ExitCode.PARTIAL if not_queued else ExitCode.OK
            output.plain(
                f"batch {batch_id}: {queued.get('enqueued')} of {queued.get('items')} requests queued "
                "(Ctrl-C stops following, not the batch)",
                stderr=True,
            )
        return _ended(output, follow(client, output, batch_id, wait=wait))

    _run(output, action)
