"""Finding images again: `search` (GET /generations), `open` and `download` one of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ideogram_assets_cli.app import (
    EXIT_CODES_HELP,
    ApiOption,
    EndpointsOption,
    IdArgument,
    JsonOption,
    ProfileOption,
    RegionOption,
    TimeoutOption,
    _api_error,
    _client,
    _finish,
    _run,
    app,
)
from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode, exit_code_for_status
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
from ideogram_assets_cli.paging import MAX_PAGE, SEARCH_PATH, search_pages
from ideogram_assets_cli.render_search import download_text, next_page_text, search_view

if TYPE_CHECKING:
    from ideogram_assets_cli.api_client import ApiClient, ApiReply
    from ideogram_assets_cli.transfer import Expected, Fetched

DEFAULT_PAGE = 20  # the API's own default
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def api_failure(output: Output) -> Callable[[ApiReply], CliError]:
    """What a refused request becomes; with --json its error body is printed first, as every
    command prints it."""

    def fail(reply: ApiReply) -> CliError:
        if output.as_json and reply.body is not None:
            output.json(reply.body)
        code = exit_code_for_status(reply.status, reply.message)
        return _api_error(reply, ExitCode.UNEXPECTED if code is ExitCode.OK else code)

    return fail


@app.command(epilog=EXIT_CODES_HELP)
def search(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="WORDS",
            help="Words to find (the same as --q; both may be given).",
            show_default=False,
        ),
    ] = None,
    q: QueryOption = None,
    tag: TagOption = None,
    seed: SeedOption = None,
    model: ModelOption = None,
    style: StyleOption = None,
    status: StatusOption = None,
    starred: StarredOption = None,
    created_from: FromOption = None,
    created_to: ToOption = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_PAGE,
            help=f"Records per page (default {DEFAULT_PAGE}; {MAX_PAGE} per request with --all).",
            show_default=False,
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        typer.Option(metavar="CURSOR", help="Go on from here: the cursor the previous page printed."),
    ] = None,
    every_page: Annotated[
        bool,
        typer.Option("--all", help="Every page to the last (a progress bar on stderr while it reads)."),
    ] = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Find generations by words, tags, seed, model, style, status, star and date, newest first
    (GET /generations).

    Prints a page (id, time, status, model, seed, size, tags, prompt) and the --cursor of the next
    one; --all reads every page. With --json: the API's body, {"items": [...], "nextCursor"}
    (with --all, every item and a null nextCursor)."""
    output = Output(as_json=as_json)
    filters = SearchOptions.of(
        words=words,
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
        client = _client(api, endpoints, profile, region, timeout)
        if every_page:
            return _search_all(output, client, filters, limit or MAX_PAGE, cursor)
        params = {**filters.query_params(), "limit": str(limit or DEFAULT_PAGE)}
        if cursor:
            params["cursor"] = cursor
        reply = client.request("GET", SEARCH_PATH, params=params)

        def show(body: Any) -> None:
            items = body.get("items") if isinstance(body.get("items"), list) else []
            output.show(search_view(items, output.out.width))
            if isinstance(body.get("nextCursor"), str):
                output.out.print(next_page_text(body["nextCursor"]), soft_wrap=True, highlight=False)

        return _finish(output, reply, show)

    _run(output, action)


def _search_all(
    output: Output, client: ApiClient, filters: SearchOptions, limit: int, cursor: str | None
) -> ExitCode:
    from ideogram_assets_cli.progress import pages_progress

    items: list[dict[str, Any]] = []
    with pages_progress(output.err) as progress:
        task = progress.add_task("searching", total=None, pages=0)
        pages = search_pages(
            client, filters.query_params(), limit=limit, cursor=cursor, fail=api_failure(output)
        )
        for number, page in enumerate(pages, start=1):
            items.extend(page.items)
            progress.update(task, pages=number, completed=len(items))
    output.result({"items": items, "nextCursor": None}, lambda: search_view(items, output.out.width))
    return ExitCode.OK


def image_link(client: ApiClient, generation_id: str, output: Output) -> str:
    """A fresh presigned link to the stored image: the Location of GET /generations/{id}/image."""
    from ideogram_assets_cli.api_client import path_segment

    reply = client.request("GET", f"/generations/{path_segment(generation_id)}/image", follow_redirects=False)
    location = reply.headers.get("location")
    if reply.status in REDIRECTS and location:
        return location
    if reply.status in REDIRECTS or 200 <= reply.status < 300:
        raise CliError(f"the API answered {reply.status} with no link to follow", ExitCode.UNEXPECTED)
    raise api_failure(output)(reply)


def fetch_shown(
    output: Output,
    client: ApiClient,
    url: str,
    destination: Path,
    expected: Expected,
    *,
    label: str,
    timeout: float,
) -> Fetched:
    """Saves a presigned link to `destination` as transfer.fetch_verified does, with a bar on stderr."""
    import requests

    from ideogram_assets_cli.progress import bytes_progress
    from ideogram_assets_cli.transfer import fetch_verified

    with bytes_progress(output.err) as progress:
        task = progress.add_task(label, total=expected.size)
        return fetch_verified(
            requests.Session(),
            url,
            destination,
            expected=expected,
            verify=client.target.links_verify,
            timeout=timeout,
            on_bytes=lambda received: progress.advance(task, received),
        )


@app.command("open", epilog=EXIT_CODES_HELP)
def open_image(
    generation_id: IdArgument,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the link instead of opening it in a browser.")
    ] = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Open a stored image in the browser, through a fresh short-lived link
    (GET /generations/{id}/image).

    The browser is the system's ($BROWSER, else the desktop's default). --print, or a machine with
    no browser, prints the link instead; --json prints {"id", "url"}."""
    output = Output(as_json=as_json)

    def action() -> ExitCode:
        import webbrowser

        client = _client(api, endpoints, profile, region, timeout)
        url = image_link(client, generation_id, output)
        if output.as_json:
            output.json({"id": generation_id, "url": url})
        if print_only:
            if not output.as_json:
                output.plain(url)
            return ExitCode.OK
        if not webbrowser.open(url):
            output.warn("no browser to open it with; here is the link")
            if not output.as_json:
                output.plain(url)
        return ExitCode.OK

    _run(output, action)


@app.command(epilog=EXIT_CODES_HELP)
def download(
    generation_id: IdArgument,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Where to save it (a directory: <id>.png in it). Default: <id>.png here.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 60.0,
) -> None:
    """Save a stored image to a file, checked against its record (GET /generations/{id}).

    The bytes go to FILE.part and take FILE's name only once their SHA-256 and size match the
    record's; a mismatch leaves nothing behind and exits 6. --json prints {"id", "path",
    "sizeBytes", "sha256"}."""
    output = Output(as_json=as_json)

    def action() -> ExitCode:
        from ideogram_assets_cli.api_client import path_segment
        from ideogram_assets_cli.transfer import Expected, IntegrityError, TransferError

        destination = _destination(out, generation_id)
        if destination.exists() and not force:
            raise CliError(f"{destination} exists", ExitCode.BAD_INPUT, hint="--force replaces it")
        client = _client(api, endpoints, profile, region, timeout)
        reply = client.request("GET", f"/generations/{path_segment(generation_id)}")
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise api_failure(output)(reply)
        record = reply.body
        url, sha256 = record.get("imageUrl"), record.get("sha256")
        if not isinstance(url, str) or not isinstance(sha256, str):
            raise CliError(
                f"generation {generation_id} has no stored image (status {record.get('status')})",
                ExitCode.NOT_FOUND,
            )
        size = record.get("sizeBytes") if isinstance(record.get("sizeBytes"), int) else None
        try:
            expected = Expected(sha256=sha256, size=size)
            label = f"{generation_id[:8]}…"
            fetched = fetch_shown(output, client, url, destination, expected, label=label, timeout=timeout)
        except IntegrityError as error:
            raise CliError(
                f"the image downloaded does not match its record: {error.message}; nothing was saved",
                ExitCode.UNAVAILABLE,
            ) from None
        except TransferError as error:
            raise CliError(f"{error.message}; nothing was saved", ExitCode.UNAVAILABLE) from None
        output.result(
            {
                "id": generation_id,
                "path": str(fetched.path),
                "sizeBytes": fetched.size,
                "sha256": fetched.sha256,
            },
            lambda: download_text(str(fetched.path), fetched.size, fetched.sha256),
        )
        return ExitCode.OK

    _run(output, action)


def _destination(out: Path | None, generation_id: str) -> Path:
    from ideogram_assets_cli.api_client import path_segment

    name = f"{path_segment(generation_id)}.png"  # the id is checked by the API; never a path here
    if out is None:
        return Path.cwd() / name
    return out / name if out.is_dir() else out
