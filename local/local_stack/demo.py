"""`make demo`: starts the local stack, shows it at work, stops it.

Shows the main job, generate-and-persist over the API, on top of what the local stack provides:
resources created from template.yaml, the API's IAM authentication, and the Ideogram emulator;
then finding the images again (demo_find.py) and keeping them (retention).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from local_stack.client import SigV4Auth
from local_stack.demo_find import DemoStepFailed, show_find
from local_stack.ideogram import EmulatorSettings
from local_stack.stack import STATE_DIR, LocalStack, StackOptions

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _section(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}")


def _show_resources(stack: LocalStack) -> None:
    _section("1. Resources created in the AWS emulator from template.yaml")
    resources = stack.endpoints()["resources"]
    s3 = stack.aws.client("s3")
    bucket = resources["AssetsBucket"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status", "off")
    print(f"  bucket {bucket}: versioning {versioning}, public access blocked, SSE on")
    print(f"    lifecycle rules: {', '.join(rule['ID'] for rule in rules)}")
    dynamodb = stack.aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=resources["AssetsTable"])["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=resources["AssetsTable"])["TimeToLiveDescription"]
    indexes = ", ".join(index["IndexName"] for index in table["GlobalSecondaryIndexes"])
    billing = table["BillingModeSummary"]["BillingMode"]
    print(f"  table {table['TableName']}: {billing}, TTL on '{ttl['AttributeName']}'")
    print(f"    indexes: {indexes}")


def _show_api(stack: LocalStack) -> None:
    _section("2. The API through the local gateway (IAM auth: SigV4-signed requests only)")
    signed = requests.get(
        f"{stack.api_url}/health", auth=SigV4Auth(stack.caller, stack.options.region), timeout=60
    )
    print(f"  GET /health, signed   -> {signed.status_code} {signed.json()['status']}")
    unsigned = requests.get(f"{stack.api_url}/health", timeout=30)
    print(f"  GET /health, unsigned -> {unsigned.status_code} {unsigned.text}")
    docs = requests.get(stack.docs_url, timeout=30)
    print(f"  GET /docs, unsigned   -> {docs.status_code} {docs.headers.get('content-type', '')}")
    print(f"    Swagger UI over the generated OpenAPI document (local only): {stack.docs_url}")


def _print_generations(reply: requests.Response) -> list[dict[str, Any]]:
    body = reply.json()
    generations: list[dict[str, Any]] = body.get("generations", [])
    print(
        f"    -> {reply.status_code}, request {body.get('requestId', '-')}, complete: {body.get('complete')}"
    )
    for item in generations:
        stored = (
            f"{item['sizeBytes']:,} bytes, sha256 {item['sha256'][:12]}..." if item["sha256"] else "no image"
        )
        print(
            f"       #{item['indexInRequest']} {item['id']} {item['status']:<7} seed {item['seed']} "
            f"{item['resolution']} ${item['costUsd']} {stored}"
        )
    return generations


def _show_generate(stack: LocalStack) -> None:
    _section("3. POST /generations: Ideogram is called and every image is stored, in one invocation")
    auth = SigV4Auth(stack.caller, stack.options.region)

    def generate(**body: Any) -> requests.Response:
        return requests.post(f"{stack.api_url}/generations", json=body, auth=auth, timeout=90)

    print('  a plain request: {"prompt": "a lighthouse on a cliff at dusk, flat vector"}')
    plain = _print_generations(generate(prompt="a lighthouse on a cliff at dusk, flat vector"))
    print('  four images: {"prompt": "brand mascot, a friendly fox", "num_images": 4, "seed": 1234, ...}')
    _print_generations(
        generate(prompt="brand mascot, a friendly fox", num_images=4, seed=1234, tags=["mascot"])
    )
    print('  a prompt the emulator marks unsafe (billed, recorded, no image): {"prompt": "an unsafe scene"}')
    _print_generations(generate(prompt="an unsafe scene"))
    assert stack.emulator is not None
    stack.emulator.settings.fail_next = [{"status": 429}]
    print("  Ideogram answers 429 first (in-flight limit); the function backs off and retries:")
    _print_generations(generate(prompt="a calm sea at noon"))
    print('  bad input: {"prompt": "x", "num_images": 9}')
    bad = generate(prompt="x", num_images=9)
    print(f"    -> {bad.status_code} {bad.text}")
    print("  a prompt of zero-width spaces (refused before Ideogram could bill it):")
    invisible = generate(prompt="\u200b\u200b\ufeff")
    print(f"    -> {invisible.status_code} {invisible.text}")
    print("  a body that is not UTF-8 JSON:")
    unreadable = requests.post(
        f"{stack.api_url}/generations",
        data=b'{"prompt": "caf\xe9"}',
        headers={"content-type": "application/json"},
        auth=auth,
        timeout=30,
    )
    print(f"    -> {unreadable.status_code} {unreadable.text}")

    first = plain[0]
    fetched = requests.get(f"{stack.api_url}/generations/{first['id']}", auth=auth, timeout=30).json()
    # The AWS emulator speaks TLS with its own certificate, as S3 does with Amazon's.
    image = requests.get(fetched["imageUrl"], timeout=30, verify=stack.aws.ca_bundle).content
    verified = hashlib.sha256(image).hexdigest() == first["sha256"]
    print(
        f"  GET /generations/{first['id']} -> presigned link; downloaded {len(image):,} bytes, "
        f"SHA-256 matches the record: {verified}"
    )


def _show_cli(stack: LocalStack) -> None:
    _section("5. The same job from the command line (`ideogram-assets`, exit codes for scripts)")
    with tempfile.TemporaryDirectory() as directory:
        environment = {
            **os.environ,
            "IDEOGRAM_ASSETS_ENDPOINTS": str(stack.write_endpoints(Path(directory) / "endpoints.json")),
            "COLUMNS": "100",
        }
        for arguments in (
            ["generate", "a red fox logo, flat vector", "--num-images", "2", "--speed", "turbo"],
            ["generate", "a red fox logo", "--aspect-ratio", "16x9", "--resolution", "1024x1024"],
        ):
            print(f"  $ ideogram-assets {shlex.join(arguments)}")
            result = subprocess.run(  # noqa: S603 -- the project's own command, fixed arguments
                [sys.executable, "-m", "ideogram_assets_cli", *arguments],
                env=environment,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            for line in (result.stdout + result.stderr).splitlines():
                print(f"    {line}")
            print(f"    (exit code {result.returncode})")


def _tampered(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["exp"] = str(int(query["exp"]) + 86_400)  # try to extend the URL's life by a day
    return urlunsplit(parts._replace(query=urlencode(query)))


def _show_emulator(stack: LocalStack) -> None:
    _section("4. The Ideogram emulator on its own (follows Ideogram's OpenAPI spec)")
    headers = {"Api-Key": stack.ideogram_api_key}
    form: dict[str, Any] = {
        "prompt": (None, "a lighthouse on a cliff at dusk, brand palette"),
        "num_images": (None, "2"),
        "seed": (None, "42"),
        "magic_prompt": (None, "ON"),
        "aspect_ratio": (None, "16x9"),
    }
    endpoint = f"{stack.ideogram_url}/v1/ideogram-v3/generate"
    reply = requests.post(endpoint, headers=headers, files=form, timeout=60)
    print(f"  POST /v1/ideogram-v3/generate (2 images, seed 42, magic prompt ON) -> {reply.status_code}")
    images = reply.json()["data"]
    digests = []
    for index, image in enumerate(images, start=1):
        body = requests.get(image["url"], timeout=60).content
        digest = hashlib.sha256(body).hexdigest()
        digests.append(digest)
        print(
            f"    image {index}: seed {image['seed']}, {image['resolution']}, {len(body):,} bytes, "
            f"PNG {'ok' if body.startswith(PNG_SIGNATURE) else 'NOT A PNG'}, sha256 {digest[:16]}..."
        )
    print(f"    expanded prompt: {images[0]['prompt'][:90]}...")
    again = requests.post(endpoint, headers=headers, files=form, timeout=60).json()["data"][0]
    same = hashlib.sha256(requests.get(again["url"], timeout=60).content).hexdigest() == digests[0]
    print(f"  same prompt, seed and resolution again -> identical image: {same}")

    unsafe = requests.post(endpoint, headers=headers, files={"prompt": (None, "an unsafe scene")}, timeout=60)
    image = unsafe.json()["data"][0]
    print(f"  prompt the emulator marks unsafe -> is_image_safe {image['is_image_safe']}, url {image['url']}")
    refused = requests.post(
        endpoint, headers=headers, files={"prompt": (None, "a forbidden scene")}, timeout=60
    )
    print(f"  prompt that fails the safety check -> {refused.status_code} {refused.text}")
    no_key = requests.post(endpoint, files=form, timeout=60)
    print(f"  no Api-Key -> {no_key.status_code}")
    tampered = requests.get(_tampered(images[0]["url"]), timeout=60)
    print(f"  image URL with a tampered expiry -> {tampered.status_code} (URLs are signed and expire)")
    requests.put(f"{stack.ideogram_url}/_emulator/faults", json={"fail_next": [{"status": 429}]}, timeout=10)
    limited = requests.post(endpoint, headers=headers, files=form, timeout=60)
    print(f"  with a scripted fault (fail_next 429) -> {limited.status_code} {json.dumps(limited.json())}")


def _show_find(stack: LocalStack) -> None:
    _section("6. Find it again: search, tags and stars, the storage report, export, a local mirror")
    with tempfile.TemporaryDirectory() as directory:
        show_find(stack, Path(directory))


def _show_retention(stack: LocalStack) -> None:
    _section("7. Nothing paid is lost: a broken download, then the reconciler; pinning and retention")
    import boto3  # only this step invokes a function directly

    auth = SigV4Auth(stack.caller, stack.options.region)
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=stack.lambda_url,
        region_name=stack.options.region,
        aws_access_key_id=stack.caller.access_key_id,
        aws_secret_access_key=stack.caller.secret_access_key,
    )

    def run(task: str, dry_run: bool = False) -> dict[str, Any]:
        payload = json.dumps({"task": task, "dryRun": dry_run}).encode()
        reply = lambda_client.invoke(FunctionName="RetentionFunction", Payload=payload)
        summary: dict[str, Any] = json.loads(reply["Payload"].read())
        return summary

    # Ideogram's image server cuts the first two downloads short: the function retries once, then gives up.
    requests.put(
        f"{stack.ideogram_url}/_emulator/faults",
        json={"image_faults": [{"index": 0, "fault": "truncate", "times": 2}]},
        timeout=10,
    )
    reply = requests.post(
        f"{stack.api_url}/generations", json={"prompt": "a rescued lighthouse"}, auth=auth, timeout=60
    )
    [broken] = reply.json()["generations"]
    print(
        f"  a download cut short twice -> {reply.status_code}, {broken['status']} ({broken['failureKind']})"
    )
    planned = run("reconcile", dry_run=True)
    print(f"  reconcile, dry run -> would rescue {planned['counts']}")
    done = run("reconcile")
    print(f"  reconcile -> {done['counts']}")
    record = requests.get(f"{stack.api_url}/generations/{broken['id']}", auth=auth, timeout=30).json()
    image = requests.get(record["imageUrl"], timeout=30, verify=stack.aws.ca_bundle).content
    verified = hashlib.sha256(image).hexdigest() == record["sha256"]
    print(f"  GET /generations/{broken['id']} -> {record['status']}, expires {record['expiresOn']}")
    print(f"    downloaded {len(image):,} bytes, SHA-256 matches the record: {verified}")
    pinned = requests.patch(
        f"{stack.api_url}/generations/{broken['id']}",
        json={"retention_class": "permanent"},
        auth=auth,
        timeout=30,
    ).json()
    print(f"  PATCH retention_class=permanent -> {pinned['retentionClass']}, expires {pinned['expiresOn']}")
    print(f"  sweep, dry run -> {run('sweep', dry_run=True)['counts'] or 'nothing has expired'}")
    report = run("report")
    by_status = ", ".join(
        f"{status} {entry['images']}" for status, entry in sorted(report["byStatus"].items())
    )
    print(f"  report -> images by status: {by_status}")


def run_demo() -> int:
    log_dir = STATE_DIR / "demo-logs"
    print("ideogram-assets demo: the embedded local stack (no AWS account, no Ideogram key, no Docker)")
    print(f"  (logs of the emulators and functions: {log_dir})")
    options = StackOptions(
        log_dir=log_dir,
        ideogram_base_url=None,
        emulator_settings=EmulatorSettings(log_requests=False),
        progress=lambda message: print(f"==> {message}", flush=True),
    )
    with LocalStack(options) as stack:
        try:
            _show_resources(stack)
            _show_api(stack)
            _show_generate(stack)
            _show_emulator(stack)
            _show_cli(stack)
            _show_find(stack)
            _show_retention(stack)
        except DemoStepFailed as failure:
            print(f"\ndemo failed: {failure} (logs: {log_dir})", file=sys.stderr)
            return 1
        print("\n==> stopping the local stack")
    print("Done. `make up` keeps the stack running; `make test` runs the test suite.")
    return 0
