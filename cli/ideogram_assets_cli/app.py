"""The `ideogram-assets` commands: one per user task, tables for people, --json for scripts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ideogram_assets.ideogram import ColorPalettePreset, MagicPrompt, ModelVersion, RenderingSpeed, StyleType
from ideogram_assets.ideogram.spec_values import MAX_IMAGES, MAX_SEED
from ideogram_assets_cli import __version__
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode, exit_code_for_status, exit_codes_help
from ideogram_assets_cli.generation_body import (
    DuplicatePolicy,
    GenerateOptions,
    generation_body,
    new_idempotency_key,
)
from ideogram_assets_cli.output import Output
from ideogram_assets_cli.render import generations_table, record_panel
from ideogram_assets_cli.render_outcome import reused_note
from ideogram_assets_cli.render_retention import report_view, retention_panel, summary_view
from ideogram_assets_cli.retry_safety import conflict_exit_code, existing_ids, retry_hints
from ideogram_assets_cli.target import API_ENV, ENDPOINTS_ENV, resolve_target

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ideogram_assets_cli.api_client import ApiClient, ApiReply
    from ideogram_assets_cli.target import Target

# Kept here, not imported from invoke.py: that module loads boto3's error classes on use only.
RETENTION_FUNCTION_ENV = "IDEOGRAM_ASSETS_RETENTION_FUNCTION"
# The retention function's timeout in template.yaml (300 s) and a margin for the call itself.
RETENTION_TIMEOUT_SECONDS = 330.0

EXIT_CODES_HELP = exit_codes_help()

app = typer.Typer(
    name="ideogram-assets",
    help=(
        "Generate images with Ideogram through the ideogram-assets API; find, curate, report on, export "
        "and pull the stored images; decide how long they are kept.\n\n"
        "Talks to the local stack started by `make up` (its .local/endpoints.json, found from the current "
        "directory upward) unless --api names a deployed API, which is signed with SigV4 using the "
        "standard AWS credentials (--profile, AWS_PROFILE, environment variables, SSO...)."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    # Errors are one clear line on stderr (see _run), never a traceback.
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

TARGET = "Target"
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print the API's JSON body on stdout and nothing else (progress on stderr)."),
]
ApiOption = Annotated[
    str | None,
    typer.Option(
        "--api",
        envvar=API_ENV,
        help="URL of a deployed API (its ApiUrl output); requests are SigV4-signed with AWS credentials.",
        rich_help_panel=TARGET,
    ),
]
EndpointsOption = Annotated[
    Path | None,
    typer.Option(
        "--endpoints",
        envvar=ENDPOINTS_ENV,
        help="The local stack's endpoints file (default: .local/endpoints.json here or above).",
        rich_help_panel=TARGET,
        show_default=False,
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile", help="AWS profile for --api (default: the AWS credential chain).", rich_help_panel=TARGET
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="Region to sign for with --api (default: the execute-api hostname's, else AWS_REGION/profile).",
        rich_help_panel=TARGET,
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=1, help="Seconds to wait for the API's answer.", rich_help_panel=TARGET),
]
FunctionOption = Annotated[
    str | None,
    typer.Option(
        "--function",
        envvar=RETENTION_FUNCTION_ENV,
        metavar="NAME",
        help="The retention function's name or ARN, needed with --api (the stack's RetentionFunctionName "
        "output); the local stack's is RetentionFunction.",
        rich_help_panel=TARGET,
        show_default=False,
    ),
]
TaskTimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", min=1, help="Seconds to wait for the function's answer.", rich_help_panel=TARGET
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Change nothing: report what a run would do."),
]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The generation's id (32 hex characters).")]
IdempotencyKeyOption = Annotated[
    str | None,
    typer.Option(
        metavar="KEY",
        help="Makes a retry safe: the same key and body within 24 h get the first answer, never a "
        "second generation (default: a new key for each run, printed when a retry may be needed).",
    ),
]


@dataclass(frozen=True)
class Where:
    """The target options a command was given: where its requests go and how they are signed."""

    api: str | None
    endpoints: Path | None
    profile: str | None
    region: str | None

    def target(self) -> Target:
        return resolve_target(
            api_url=self.api,
            endpoints_file=self.endpoints,
            profile=self.profile,
            region=self.region,
            cwd=Path.cwd(),
        )

    def client(self, timeout: float) -> ApiClient:
        # requests and botocore's signer load only when a command calls the API: --help stays quick.
        from ideogram_assets_cli.api_client import ApiClient

        return ApiClient(self.target(), timeout_seconds=timeout)


def _choice_option(name: str, choices: type[StrEnum], help_text: str) -> Any:
    """An option taking one of an API enum's values, in any case; help lists them as the API spells them."""
    return typer.Option(name, case_sensitive=False, metavar="|".join(choices), help=help_text)


