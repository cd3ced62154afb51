"""The search benchmark's world: one moto server (over TLS, as the local stack runs it, plus
bench/moto_query_site) holding one copy of template.yaml's resources per table size, so that
every size is searched from the same process, through the same kind of client, against the same
server; and one more copy for the write-cost run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config

from bench.harness import BenchmarkError
from local_stack.aws_emulator import LOCAL_ACCOUNT_ID, LOCAL_AWS_ENVIRONMENT, AwsEmulator
from local_stack.provision import provision
from local_stack.template import Resolver, load_template

MOTO_QUERY_SITE = Path(__file__).resolve().parent / "moto_query_site"
MOTO_QUERY_MARKER = "moto answers Query and Scan from sorted copies of the keys"
SWITCH_TAG, AS_SHIPPED = "bench:moto-query", "as-shipped"
WRITES_STACK = "bench-search-writes"
REGION = LOCAL_AWS_ENVIRONMENT["AWS_REGION"]
# The clients the searches use: the model's own limits (GenerationRecord.Meta), no retries hidden
# in a timing (a throttle or error stops the benchmark instead).
SEARCH_CLIENT_CONFIG = Config(
    connect_timeout=3, read_timeout=600, retries={"max_attempts": 1, "mode": "standard"}
)


def size_label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


@dataclass
class SearchWorld:
    aws: AwsEmulator
    resolvers: dict[int, Resolver]  # by table size
    writes: Resolver
    log_path: Path

    def table(self, size: int) -> str:
        return self.resolvers[size].physical_ids["AssetsTable"]

    def bucket(self, size: int) -> str:
        return self.resolvers[size].physical_ids["AssetsBucket"]

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def search_client(self) -> Any:
        """A DynamoDB client for the searches, like the function's: one per table size."""
        return self.aws_client("dynamodb", SEARCH_CLIENT_CONFIG)

    def aws_client(self, service: str, config: Config) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws.endpoint_url,
            region_name=REGION,
            verify=self.aws.ca_bundle,
            aws_access_key_id=LOCAL_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
            config=config,
        )

    def cursor_key(self, size: int) -> bytes:
        secret = self.resolvers[size].physical_ids["CursorSigningSecret"]
        return str(self.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]).encode()

    def set_moto_as_shipped(self, size: int, as_shipped: bool) -> None:
        """Tags the table so that moto answers its queries with its own code (or untags it)."""
        dynamodb = self.client("dynamodb")
        arn = dynamodb.describe_table(TableName=self.table(size))["Table"]["TableArn"]
        if as_shipped:
            dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": SWITCH_TAG, "Value": AS_SHIPPED}])
        else:
            dynamodb.untag_resource(ResourceArn=arn, TagKeys=[SWITCH_TAG])

    def server_memory_bytes(self) -> int | None:
        """The moto server's resident memory (Linux), for the load report."""
        process = getattr(self.aws, "_process", None)
        if process is None:
            return None
        try:
            for line in Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8").splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def function_environment(self) -> dict[str, str]:
        """What a child needs to reach this moto as the functions do (for the write-cost run)."""
        return {
            **{name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG")},
            **LOCAL_AWS_ENVIRONMENT,
            "AWS_ENDPOINT_URL": self.aws.endpoint_url,
            "AWS_CA_BUNDLE": self.aws.ca_bundle,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "IdeogramAssetsBench",
            "POWERTOOLS_SERVICE_NAME": "bench",
        }


def _stack_name(size: int) -> str:
    return f"bench-search-{size_label(size)}"


@contextmanager
def search_world(log_dir: Path, sizes: Sequence[int]) -> Iterator[SearchWorld]:
    """moto with bench/moto_query_site on its PYTHONPATH and one stack per size, then the writes'."""
    log_path = log_dir / "moto.log"
    aws = AwsEmulator(log_path=log_path)
    saved = os.environ.get("PYTHONPATH")
    try:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(MOTO_QUERY_SITE), saved]))
        aws.start()
    except (RuntimeError, OSError) as error:
        aws.stop()
        raise BenchmarkError(f"the AWS emulator did not start: {error}") from error
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        if MOTO_QUERY_MARKER not in log_path.read_text(encoding="utf-8", errors="replace"):
            raise BenchmarkError("moto started without the benchmark's Query patch (bench/moto_query_site)")
        template = load_template()
        resolvers = {}
        for size in sizes:
            resolvers[size] = Resolver(template, _stack_name(size), REGION, LOCAL_ACCOUNT_ID)
            provision(resolvers[size], aws)
        writes = Resolver(template, WRITES_STACK, REGION, LOCAL_ACCOUNT_ID)
        provision(writes, aws)
        yield SearchWorld(aws=aws, resolvers=resolvers, writes=writes, log_path=log_path)
    finally:
        aws.stop()
