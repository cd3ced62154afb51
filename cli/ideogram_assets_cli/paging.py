"""GET /generations page by page: each page's records, newest first, and the cursor of the next."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from ideogram_assets_cli.api_client import ApiClient, ApiReply

SEARCH_PATH = "/generations"
MAX_PAGE = 100  # the API's largest `limit`


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def read_page(reply: ApiReply) -> Page:
    """A 200 reply's items and cursor, or a CliError saying what is wrong with it."""
    body = reply.body
    items = body.get("items") if isinstance(body, dict) else None
    cursor = body.get("nextCursor") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise CliError("the search reply has no list of items", ExitCode.UNEXPECTED)
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        raise CliError("the search reply's nextCursor is not a string", ExitCode.UNEXPECTED)
    return Page(items=items, next_cursor=cursor)


def search_page(
    client: ApiClient,
    params: dict[str, str],
    *,
    limit: int,
    cursor: str | None,
    fail: Callable[[ApiReply], CliError],
) -> Page:
    """One page; a reply other than 200 becomes the CliError `fail` makes of it."""
    query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
    reply = client.request("GET", SEARCH_PATH, params=query)
    if reply.status != 200:
        raise fail(reply)
    return read_page(reply)


def search_pages(
    client: ApiClient,
    params: dict[str, str],
    *,
    limit: int = MAX_PAGE,
    cursor: str | None = None,
    fail: Callable[[ApiReply], CliError],
) -> Iterator[Page]:
    """Every page from `cursor` (None: the newest) to the last."""
    seen: set[str] = set()
    while True:
        page = search_page(client, params, limit=limit, cursor=cursor, fail=fail)
        yield page
        if page.next_cursor is None:
            return
        # A cursor handed out twice would page for ever; the API never does that on purpose.
        if page.next_cursor in seen:
            raise CliError("the API returned a cursor it had already returned", ExitCode.UNEXPECTED)
        seen.add(page.next_cursor)
        cursor = page.next_cursor