def _run(output: Output, action: Callable[[], ExitCode]) -> None:
    """Runs a command: every failure becomes a message on stderr and an exit code, never a trace."""
    try:
        code = action()
    except CliError as error:
        output.error(error)
        code = error.code
    except KeyboardInterrupt:
        output.error(CliError("interrupted", ExitCode.INTERRUPTED))
        code = ExitCode.INTERRUPTED
    except Exception as error:  # a bug or an answer we did not foresee: still no traceback
        output.error(CliError(f"unexpected error: {type(error).__name__}: {error}", ExitCode.UNEXPECTED))
        code = ExitCode.UNEXPECTED
    raise typer.Exit(int(code))


def _client(
    api: str | None, endpoints: Path | None, profile: str | None, region: str | None, timeout: float
) -> ApiClient:
    return Where(api, endpoints, profile, region).client(timeout)


def _api_error(reply: ApiReply, code: ExitCode) -> CliError:
    message = reply.message or "no message"
    retry_after = reply.headers.get("retry-after")
    hint = f"retry in {retry_after} s" if retry_after else None
    existing = existing_ids(reply)  # on_duplicate=reject: the stored images that refused it
    if existing:
        hint = "--on-duplicate reuse returns them; --on-duplicate generate makes new images"
    details = [*reply.field_errors, *(f"existing: {generation_id}" for generation_id in existing)]
    return CliError(f"{message} (HTTP {reply.status})", code, details=details, hint=hint)


def _finish(
    output: Output, reply: ApiReply, show: Callable[[Any], None], *, conflict: ExitCode | None = None
) -> ExitCode:
    """Prints a reply (the body as JSON, or `show` for people) and says how the command ends.
    `conflict`: the exit code of a 409 when, for this route, it is not "busy, retry later"."""
    code = exit_code_for_status(reply.status, reply.message)
    if reply.status == 409 and conflict is not None:
        code = conflict
    if output.as_json and reply.body is not None:
        output.json(reply.body)
    if code not in (ExitCode.OK, ExitCode.PARTIAL):
        raise _api_error(reply, code)
    if not isinstance(reply.body, dict):
        raise CliError(
            f"the API answered {reply.status} with a body that is not a JSON object", ExitCode.UNEXPECTED
        )
    if not output.as_json:
        show(reply.body)
    return code


def _post_generation(
    output: Output,
    client: ApiClient,
    path: str,
    *,
    body: dict[str, Any] | None,
    key: str,
    what: str,
    doing: str,
    show: Callable[[Any], None],
    not_stored: str,
) -> ExitCode:
    """POST a request that generates (and bills) images under an Idempotency-Key, then shows them.
    The request may go through although no answer comes back: the hints say how to retry with the
    same key, which never pays twice. `not_stored`: the warning when some image is not stored yet."""
    with retry_hints(key, what):
        with output.waiting(doing):
            reply = client.request("POST", path, body=body, headers={"Idempotency-Key": key})
        code = _finish(output, reply, show, conflict=conflict_exit_code(reply))
    if code is ExitCode.PARTIAL:
        output.warn(not_stored)
    return code


