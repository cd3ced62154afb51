"""What the retention integration tests share: a bucket and a table made from template.yaml's own
definitions in the AWS emulator (moto server, over HTTPS), the Ideogram emulator (over HTTP), and
the product's real objects built in-process around them with an injected wall clock.

Each test gets a World of its own (a fresh bucket and table: checkpoints, counters and orphans
never leak from one test into another). Records come from the product's own paths: the
generation service, or lifecycle + RecordStore + ImageStore step by step where a test needs a
generation stopped half-way (a crash). Time moves by setting the clock, never by sleeping.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import requests
from botocore.config import Config

from ideogram_assets.aws import CLIENT_CONFIG
from ideogram_assets.config import GenerateSettings
from ideogram_assets.generation.ideogram_access import IdeogramKeyAccess
from ideogram_assets.generation.images import ImageStore
from ideogram_assets.generation.origin import Origin
from ideogram_assets.generation.service import GenerationService
from ideogram_assets.generation.slots import ImageSlots
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.ideogram import GeneratedImage, IdeogramClient
from ideogram_assets.ideogram.image_urls import url_expiry
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.pricing import PriceTable
from ideogram_assets.prompt_hash import prompt_hash
from ideogram_assets.records import lifecycle
from ideogram_assets.records.counters import images_and_bytes, totals
from ideogram_assets.records.model import GenerationRecord
from ideogram_assets.records.repository import RecordStore
from ideogram_assets.retention.pinning import RetentionChanges
from ideogram_assets.retention.reconcile import ReconcileOptions, Reconciler
from ideogram_assets.retention.report import report
from ideogram_assets.retention.sweep import Sweeper
from ideogram_assets.storage import DownloadPolicy
from local_stack.aws_emulator import LOCAL_ACCOUNT_ID, LOCAL_AWS_ENVIRONMENT, AwsEmulator
from local_stack.ideogram import RunningEmulator
from local_stack.provision import provision
from local_stack.template import Resolver

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = LOCAL_AWS_ENVIRONMENT["AWS_REGION"]
API_KEY = "retention-test-key"
# The template's storage: the bucket (lifecycle rules, versioning, TLS-only policy) and the table.
STORAGE_RESOURCES = ("AssetsBucket", "AssetsBucketPolicy", "AssetsTable")
# What every function gets from template.yaml's Globals that the in-process services read.
POWERTOOLS_VARIABLES = ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE")
# Ample time for a task (monotonic seconds): only the checkpoint test runs short of it.
TASK_SECONDS = 120.0


def set_faults(emulator: RunningEmulator, **faults: Any) -> None:
    """The emulator's fault switches, set over HTTP as an operator would."""
    response = requests.put(f"{emulator.url}/_emulator/faults", json=faults, timeout=10)
    assert response.status_code == 200, response.text


def reset_faults(emulator: RunningEmulator) -> None:
    response = requests.post(f"{emulator.url}/_emulator/reset", timeout=10)
    assert response.status_code == 200, response.text


@dataclass
class Clock:
    """The injected wall clock (`now`): records age by moving it, never by sleeping."""

    current: datetime

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@dataclass
class Ticks:
    """An injected monotonic clock on which every reading costs a second of the task's budget."""

    value: float = 0.0

    def __call__(self) -> float:
        self.value += 1.0
        return self.value


class Budget:
    """A Lambda context's remaining time, as the generation service reads it."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def s3_client(aws: AwsEmulator, endpoint_url: str | None = None) -> S3Client:
    """An S3 client configured as the product's (aws.py), at the emulator or at a proxy before it."""
    client: S3Client = boto3.client(
        "s3",
        endpoint_url=endpoint_url or aws.endpoint_url,
        region_name=REGION,
        verify=aws.ca_bundle,
        aws_access_key_id=LOCAL_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
        config=CLIENT_CONFIG.merge(Config(signature_version="s3v4")),
    )
    return client


