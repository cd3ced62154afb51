"""What the table's stream announces, and how often: a record's change to STORED, FAILED or LOST
(never a repeat of its status, nor any other item of the table), the event each becomes, and the
marker that keeps a redelivered stream record from announcing twice while a failed put is sent
again. Fakes stand in for DynamoDB and EventBridge."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from ideogram_assets.events.publisher import MARKER_DAYS, Publisher, PublishFailed, changed_status
from ideogram_assets.events.results import GenerationFailed, ImagePersisted, announcement, detail_type
from ideogram_assets.records.model import GenerationRecord
from tests.unit.search_records import record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient

TABLE = "ideogram-assets-AssetsTable"
BUS = "ideogram-assets-AssetsEventBus"
NOW = 1_795_251_600.25
GEN_ID = "4a3a778ee1ae4e81a7bd9fc35963fb9e"
REQUEST_ID = "020d0ea6edf145cca83f3e11f3aed820"
BATCH_ID = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
SHA256 = "58" * 32
CLAIM_CONDITION = "attribute_not_exists(PK) OR #state = :sending"


def stored(**overrides: Any) -> GenerationRecord:
    fields: dict[str, Any] = {
        "request_id": REQUEST_ID,
        "status": "STORED",
        "source": "batch",
        "correlation_id": BATCH_ID,
        "batch_id": BATCH_ID,
        "tags": {"cms", "campaign-2026"},
        "bucket": "assets-bucket",
        "key": f"images/2026/11/21/{GEN_ID}.png",
        "sha256": SHA256,
        "size_bytes": 22749,
        **overrides,
    }
    return record(GEN_ID, **fields)


def failed(status: str = "FAILED", **overrides: Any) -> GenerationRecord:
    fields: dict[str, Any] = {
        "request_id": REQUEST_ID,
        "status": status,
        "source": "event",
        "correlation_id": "7b2e4c1a-93f0-4d8e-b5a6-0c1d2e3f4a5b",
        "failure_kind": "download",
        "failure_message": "the image URL answered 500",
        **overrides,
    }
    return record(GEN_ID, **fields)


def image(item: GenerationRecord | dict[str, Any]) -> dict[str, Any]:
    """A table item as the stream carries it (DynamoDB's attribute-value JSON)."""
    return dict(item.serialize()) if isinstance(item, GenerationRecord) else item


def change(
    new: GenerationRecord | dict[str, Any] | None,
    old: GenerationRecord | dict[str, Any] | None = None,
    event_name: str | None = None,
) -> dict[str, Any]:
    """A stream record of the table (NEW_AND_OLD_IMAGES)."""
    dynamodb: dict[str, Any] = {}
    if new is not None:
        dynamodb["NewImage"] = image(new)
    if old is not None:
        dynamodb["OldImage"] = image(old)
    name = event_name or ("INSERT" if old is None else "MODIFY")
    return {"eventName": name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


# -- which changes are announced ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "old"),
    [
        pytest.param(stored(), None, id="INSERT as STORED"),
        pytest.param(stored(), stored(status="PENDING"), id="PENDING to STORED"),
        pytest.param(failed(), stored(status="PENDING"), id="PENDING to FAILED"),
        pytest.param(failed("LOST"), failed(), id="FAILED to LOST"),
        pytest.param(stored(), failed(), id="FAILED to STORED (rescued)"),
        pytest.param(failed(), None, id="INSERT as FAILED"),
    ],
)
def test_a_change_to_an_announced_status_is_announced(
    new: GenerationRecord, old: GenerationRecord | None
) -> None:
    found = changed_status(change(new, old))

    assert found is not None
    assert found.serialize() == new.serialize()


@pytest.mark.parametrize(
    ("new", "old"),
    [
        pytest.param(stored(retention_class="archive"), stored(), id="STORED to STORED (pinning)"),
        pytest.param(failed(failure_message="again"), failed(), id="FAILED to FAILED"),
        pytest.param(failed("LOST", note="gone"), failed("LOST"), id="LOST to LOST"),
        pytest.param(stored(status="MISSING"), stored(), id="STORED to MISSING"),
        pytest.param(stored(status="UNSAFE"), stored(status="PENDING"), id="PENDING to UNSAFE"),
        pytest.param(stored(status="PENDING"), None, id="INSERT as PENDING"),
    ],
)
def test_other_record_changes_are_not_announced(new: GenerationRecord, old: GenerationRecord | None) -> None:
    assert changed_status(change(new, old)) is None


def test_a_removed_record_is_not_announced() -> None:
    assert changed_status(change(None, stored(), event_name="REMOVE")) is None


def test_a_stream_record_without_images_is_not_announced() -> None:
    assert changed_status({"eventName": "MODIFY"}) is None


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(
            {"PK": {"S": "TAG#cms"}, "SK": {"S": f"2026-11-21T09:00:02.114Z#{GEN_ID}"}, "id": {"S": GEN_ID}},
            id="an index item",
        ),
        pytest.param(
            {"PK": {"S": "COUNTER"}, "SK": {"S": "status#STORED#3"}, "records": {"N": "4"}},
            id="a counter",
        ),
        pytest.param(
            {"PK": {"S": f"EVENT#{GEN_ID}"}, "SK": {"S": "STORED"}, "state": {"S": "SENT"}},
            id="an announcement marker",
        ),
        pytest.param(
            {"PK": {"S": f"BATCH#{BATCH_ID}"}, "SK": {"S": "ITEM#fox"}, "status": {"S": "FAILED"}},
            id="a batch item",
        ),
        pytest.param({"PK": {"S": f"BATCH#{BATCH_ID}"}, "SK": {"S": "META"}}, id="a batch"),
    ],
)
def test_items_other_than_records_are_not_announced(item: dict[str, Any]) -> None:
    assert changed_status(change(item)) is None