@app.command(epilog=EXIT_CODES_HELP)
def generate(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="What to generate.", show_default=False)],
    model: Annotated[
        ModelVersion | None, _choice_option("--model", ModelVersion, "Ideogram model (API default: V_3).")
    ] = None,
    speed: Annotated[
        RenderingSpeed | None,
        _choice_option("--speed", RenderingSpeed, "Rendering speed (older models: TURBO, DEFAULT)."),
    ] = None,
    style: Annotated[StyleType | None, _choice_option("--style", StyleType, "Style type.")] = None,
    aspect_ratio: Annotated[
        str | None, typer.Option(metavar="WxH", help='Aspect ratio such as "16x9" (not with --resolution).')
    ] = None,
    resolution: Annotated[
        str | None, typer.Option(metavar="WxH", help='Resolution in pixels such as "1024x1024".')
    ] = None,
    magic_prompt: Annotated[
        MagicPrompt | None, _choice_option("--magic-prompt", MagicPrompt, "Let Ideogram rewrite the prompt.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, max=MAX_SEED, help="Seed, for a reproducible image.")
    ] = None,
    num_images: Annotated[
        int | None, typer.Option(min=1, max=MAX_IMAGES, help="How many images (API default: 1).")
    ] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="What to leave out of the image.")] = None,
    color_palette: Annotated[
        ColorPalettePreset | None,
        _choice_option("--color-palette", ColorPalettePreset, "A color palette preset."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", metavar="TAG", help="A tag for the records (repeatable).")
    ] = None,
    on_duplicate: Annotated[
        DuplicatePolicy | None,
        _choice_option(
            "--on-duplicate",
            DuplicatePolicy,
            "When images of the same prompt and parameters are stored already: generate new ones "
            "(the API's default), reuse the stored ones (nothing generated), or reject the request "
            "(exit 2, naming them).",
        ),
    ] = None,
    idempotency_key: IdempotencyKeyOption = None,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 180.0,
) -> None:
    """Generate images with Ideogram and store every one of them (POST /generations)."""
    output = Output(as_json=as_json)
    options = GenerateOptions(
        prompt=prompt,
        model=model,
        rendering_speed=speed,
        style_type=style,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        magic_prompt=magic_prompt,
        seed=seed,
        num_images=num_images,
        negative_prompt=negative_prompt,
        color_palette=color_palette,
        tags=tag or [],
        on_duplicate=on_duplicate,
    )

    def show_generated(body: Any) -> None:
        output.show(generations_table(body, output.out.width))
        if body.get("reused"):
            output.show(reused_note(body))

    def action() -> ExitCode:
        count = options.num_images or 1
        return _post_generation(
            output,
            _client(api, endpoints, profile, region, timeout),
            "/generations",
            body=generation_body(options),
            key=idempotency_key or new_idempotency_key(),
            what="generation",
            doing=f"generating {count} image{'s' if count > 1 else ''} and storing them",
            show=show_generated,
            not_stored="some images are not stored yet; their records keep Ideogram's URL for reconciliation",
        )

    _run(output, action)


