"""POST /batches and GET /batches/{id}: many generation requests at once, and their progress.

Each item is a GenerationRequested body (the body of POST /generations, with optionally
`on_duplicate` and the client request id that makes its generation idempotent, by default
`batch-<batchId>-<itemId>`) plus, optionally, the caller's own id for it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ideogram_assets.api.generations import ApiModel
from ideogram_assets.batches.store import NewItem
from ideogram_assets.events.requests import GenerationRequested
from ideogram_assets.generation.duplicates import DuplicatePolicy

BATCH_ID_PATTERN = r"^[0-9a-f]{32}$"
ITEM_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_BATCH_ITEMS = 1000


ItemId = Annotated[
    str,
    Field(
        pattern=ITEM_ID_PATTERN,
        description="The caller's id for the item, unique in the batch: 1-64 letters, digits, "
        "'_', '.', ':' or '-' (default: its 1-based position)",
    ),
]


class BatchItemRequest(GenerationRequested):
    """One item of a batch: a GenerationRequested body (its own `on_duplicate` wins over the
    batch's; its `client_request_id` defaults to `batch-<batchId>-<itemId>`), plus its id."""

    item_id: ItemId | None = None


def item_ids(items: list[BatchItemRequest]) -> list[str]:
    """Each item's id: its own, or its 1-based position in the batch."""
    return [item.item_id or str(position) for position, item in enumerate(items, start=1)]


def _unique_ids(items: list[BatchItemRequest]) -> list[BatchItemRequest]:
    first_at: dict[str, int] = {}
    for index, item_id in enumerate(item_ids(items)):
        if item_id in first_at:
            raise ValueError(
                f"item id {item_id!r} is used twice: items[{first_at[item_id]}] and items[{index}] "
                "(an item with no item_id has its 1-based position as id)"
            )
        first_at[item_id] = index
    named: dict[str, int] = {}
    for index, item in enumerate(items):
        key = item.client_request_id
        if key is None:
            continue
        if key in named:
            raise ValueError(
                f"client_request_id {key!r} is used twice: items[{named[key]}] and items[{index}] "
                "(the second would only repeat the first)"
            )
        named[key] = index
    return items


class BatchRequest(BaseModel):
    """POST /batches: up to 1,000 generation requests, queued and generated in the background."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: Annotated[
        list[BatchItemRequest],
        Field(min_length=1, max_length=MAX_BATCH_ITEMS, description="1-1,000 generation requests"),
        AfterValidator(_unique_ids),
    ]
    on_duplicate: Annotated[
        DuplicatePolicy | None,
        Field(
            description="on_duplicate for the items that do not say: generate new images (the "
            "default), reuse the stored ones, or reject the item (FAILED, naming them)"
        ),
    ] = None

    def new_items(self) -> list[NewItem]:
        """Each item with its id and its message body: a GenerationRequested body, as the caller
        wrote it (the fields it set), with the batch's on_duplicate when it names none."""
        new_items = []
        for item_id, item in zip(item_ids(self.items), self.items, strict=True):
            body = item.model_dump(mode="json", exclude_unset=True, exclude={"item_id"})
            if self.on_duplicate is not None and "on_duplicate" not in item.model_fields_set:
                body["on_duplicate"] = self.on_duplicate
            new_items.append(NewItem(item_id, body))
        return new_items


class BatchItemFailure(ApiModel):
    item_id: str
    reason: str


class BatchAccepted(ApiModel):
    """POST /batches reply: the batch is recorded and its items queued."""

    batch_id: str
    items: int = Field(description="Items in the batch")
    status: Literal["QUEUED"]
    enqueued: int = Field(description="Items queued; the others are FAILED (see `failures`)")
    failures: list[BatchItemFailure] = Field(description="Items that could not be queued, and why")


class BatchItemResult(ApiModel):
    item_id: str
    status: Literal["QUEUED", "DONE", "FAILED"]
    generation_ids: list[str] = Field(description="The records the item's generation made, once DONE")
    statuses: list[str] = Field(description="Each record's status (STORED, UNSAFE, FAILED...)")
    last_error: str | None = Field(
        default=None, description="Why the last try of a QUEUED item failed (it will be tried again)"
    )


class BatchCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    QUEUED: int
    DONE: int
    FAILED: int


class BatchView(ApiModel):
    """GET /batches/{id}: the batch's progress, every item in the batch's order."""

    batch_id: str
    created_at: str
    items: int
    counts: BatchCounts
    complete: bool = Field(description="No item is QUEUED any more")
    results: list[BatchItemResult]
    failures: list[BatchItemFailure]
