"""`pull DIR`: mirror the stored images and their records into a local folder (see pull.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
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
    _client,
    _run,
    app,
)
from ideogram_assets_cli.commands_search import api_failure, image_link
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
from ideogram_assets_cli.paging import MAX_PAGE, search_pages

if TYPE_CHECKING:
    import requests

    from ideogram_assets_cli.api_client import ApiClient
    from ideogram_assets_cli.pull import PullEvents
    from ideogram_assets_cli.transfer import Expected, Fetched

# S3's answers to a presigned link that has expired (403) or whose signature no longer holds (400).
_STALE_LINK = frozenset({400, 403})


class ImageFetcher:
    """Fetches an image through its record's link, or a fresh one from GET /generations/{id}/image
    when the record has none or its link has expired (a long pull outlives a page's links)."""

    def __init__(self, client: ApiClient, events: PullEvents, timeout: float) -> None:
        self.client = client
        self.events = events
        self.timeout = timeout
        self._api_lock = threading.Lock()  # one ApiClient (one requests.Session) for every thread
        self._local = threading.local()  # a session of its own per download thread

    def _session(self) -> requests.Session:
        import requests

        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _fresh_link(self, generation_id: str) -> str:
        with self._api_lock:
            # Never the error body on stdout from a download thread: the failure is the image's.
            return image_link(self.client, generation_id, Output())

    def __call__(self, record: Mapping[str, Any], path: Path, expected: Expected) -> Fetched:
        from ideogram_assets_cli.transfer import TransferError, fetch_verified

        generation_id = str(record["id"])
        link = record.get("imageUrl")
        url = link if isinstance(link, str) and link else self._fresh_link(generation_id)

        def fetch(url: str) -> Fetched:
            return fetch_verified(
                self._session(),
                url,
                path,
                expected=expected,
                verify=self.client.target.links_verify,
                timeout=self.timeout,
                on_bytes=self.events.received,
            )

        try:
            return fetch(url)
        except TransferError as error:
            if error.status not in _STALE_LINK or url != link:
                raise
        return fetch(self._fresh_link(generation_id))


@app.command(epilog=EXIT_CODES_HELP)
def pull(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            help="The mirror: DIR/generations.json and DIR/images/YYYY/MM/DD/<id>.png (made if needed).",
            show_default=False,
            file_okay=False,
        ),
    ],
    q: QueryOption = None,
    tag: TagOption = None,
    seed: SeedOption = None,
    model: ModelOption = None,
    style: StyleOption = None,
    status: StatusOption = None,
    starred: StarredOption = None,
    created_from: FromOption = None,
    created_to: ToOption = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=16, help="Images fetched at a time.")] = 4,
    as_json: JsonOption = False,
    api: ApiOption = None,
    endpoints: EndpointsOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    timeout: TimeoutOption = 60.0,
) -> None:
    """Mirror the stored images and their records (all, or those the filters match) into DIR.

    Run it again to bring the mirror up to date: an image already there with its record's SHA-256
    is not fetched again, and an interrupted pull goes on where it stopped. Each image is written
    to <id>.png.part and renamed once its SHA-256 and size match the record; one that does not
    match is reported and left out, the others go on, and the pull exits 3. generations.json lists
    the records as the API shows them (without the short-lived links), newest first, and is
    replaced atomically as the pull goes. --json prints a summary of what was done."""
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
        from ideogram_assets_cli.progress import PullProgress
        from ideogram_assets_cli.pull import Mirror
        from ideogram_assets_cli.render_search import pull_view

        client = _client(api, endpoints, profile, region, timeout)
        directory.mkdir(parents=True, exist_ok=True)

        def pages() -> Iterator[list[dict[str, Any]]]:
            fail = api_failure(output)
            for page in search_pages(client, filters.query_params(), limit=MAX_PAGE, fail=fail):
                yield page.items

        with PullProgress(output.err) as progress:
            fetcher = ImageFetcher(client, progress, timeout)
            summary = Mirror(directory, fetcher, jobs=jobs, events=progress).run(pages())
        for generation_id, reason in summary.failures:
            output.warn(f"{generation_id}: {reason}")
        output.result(summary.as_json(), lambda: pull_view(summary))
        return ExitCode.PARTIAL if summary.failures else ExitCode.OK

    _run(output, action)
