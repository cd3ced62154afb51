"""The retention benchmarks' world: moto with the template's table and bucket, records shaped
exactly like the product's, and the retention function's environment.

Records are made by the product's own transitions (records.lifecycle: pending, answered, then
stored, failed or a retention change) and serialized by the model, so every attribute and
index key is the one a real generation writes. They are loaded with BatchWriteItem (25 items a
request, a few requests at once): the fixture's cost, never part of a measurement.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bench.harness import BenchmarkError
from ideogram_assets.generation.origin import Origin
from ideogram_assets.generation.spec import GenerationSpec
from ideogram_assets.ideogram import GeneratedImage
from ideogram_assets.ideogram.image_urls import url_expiry
from ideogram_assets.ideogram.operations.generate import generate_params
from ideogram_assets.prompt_hash import prompt_hash
from ideogram_assets.records import lifecycle
from ideogram_assets.records.model import GenerationRecord, bind_table
from ideogram_assets.retention.policy import RetentionPolicy
from ideogram_assets.storage import StoredObject
from local_stack.aws_emulator import LOCAL_ACCOUNT_ID, LOCAL_AWS_ENVIRONMENT, AwsEmulator
from local_stack.functions import load_functions
from local_stack.ideogram.images import render_png
from local_stack.provision import provision
from local_stack.template import Resolver, load_template

BATCH_ITEMS = 25  # BatchWriteItem's limit
LOAD_THREADS = 4
FUNCTION = "RetentionFunction"
PROMPTS = (
    ("a red fox in fresh snow", ("fox", "winter")),
    ("a lighthouse at dusk, oil painting", ("coast",)),
    ("an isometric city block at night", ("city", "isometric", "night")),
    ("a bowl of ramen, studio photograph", ()),
)
RESOLUTION = "1024x1024"


def day_spread(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainders get the leftovers)."""
    if total < 0 or not weights or any(weight < 0 for weight in weights) or sum(weights) <= 0:
        raise ValueError("a non-negative total and non-negative weights with a positive sum")
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda index: counts[index] - shares[index])
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


def moment_on(day: date, rng: random.Random) -> datetime:
    """A time of `day` (UTC), to the millisecond as the records keep it."""
    return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(milliseconds=rng.randrange(86_400_000))


@dataclass(frozen=True)
class TinyPng:
    data: bytes
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def tiny_png() -> TinyPng:
    return TinyPng(render_png("retention benchmark", 1, 8, 8), 8, 8)


class RecordFactory:
    """Records as the generation service writes them, at any creation time."""

    def __init__(self, bucket: str, policy: RetentionPolicy, png: TinyPng) -> None:
        self.bucket = bucket
        self.policy = policy
        self.png = png
        self._specs = [
            GenerationSpec.model_validate({"prompt": prompt, "tags": list(tags)}) for prompt, tags in PROMPTS
        ]
        self._hashes = [prompt_hash(generate_params(spec)) for spec in self._specs]

    def pending(self, created: datetime, retention_class: str, rng: random.Random) -> GenerationRecord:
        choice = rng.randrange(len(self._specs))
        return lifecycle.pending(
            self._specs[choice],
            request_id=uuid.uuid4().hex,
            index=0,
            created=created,
            prompt_hash=self._hashes[choice],
            bucket=self.bucket,
            retention_class=retention_class,
            origin=Origin(),
        )

    def answered(self, record: GenerationRecord, image: GeneratedImage, created: datetime) -> None:
        expires = url_expiry(image.url, created) if image.url else created
        answered_at = created + timedelta(seconds=4)
        transition = lifecycle.answered(record, image, url_expires_at=expires, cost_usd=0.08, now=answered_at)
        lifecycle.apply(record, transition)

    def stored(
        self,
        created: datetime,
        retention_class: str,
        rng: random.Random,
        *,
        legal_hold: bool = False,
    ) -> GenerationRecord:
        record = self.pending(created, retention_class, rng)
        image = GeneratedImage(
            url=f"https://ideogram.ai/api/images/ephemeral/{record.id}.png",
            prompt=record.prompt,
            resolution=RESOLUTION,
            is_image_safe=True,
            seed=rng.randrange(1 << 31),
            style_type="AUTO",
        )
        self.answered(record, image, created)
        assert record.bucket
        assert record.key
        stored_object = StoredObject(
            bucket=record.bucket,
            key=record.key,
            size_bytes=len(self.png.data),
            sha256=self.png.sha256,
            content_type="image/png",
            width=self.png.width,
            height=self.png.height,
            etag=f'"{hashlib.md5(self.png.data).hexdigest()}"',  # S3's ETag of a single-part object
            version_id=None,
        )
        stored_at = created + timedelta(seconds=6)
        lifecycle.apply(record, lifecycle.stored(record, stored_object, stored_at, self.policy))
        if legal_hold:
            held = lifecycle.retention_changed(
                record, stored_at + timedelta(days=1), self.policy, legal_hold=True
            )
            lifecycle.apply(record, held)
        return record

    def failed(self, created: datetime, image: GeneratedImage, rng: random.Random) -> GenerationRecord:
        """A record whose download broke: FAILED with Ideogram's URL, open for the reconciler."""
        record = self.pending(created, "standard", rng)
        self.answered(record, image, created)
        failed_at = created + timedelta(seconds=9)
        transition = lifecycle.failed(record, "truncated", "the image download ended early", failed_at)
        lifecycle.apply(record, transition)
        return record