@app.command(epilog=EXIT_CODES_HELP)
def show(
    generation_id: IdArgument,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Show one generation's record, with a fresh link to its image (GET /generations/{id})."""
    output = Output(as_json=as_json)

    def action() -> ExitCode:
        from ideogram_assets_cli.api_client import path_segment

        client = _client(api, endpoints, profile, region, timeout)
        reply = client.request("GET", f"/generations/{path_segment(generation_id)}")
        return _finish(output, reply, lambda body: output.show(record_panel(body)))

    _run(output, action)


class PinnedClass(StrEnum):
    """The retention classes (ideogram_assets.retention.policy), as `pin --class` takes them."""

    PERMANENT = "permanent"
    STANDARD = "standard"
    SHORT = "short"


class UnpinnedClass(StrEnum):
    """The classes that expire, as `unpin --class` takes them."""

    STANDARD = "standard"
    SHORT = "short"


def _patch_record(
    output: Output,
    generation_id: str,
    change: Callable[[], dict[str, Any]],
    where: Where,
    timeout: float,
    panel: Callable[[Any], RenderableType],
) -> None:
    """PATCH /generations/{id} with the body `change` makes, then `panel` of the record (or the
    API's JSON body). A CliError from `change` (a bad +/- list) is reported like the API's own."""

    def action() -> ExitCode:
        from ideogram_assets_cli.api_client import path_segment

        body = change()
        client = where.client(timeout)
        reply = client.request("PATCH", f"/generations/{path_segment(generation_id)}", body=body)
        # PATCH's 409: the record's state allows no such change (it changed meanwhile, or an UNSAFE
        # or LOST record has no image to keep); asking again will not help, so it is the caller's to fix.
        return _finish(output, reply, lambda body: output.show(panel(body)), conflict=ExitCode.BAD_INPUT)

    _run(output, action)


def _change_retention(
    output: Output, generation_id: str, change: dict[str, Any], where: Where, timeout: float
) -> None:
    """PATCH /generations/{id}, then the record's class, hold and expiry."""
    _patch_record(output, generation_id, lambda: change, where, timeout, retention_panel)


@app.command(epilog=EXIT_CODES_HELP)
def pin(
    generation_id: IdArgument,
    retention_class: Annotated[
        PinnedClass,
        _choice_option(
            "--class",
            PinnedClass,
            "The class to keep it in: permanent never expires; standard and short "
            "expire that many days after the image was generated.",
        ),
    ] = PinnedClass.PERMANENT,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Pin an image to a retention class, permanent by default (PATCH /generations/{id})."""
    output = Output(as_json=as_json)
    where = Where(api, endpoints, profile, region)
    _change_retention(output, generation_id, {"retention_class": retention_class.value}, where, timeout)


@app.command(epilog=EXIT_CODES_HELP)
def unpin(
    generation_id: IdArgument,
    retention_class: Annotated[
        UnpinnedClass,
        _choice_option("--class", UnpinnedClass, "The class it expires with (from its generation day)."),
    ] = UnpinnedClass.STANDARD,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Let a pinned image expire again, with the standard class by default (PATCH /generations/{id}).

    An image whose day has already passed is deleted by the next retention sweep."""
    output = Output(as_json=as_json)
    where = Where(api, endpoints, profile, region)
    _change_retention(output, generation_id, {"retention_class": retention_class.value}, where, timeout)


@app.command(epilog=EXIT_CODES_HELP)
def hold(
    generation_id: IdArgument,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Put an image under legal hold: kept whatever its class, until released (PATCH /generations/{id})."""
    output = Output(as_json=as_json)
    where = Where(api, endpoints, profile, region)
    _change_retention(output, generation_id, {"legal_hold": True}, where, timeout)


@app.command(epilog=EXIT_CODES_HELP)
def release(
    generation_id: IdArgument,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Release an image's legal hold: its retention class applies again (PATCH /generations/{id})."""
    output = Output(as_json=as_json)
    where = Where(api, endpoints, profile, region)
    _change_retention(output, generation_id, {"legal_hold": False}, where, timeout)


def _run_task(
    output: Output,
    task: str,
    *,
    dry_run: bool,
    where: Where,
    function: str | None,
    timeout: float,
    view: Callable[[Mapping[str, Any]], RenderableType],
) -> None:
    """Invokes the retention function with {"task", "dryRun"} and shows its summary."""

    def action() -> ExitCode:
        # boto3 loads only here: --help stays quick.
        from ideogram_assets_cli.invoke import function_error, invoke, retention_function_name

        target = where.target()
        name = retention_function_name(target, function)
        doing = f"{task}{' (dry run)' if dry_run else ''}: waiting for {name}"
        try:
            with output.waiting(doing):
                reply = invoke(target, name, {"task": task, "dryRun": dry_run}, timeout_seconds=timeout)
        except KeyboardInterrupt:
            raise CliError(
                f"interrupted; {name} may still be running",
                ExitCode.INTERRUPTED,
                hint="running it again is safe (every change is conditional)",
            ) from None
        if output.as_json and reply.payload is not None:
            output.json(reply.payload)  # the function's reply, or its error, as Lambda returned it
        if reply.function_error:
            raise function_error(reply, name)
        summary = reply.payload
        if not isinstance(summary, dict):
            raise CliError(f"{name} replied with something that is not a JSON object", ExitCode.UNEXPECTED)
        if not output.as_json:
            output.show(view(summary))
        # Stopped before the function's time ran out: the rest is for the next run.
        return ExitCode.OK if summary.get("complete", True) is not False else ExitCode.PARTIAL

    _run(output, action)


@app.command(epilog=EXIT_CODES_HELP)
def reconcile(
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    function: FunctionOption = None,
    timeout: TaskTimeoutOption = RETENTION_TIMEOUT_SECONDS,
) -> None:
    """Finish what generations left undone, now rather than at the next scheduled run.

    Images not stored yet are stored (from their object, or Ideogram's URL while it lasts) or
    closed as LOST; objects with no record are deleted; STORED records whose object is gone are
    marked MISSING. Exits 3 when the task stopped before it was done (the next run goes on)."""
    _run_task(
        Output(as_json=as_json),
        "reconcile",
        dry_run=dry_run,
        where=Where(api, endpoints, profile, region),
        function=function,
        timeout=timeout,
        view=summary_view,
    )


retention_app = typer.Typer(
    name="retention",
    help="Delete what has expired, or report what is kept (the retention function, on demand).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
app.add_typer(retention_app)


@retention_app.command("run", epilog=EXIT_CODES_HELP)
def retention_run(
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    function: FunctionOption = None,
    timeout: TaskTimeoutOption = RETENTION_TIMEOUT_SECONDS,
) -> None:
    """Delete the images whose retention has ended (object, then record), as the daily sweep does.

    Pinned (permanent) and held images are never deleted. --dry-run lists what would be. Exits 3
    when the sweep stopped before it was done (the next run goes on)."""
    _run_task(
        Output(as_json=as_json),
        "sweep",
        dry_run=dry_run,
        where=Where(api, endpoints, profile, region),
        function=function,
        timeout=timeout,
        view=summary_view,
    )


@retention_app.command("report", epilog=EXIT_CODES_HELP)
def retention_report(
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    function: FunctionOption = None,
    timeout: TaskTimeoutOption = RETENTION_TIMEOUT_SECONDS,
) -> None:
    """Images and bytes by status and by retention class, and what expires in the next 7 and 30 days."""
    _run_task(
        Output(as_json=as_json),
        "report",
        dry_run=False,
        where=Where(api, endpoints, profile, region),
        function=function,
        timeout=timeout,
        view=report_view,
    )


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ideogram-assets {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Generate images with Ideogram through the ideogram-assets API; find, curate, report on, export
    and pull the stored images; decide how long they are kept."""


# Commands kept in modules of their own, registered on `app` as they load (in this order, the
# order of --help); they build on the options above, so they load last.
# isort: off
from ideogram_assets_cli import commands_search  # noqa: E402, F401  (search, open, download)
from ideogram_assets_cli import commands_curate  # noqa: E402, F401  (tag, star, unstar, note)
from ideogram_assets_cli import commands_report  # noqa: E402, F401  (report, export)
from ideogram_assets_cli import commands_pull  # noqa: E402, F401  (pull)
from ideogram_assets_cli import commands_batch  # noqa: E402, F401  (batch)
from ideogram_assets_cli import commands_reproduce  # noqa: E402, F401  (reproduce)
# isort: on


def main() -> None:
    app()