@dataclass
class World:
    """One test's bucket and table, with the services of the product built around them."""

    aws: AwsEmulator
    emulator: RunningEmulator
    template: Mapping[str, Any]
    # Settings over the template's (e.g. SHORT_RETENTION_DAYS), as a deployment's parameters.
    environment: dict[str, str] = field(default_factory=dict)
    clock: Clock = field(default_factory=lambda: Clock(datetime.now(UTC)))

    def __post_init__(self) -> None:
        stack_name = f"retention-{uuid.uuid4().hex[:12]}"
        storage = {
            **self.template,
            "Resources": {name: self.template["Resources"][name] for name in STORAGE_RESOURCES},
        }
        self.resolver = Resolver(storage, stack_name, REGION, LOCAL_ACCOUNT_ID)
        created = provision(self.resolver, self.aws)
        self.bucket, self.table = created["AssetsBucket"], created["AssetsTable"]
        self.s3 = s3_client(self.aws)
        self.dynamodb = self.aws.client("dynamodb")
        self.session = requests.Session()
        self.settings = self.settings_for("standard")
        self.records = self.record_store()

    # -- the product's objects --------------------------------------------------------------------

    def settings_for(self, retention_class: str) -> GenerateSettings:
        """The retention function's settings, parsed from the environment the template gives it."""
        parameter = self.resolver.parameter
        return GenerateSettings.from_env(
            {
                "STAGE": parameter("Stage"),
                "TABLE_NAME": self.table,
                "BUCKET_NAME": self.bucket,
                "AWS_REGION": REGION,
                "SHORT_RETENTION_DAYS": parameter("ShortRetentionDays"),
                "STANDARD_RETENTION_DAYS": parameter("StandardRetentionDays"),
                "RETENTION_GRACE_DAYS": parameter("RetentionGraceDays"),
                "IDEOGRAM_BASE_URL": self.emulator.url,
                "IDEOGRAM_EXTRA_DOWNLOAD_HOSTS": self.emulator.host,
                "DEFAULT_RETENTION_CLASS": retention_class,
            }
            | self.environment
        )

    def record_store(self) -> RecordStore:
        """A RecordStore of its own, as another execution environment would have."""
        return RecordStore(self.table, REGION, self.aws.client("dynamodb"))

    def image_store(self, settings: GenerateSettings | None = None) -> ImageStore:
        settings = settings or self.settings
        return ImageStore(
            s3=self.s3,
            session=self.session,
            policy=DownloadPolicy(allowed_hosts=settings.download_hosts, max_bytes=settings.max_image_bytes),
            default_retention_class=settings.default_retention_class,
        )

    def generation_service(self, retention_class: str, slots: ImageSlots | None = None) -> GenerationService:
        settings = self.settings_for(retention_class)
        return GenerationService(
            settings=settings,
            ideogram=IdeogramKeyAccess(settings, self.session, environ={"IDEOGRAM_API_KEY": API_KEY}),
            records=self.records,
            images=self.image_store(settings),
            prices=PriceTable(settings.pricing_overrides),
            slots=slots,
            now=self.clock,
        )

    def sweeper(
        self, *, records: RecordStore | None = None, s3: S3Client | None = None, ticks: Ticks | None = None
    ) -> Sweeper:
        return Sweeper(
            records=records or self.records, s3=s3 or self.s3, now=self.clock, clock=ticks or time.monotonic
        )

    def reconciler(self, orphan_grace: timedelta | None = None) -> Reconciler:
        options = ReconcileOptions() if orphan_grace is None else ReconcileOptions(orphan_grace=orphan_grace)
        return Reconciler(
            settings=self.settings,
            records=self.records,
            images=self.image_store(),
            s3=self.s3,
            now=self.clock,
            options=options,
        )

    def retention_changes(self) -> RetentionChanges:
        return RetentionChanges(settings=self.settings, records=self.records, s3=self.s3, now=self.clock)

    # -- making records by the product's paths ----------------------------------------------------

    def generate(
        self, retention_class: str = "standard", *, count: int = 1, prompt: str = "a red fox in the snow"
    ) -> list[GenerationRecord]:
        """Records as the generation service leaves them (STORED, unless a fault says otherwise)."""
        spec = GenerationSpec.model_validate({"prompt": prompt, "num_images": count})
        outcome = self.generation_service(retention_class).generate(spec, budget=Budget())
        return list(outcome.records)

    def pending(self, retention_class: str = "standard", prompt: str = "a grey heron") -> GenerationRecord:
        """A generation that stopped right after its PENDING record was written (Ideogram not
        answered yet, or its answer never recorded): created as the service creates it."""
        spec = GenerationSpec.model_validate({"prompt": prompt})
        record = lifecycle.pending(
            spec,
            request_id=uuid.uuid4().hex,
            index=0,
            created=self.clock(),
            prompt_hash=prompt_hash(generate_params(spec)),
            bucket=self.bucket,
            retention_class=retention_class,
            origin=Origin(),
        )
        self.records.create([record])
        return record

    def answered(self, record: GenerationRecord) -> GeneratedImage:
        """Ideogram's answer for a PENDING record, recorded as the service records it."""
        spec = GenerationSpec.model_validate({"prompt": record.prompt})
        client = IdeogramClient(self.emulator.url, API_KEY, session=self.session)
        result = client.generate(generate_params(spec), deadline=time.monotonic() + 30)
        image = result.data[0]
        assert image.url is not None
        created = datetime.fromisoformat(record.created_at)
        expires = url_expiry(image.url, created)
        price = PriceTable().per_image(record.model, record.rendering_speed)
        transition = lifecycle.answered(
            record, image, url_expires_at=expires, cost_usd=float(price) if price else None, now=self.clock()
        )
        self.records.update(record, transition)
        self.records.flush_counters()
        return image

    def uploaded_but_not_recorded(self) -> tuple[GenerationRecord, bytes]:
        """A generation whose object was uploaded and whose record update then failed (PENDING,
        with its URL, and its object at its key): the service's steps up to that point."""
        record = self.pending()
        image = self.answered(record)
        assert image.url is not None
        png = self.download(image.url)
        self.image_store().persist(record, image.url, image.seed, time.monotonic() + 30)
        return record, png

    # -- reading back what is really there --------------------------------------------------------

    def download(self, url: str) -> bytes:
        response = self.session.get(url, timeout=30)
        response.raise_for_status()
        return response.content

    def object_bytes(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def object_keys(self) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def versions(self) -> list[tuple[str, str, bool]]:
        """Every version and delete marker in the bucket: (key, version id, is a delete marker)."""
        listing = self.s3.list_object_versions(Bucket=self.bucket)
        found = [(item["Key"], item["VersionId"], False) for item in listing.get("Versions", [])]
        found += [(item["Key"], item["VersionId"], True) for item in listing.get("DeleteMarkers", [])]
        return sorted(found)

    def object_tag(self, key: str) -> str:
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        return {tag["Key"]: tag["Value"] for tag in tags}["retention-class"]

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table, read in full (consistently)."""
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]

    def record_items(self) -> dict[str, dict[str, Any]]:
        return {item["id"]["S"]: item for item in self.items() if item["PK"]["S"].startswith("GEN#")}

    def item(self, generation_id: str) -> dict[str, Any]:
        """The record's item as DynamoDB holds it ({} when there is none)."""
        found: dict[str, Any] = self.dynamodb.get_item(
            TableName=self.table,
            Key={"PK": {"S": f"GEN#{generation_id}"}, "SK": {"S": "META"}},
            ConsistentRead=True,
        ).get("Item", {})
        return found

    def checkpoint(self, task: str) -> dict[str, Any]:
        found: dict[str, Any] = self.dynamodb.get_item(
            TableName=self.table, Key={"PK": {"S": "CHECKPOINT"}, "SK": {"S": task}}, ConsistentRead=True
        ).get("Item", {})
        return found

    def report(self) -> dict[str, Any]:
        return report(self.records, self.clock).to_json()

    def counters(self) -> dict[str, dict[str, dict[str, int]]]:
        """The counters as the report reads them (its byStatus and byRetentionClass, without the
        report's expiry reads), leaving out counters that add up to nothing."""
        counted = totals(self.records.counter_items())
        return {
            "byStatus": nonzero(images_and_bytes(counted.get("status", {}))),
            "byRetentionClass": nonzero(images_and_bytes(counted.get("class", {}))),
        }


def nonzero(counted: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    return {name: dict(entry) for name, entry in counted.items() if entry["images"] or entry["bytes"]}


def recount(items: Iterable[dict[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """Images and bytes by status, and STORED ones by retention class, counted item by item."""
    by_status: dict[str, dict[str, int]] = {}
    by_class: dict[str, dict[str, int]] = {}
    for item in items:
        status = item["status"]["S"]
        size = int(item.get("sizeBytes", {}).get("N", "0"))
        counted = [(by_status, status)]
        if status == "STORED":
            counted.append((by_class, item.get("retentionClass", {}).get("S", "standard")))
        for table, name in counted:
            entry = table.setdefault(name, {"images": 0, "bytes": 0})
            entry["images"] += 1
            entry["bytes"] += size
    return {"byStatus": nonzero(by_status), "byRetentionClass": nonzero(by_class)}