def test_an_export_job_that_failed_is_not_announced() -> None:
    job = {
        "PK": {"S": "EXPORT#0f3c2b1a"},
        "SK": {"S": "META"},
        "id": {"S": "0f3c2b1a"},
        "format": {"S": "csv"},
        "createdAt": {"S": "2026-11-21T09:00:00.000Z"},
        "ttl": {"N": "1795856400"},
    }
    running = {**job, "status": {"S": "RUNNING"}}
    finished = {**job, "status": {"S": "FAILED"}, "message": {"S": "the export did not finish"}}

    assert changed_status(change(finished, running)) is None


# -- the announcement -------------------------------------------------------------------------------


def test_a_stored_record_is_announced_as_image_persisted() -> None:
    detail = announcement(stored(parent_id="f" * 32))

    assert isinstance(detail, ImagePersisted)
    assert detail_type(detail) == "ImagePersisted"
    assert detail.model_dump(mode="json") == {
        "id": GEN_ID,
        "requestId": REQUEST_ID,
        "promptHash": "ab" * 32,
        "tags": ["campaign-2026", "cms"],
        "source": "batch",
        "correlationId": BATCH_ID,
        "batchId": BATCH_ID,
        "bucket": "assets-bucket",
        "key": f"images/2026/11/21/{GEN_ID}.png",
        "sha256": SHA256,
        "sizeBytes": 22749,
        "parentId": "f" * 32,
    }


def test_an_image_without_tags_is_announced_with_none() -> None:
    detail = announcement(stored(tags=None, correlation_id=None, batch_id=None))

    assert detail.tags == []
    assert (detail.correlation_id, detail.batch_id) == (None, None)


@pytest.mark.parametrize("status", ["FAILED", "LOST"])
def test_a_failed_or_lost_record_is_announced_as_generation_failed(status: str) -> None:
    detail = announcement(failed(status, tags={"brand"}))

    assert isinstance(detail, GenerationFailed)
    assert detail_type(detail) == "GenerationFailed"
    assert detail.model_dump(mode="json") == {
        "id": GEN_ID,
        "requestId": REQUEST_ID,
        "promptHash": "ab" * 32,
        "tags": ["brand"],
        "source": "event",
        "correlationId": "7b2e4c1a-93f0-4d8e-b5a6-0c1d2e3f4a5b",
        "batchId": None,
        "status": status,
        "failureKind": "download",
        "failureMessage": "the image URL answered 500",
    }


# -- publishing once ------------------------------------------------------------------------------------


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


@dataclass
class FakeTable:
    """The markers of a DynamoDB table, with the claim's condition as DynamoDB evaluates it."""

    journal: list[str]
    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    put_error: Exception | None = None
    update_error: Exception | None = None

    def put_item(self, **call: Any) -> dict[str, Any]:
        self.journal.append("claim")
        if self.put_error is not None:
            raise self.put_error
        assert call["TableName"] == TABLE
        assert call["ConditionExpression"] == CLAIM_CONDITION
        assert call["ExpressionAttributeNames"] == {"#state": "state"}
        item = call["Item"]
        key = (item["PK"]["S"], item["SK"]["S"])
        existing = self.items.get(key)
        if existing is not None and existing["state"] != call["ExpressionAttributeValues"][":sending"]:
            raise _client_error("ConditionalCheckFailedException", "PutItem")
        self.items[key] = item
        return {}

    def update_item(self, **call: Any) -> dict[str, Any]:
        self.journal.append("mark")
        if self.update_error is not None:
            raise self.update_error
        assert call["TableName"] == TABLE
        assert call["UpdateExpression"] == "SET #state = :sent"
        assert call["ExpressionAttributeNames"] == {"#state": "state"}
        key = (call["Key"]["PK"]["S"], call["Key"]["SK"]["S"])
        self.items[key]["state"] = call["ExpressionAttributeValues"][":sent"]
        return {}

    def state(self, generation_id: str, status: str) -> str | None:
        item = self.items.get((f"EVENT#{generation_id}", status))
        return None if item is None else str(item["state"]["S"])