def item_of(record: GenerationRecord) -> dict[str, Any]:
    """The record as DynamoDB stores it (the model's own serialization)."""
    return dict(record.serialize())


def key_of(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"PK": item["PK"], "SK": item["SK"]}


# -- the emulator -------------------------------------------------------------------------------


@dataclass
class RetentionWorld:
    """moto with the template's resources, and the retention function's settings."""

    aws: AwsEmulator
    resolver: Resolver
    log_path: Path

    @property
    def table(self) -> str:
        return self.resolver.physical_ids["AssetsTable"]

    @property
    def bucket(self) -> str:
        return self.resolver.physical_ids["AssetsBucket"]

    def function_environment(self, ideogram_url: str | None = None) -> dict[str, str]:
        """RetentionFunction's variables from template.yaml, plus what the local stack adds to
        every execution environment (moto's endpoint and certificate, no X-Ray daemon)."""
        [function] = [spec for spec in load_functions(self.resolver) if spec.logical_id == FUNCTION]
        environment = {
            **function.environment,
            **LOCAL_AWS_ENVIRONMENT,
            "AWS_ENDPOINT_URL": self.aws.endpoint_url,
            "AWS_CA_BUNDLE": self.aws.ca_bundle,
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        if ideogram_url is not None:
            environment["IDEOGRAM_BASE_URL"] = ideogram_url
            environment["IDEOGRAM_EXTRA_DOWNLOAD_HOSTS"] = "127.0.0.1"
        return environment

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")

    def client(self, service: str) -> Any:
        return self.aws.client(service)


@contextmanager
def retention_world(log_dir: Path, python_path: Path | None = None) -> Iterator[RetentionWorld]:
    """moto (over TLS, logging every request to `log_dir`) with template.yaml's resources.

    `python_path` is put in front of the moto server's PYTHONPATH (a sitecustomize there is
    loaded when the server starts); the benchmark's own environment is left as it was.
    """
    log_path = log_dir / "moto.log"
    aws = AwsEmulator(log_path=log_path, moto_as_shipped=True)  # patched only through `python_path`
    saved = os.environ.get("PYTHONPATH")
    try:
        if python_path is not None:
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(python_path), saved]))
        aws.start()
    except (RuntimeError, OSError) as error:  # moto exited, or never answered
        aws.stop()
        raise BenchmarkError(f"the AWS emulator did not start: {error}") from error
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        region = LOCAL_AWS_ENVIRONMENT["AWS_REGION"]
        resolver = Resolver(load_template(), "bench-retention", region, LOCAL_ACCOUNT_ID)
        provision(resolver, aws)
        bind_table(resolver.physical_ids["AssetsTable"], region)
        yield RetentionWorld(aws=aws, resolver=resolver, log_path=log_path)
    finally:
        aws.stop()


# -- loading --------------------------------------------------------------------------------------


def _per_thread_client(world: RetentionWorld, service: str) -> Any:
    local = threading.local()

    def client() -> Any:
        if not hasattr(local, "client"):
            local.client = world.client(service)
        return local.client

    return client


def put_items(world: RetentionWorld, items: Sequence[Mapping[str, Any]]) -> None:
    """Writes the items with BatchWriteItem, retrying what DynamoDB leaves unprocessed."""
    client = _per_thread_client(world, "dynamodb")

    def write(start: int) -> None:
        pending = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_ITEMS]]
        for _ in range(10):
            answer = client().batch_write_item(RequestItems={world.table: pending})
            pending = answer.get("UnprocessedItems", {}).get(world.table, [])
            if not pending:
                return
        raise BenchmarkError("BatchWriteItem kept items unprocessed")

    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        list(pool.map(write, range(0, len(items), BATCH_ITEMS)))


def put_objects(world: RetentionWorld, keys: Sequence[str], body: bytes) -> None:
    client = _per_thread_client(world, "s3")

    def put(key: str) -> None:
        client().put_object(Bucket=world.bucket, Key=key, Body=body, ContentType="image/png")

    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        list(pool.map(put, keys))


def bucket_keys(world: RetentionWorld) -> set[str]:
    """The keys of the bucket's current objects."""
    pages = world.client("s3").get_paginator("list_objects_v2").paginate(Bucket=world.bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def count_index(world: RetentionWorld, index: str, key_name: str, value: str) -> int:
    """Items under one key of an index (Select COUNT: nothing is returned but the count)."""
    dynamodb = world.client("dynamodb")
    total, start = 0, None
    while True:
        request: dict[str, Any] = {
            "TableName": world.table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key_name},
            "ExpressionAttributeValues": {":v": {"S": value}},
            "Select": "COUNT",
        }
        if start:
            request["ExclusiveStartKey"] = start
        answer = dynamodb.query(**request)
        total += int(answer["Count"])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return total


def delete_checkpoint(world: RetentionWorld, task: str) -> None:
    world.client("dynamodb").delete_item(
        TableName=world.table, Key={"PK": {"S": "CHECKPOINT"}, "SK": {"S": task}}
    )
