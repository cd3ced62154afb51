"""What the end-to-end tests share: signed calls to the API, and reading back what was really stored.

Everything goes over real HTTP: the API through the local gateway, DynamoDB and S3 straight to
the AWS emulator (not through the fault proxy, so a test's own reads never meet its faults), and
the Ideogram emulator through its control routes.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from local_stack.client import SigV4Auth
from local_stack.ideogram.generation import expand_prompt
from local_stack.ideogram.images import render_png
from local_stack.stack import LocalStack

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def generate(stack: LocalStack, headers: dict[str, str] | None = None, **body: Any) -> requests.Response:
    """POST /generations, signed as the stack's local caller."""
    auth = SigV4Auth(stack.caller, stack.options.region)
    return requests.post(f"{stack.api_url}/generations", json=body, headers=headers, auth=auth, timeout=90)


def generate_with_key(stack: LocalStack, key: str, **body: Any) -> requests.Response:
    return generate(stack, headers={"Idempotency-Key": key}, **body)


def _resources(stack: LocalStack) -> dict[str, str]:
    resources: dict[str, str] = stack.endpoints()["resources"]
    return resources


def record(stack: LocalStack, generation_id: str) -> dict[str, Any]:
    """The record's item as DynamoDB holds it ({} when there is none)."""
    item = stack.aws.client("dynamodb").get_item(
        TableName=_resources(stack)["AssetsTable"],
        Key={"PK": {"S": f"GEN#{generation_id}"}, "SK": {"S": "META"}},
        ConsistentRead=True,
    )
    found: dict[str, Any] = item.get("Item", {})
    return found


def records_tagged(stack: LocalStack, tag: str) -> list[dict[str, Any]]:
    """Every record carrying `tag` (each test tags its requests with a tag of its own)."""
    paginator = stack.aws.client("dynamodb").get_paginator("scan")
    pages = paginator.paginate(
        TableName=_resources(stack)["AssetsTable"],
        FilterExpression="contains(tags, :tag)",
        ExpressionAttributeValues={":tag": {"S": tag}},
        ConsistentRead=True,
    )
    items = [item for page in pages for item in page["Items"]]
    return sorted(items, key=lambda item: int(item["indexInRequest"]["N"]))


def object_keys(stack: LocalStack) -> set[str]:
    s3 = stack.aws.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=_resources(stack)["AssetsBucket"])
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def open_uploads(stack: LocalStack) -> list[dict[str, Any]]:
    """Multipart uploads started and neither completed nor aborted."""
    listing = stack.aws.client("s3").list_multipart_uploads(Bucket=_resources(stack)["AssetsBucket"])
    uploads: list[dict[str, Any]] = listing.get("Uploads", [])
    return uploads


def abort_open_uploads(stack: LocalStack) -> None:
    s3 = stack.aws.client("s3")
    for upload in open_uploads(stack):
        s3.abort_multipart_upload(
            Bucket=_resources(stack)["AssetsBucket"], Key=upload["Key"], UploadId=upload["UploadId"]
        )


def object_bytes(stack: LocalStack, key: str) -> bytes:
    body: bytes = (
        stack.aws.client("s3").get_object(Bucket=_resources(stack)["AssetsBucket"], Key=key)["Body"].read()
    )
    return body


def assert_stored_as_recorded(stack: LocalStack, generation: dict[str, Any]) -> bytes:
    """The reply's STORED image: its record says STORED and the object's bytes match both.

    moto does not check upload checksums, so the object is read back and hashed here.
    """
    assert generation["status"] == "STORED", generation
    item = record(stack, generation["id"])
    assert item["status"]["S"] == "STORED"
    assert "openStatus" not in item
    assert "originalUrl" not in item  # the signed URL is dropped once the image is safe
    bucket, key = item["bucket"]["S"], item["key"]["S"]
    assert bucket == _resources(stack)["AssetsBucket"]
    assert generation["storedUri"] == f"s3://{bucket}/{key}"
    stored = object_bytes(stack, key)
    assert stored.startswith(PNG_SIGNATURE)
    assert hashlib.sha256(stored).hexdigest() == item["sha256"]["S"] == generation["sha256"]
    assert len(stored) == int(item["sizeBytes"]["N"]) == generation["sizeBytes"]
    return stored


def emulator_png(prompt: str, seed: int, resolution: str = "1024x1024", magic_prompt: str = "AUTO") -> bytes:
    """The bytes the Ideogram emulator serves for an image: it renders deterministically, from the
    prompt as Magic Prompt expands it."""
    width, height = (int(side) for side in resolution.split("x"))
    return render_png(expand_prompt(prompt, magic_prompt), seed, width, height)


def set_faults(stack: LocalStack, **faults: Any) -> None:
    """Changes the Ideogram emulator's fault switches over its control route."""
    response = requests.put(f"{stack.ideogram_url}/_emulator/faults", json=faults, timeout=10)
    assert response.status_code == 200, response.text


def ideogram_calls(stack: LocalStack) -> int:
    """How many generate requests the Ideogram emulator has received so far."""
    health = requests.get(f"{stack.ideogram_url}/_emulator/health", timeout=10).json()
    count: int = health["generate_requests"]
    return count


def ideogram_inflight(stack: LocalStack) -> int:
    health = requests.get(f"{stack.ideogram_url}/_emulator/health", timeout=10).json()
    inflight: int = health["inflight_images"]
    return inflight


def rotate_ideogram_key(stack: LocalStack, new_key: str) -> None:
    """A key rotation as an operator does it: the secret's new version and Ideogram's key change
    together. For a stack started with `ideogram_key_from_secret`; warm execution environments
    keep serving the value they cached until it expires."""
    assert stack.emulator is not None, "the stack runs a real Ideogram"
    stack.put_ideogram_key_secret(new_key)
    stack.emulator.settings.api_key = new_key


def recycle_execution_environments(stack: LocalStack, function: str = "GenerateFunction") -> None:
    """The next invocations start cold, as after Lambda recycles its environments (caches gone)."""
    stack.runtimes[function].close()


@contextmanager
def unreachable_listener(host: str = "127.0.0.1") -> Iterator[str]:
    """http://host:port where connecting times out: a listener whose accept queue is full.

    With a backlog of 0 the kernel queues one connection and drops further SYNs, so a client's
    connect waits for its own timeout, as with a host that has gone silent.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        while True:
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.3)
            fillers.append(filler)
            try:
                filler.connect((host, port))
            except TimeoutError:
                break  # the queue is full: the next connection will time out too
            if len(fillers) > 8:
                raise RuntimeError("the accept queue never filled up; cannot make connects time out")
        yield f"http://{host}:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