@dataclass
class FakeBus:
    journal: list[str]
    failures: list[dict[str, str]] = field(default_factory=list)  # the next puts' failed entries
    entries: list[dict[str, Any]] = field(default_factory=list)

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.journal.append("put")
        assert len(Entries) == 1
        if self.failures:
            return {"FailedEntryCount": 1, "Entries": [self.failures.pop(0)]}
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"event-{len(self.entries)}"}]}


@dataclass
class World:
    publisher: Publisher
    table: FakeTable
    bus: FakeBus
    journal: list[str]


@pytest.fixture
def world() -> World:
    journal: list[str] = []
    table, bus = FakeTable(journal), FakeBus(journal)
    publisher = Publisher(
        table=TABLE,
        dynamodb=cast("DynamoDBClient", table),
        events=cast("EventBridgeClient", bus),
        bus_name=BUS,
        clock=lambda: NOW,
    )
    return World(publisher, table, bus, journal)


def test_a_stored_record_is_claimed_put_on_the_bus_and_marked_sent(world: World) -> None:
    assert world.publisher.publish(stored()) is True

    assert world.journal == ["claim", "put", "mark"]
    [entry] = world.bus.entries
    assert entry["Source"] == "ideogram-assets"
    assert entry["DetailType"] == "ImagePersisted"
    assert entry["EventBusName"] == BUS
    assert json.loads(entry["Detail"]) == announcement(stored()).model_dump(mode="json")
    assert json.loads(entry["Detail"])["sha256"] == SHA256
    marker = world.table.items[(f"EVENT#{GEN_ID}", "STORED")]
    assert marker["state"] == {"S": "SENT"}
    assert marker["ttl"] == {"N": str(int(NOW) + MARKER_DAYS * 86400)}


@pytest.mark.parametrize("status", ["FAILED", "LOST"])
def test_a_failed_or_lost_record_is_put_as_generation_failed(world: World, status: str) -> None:
    assert world.publisher.publish(failed(status)) is True

    [entry] = world.bus.entries
    assert entry["DetailType"] == "GenerationFailed"
    detail = json.loads(entry["Detail"])
    assert (detail["status"], detail["failureKind"]) == (status, "download")
    assert world.table.state(GEN_ID, status) == "SENT"


def test_a_repeat_of_an_announced_status_is_skipped(world: World) -> None:
    world.publisher.publish(stored())

    assert world.publisher.publish(stored()) is False

    assert len(world.bus.entries) == 1
    assert world.journal == ["claim", "put", "mark", "claim"]


def test_each_status_of_a_record_is_announced_once(world: World) -> None:
    assert world.publisher.publish(failed()) is True
    assert world.publisher.publish(stored()) is True  # rescued by the reconciler
    assert world.publisher.publish(failed()) is False

    assert [entry["DetailType"] for entry in world.bus.entries] == ["GenerationFailed", "ImagePersisted"]


def test_a_marker_left_sending_by_a_crash_is_sent_again(world: World) -> None:
    world.table.items[(f"EVENT#{GEN_ID}", "STORED")] = {
        "PK": {"S": f"EVENT#{GEN_ID}"},
        "SK": {"S": "STORED"},
        "state": {"S": "SENDING"},
    }

    assert world.publisher.publish(stored()) is True

    assert len(world.bus.entries) == 1
    assert world.table.state(GEN_ID, "STORED") == "SENT"


def test_an_event_the_bus_refuses_fails_and_is_sent_on_the_retry(world: World) -> None:
    world.bus.failures.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})

    with pytest.raises(PublishFailed, match=r"^InternalFailure: try again$"):
        world.publisher.publish(stored())

    assert world.bus.entries == []
    assert world.table.state(GEN_ID, "STORED") == "SENDING"
    assert world.journal == ["claim", "put"]

    assert world.publisher.publish(stored()) is True
    assert len(world.bus.entries) == 1
    assert world.table.state(GEN_ID, "STORED") == "SENT"


def test_a_failure_to_mark_sent_sends_again_on_the_retry(world: World) -> None:
    """At least once: an event put but not marked is put again rather than perhaps never."""
    world.table.update_error = _client_error("InternalServerError", "UpdateItem")

    with pytest.raises(ClientError):
        world.publisher.publish(stored())

    world.table.update_error = None
    assert world.publisher.publish(stored()) is True
    assert len(world.bus.entries) == 2


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ResourceNotFoundException"])
def test_other_table_errors_propagate_and_nothing_is_put(world: World, code: str) -> None:
    world.table.put_error = _client_error(code, "PutItem")

    with pytest.raises(ClientError) as raised:
        world.publisher.publish(stored())

    assert raised.value is world.table.put_error
    assert world.bus.entries == []
    assert world.journal == ["claim"]


def test_a_stored_record_without_its_object_is_logged_and_skipped_not_retried(world: World) -> None:
    """It can never be announced: failing would hold up every change behind it on the stream."""
    broken = stored(bucket=None, key=None, sha256=None)

    assert world.publisher.publish(broken) is False
    assert "put" not in world.journal
    assert world.bus.entries == []
