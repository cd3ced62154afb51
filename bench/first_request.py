"""What each function's first request sets up before it does any network call.

A handler module defers what only requests need (clients, sessions, PynamoDB, the Ideogram
client) to the first request. A cold start is paid by that first request, so the cold-start
benchmark times the import AND these steps, in the same fresh interpreter, in this order.
Each step is Python source run with `exec` in the child; the steps follow the handler's own
path (the wiring functions it calls), and create clients without calling them: creating a
botocore client or a requests session does not connect.

Keep these in step with the handlers: a renamed function makes the child fail loudly (the
benchmark stops with the child's traceback), it never silently measures less.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SetupStep:
    label: str  # what the step builds, as the results name it
    source: str  # Python statements, run with exec() in the child after the handler's import


@dataclass(frozen=True)
class FirstRequest:
    """The setup of a function's first request, and what its environment needs for it."""

    route: str
    steps: tuple[SetupStep, ...]
    environment: Mapping[str, str] = field(default_factory=dict)


# The presigned link each reply carries for a stored image (api.views.generation_view): the
# links module and botocore's signer load with the first one.
_PRESIGN = SetupStep(
    "presigned link for the reply (links module, SigV4 query signer)",
    "from ideogram_assets.aws import s3_client\n"
    "from ideogram_assets.links import presigned_get_url\n"
    "presigned_get_url(s3_client(), 'bench-bucket', 'images/bench.png', 900)\n",
)

FIRST_REQUESTS: dict[str, FirstRequest] = {
    "GenerateFunction": FirstRequest(
        route="POST /generations",
        steps=(
            SetupStep(
                "import generation.wiring (service, requests, storage, records, PynamoDB)",
                "from ideogram_assets.generation.wiring import generation_service, http_session\n",
            ),
            SetupStep(
                "generation_service(): settings, requests session + X-Ray patch, record store, "
                "S3 client, price table",
                "service = generation_service()\n",
            ),
            SetupStep(
                "DynamoDB client of the record store's connection (PynamoDB creates it on the first write)",
                "from ideogram_assets.config import generate_settings\n"
                "from ideogram_assets.wiring import record_store\n"
                # Private, but the object the first transaction uses; a rename fails loudly.
                "record_store(generate_settings())._connection.client\n",
            ),
            SetupStep(
                "Ideogram client: IdeogramClient import, the key read from the environment",
                "from ideogram_assets.generation.ideogram_access import IdeogramKeyAccess\n"
                "IdeogramKeyAccess(generate_settings(), http_session()).client()\n",
            ),
            _PRESIGN,
        ),
        # Locally, and in this benchmark, the key comes from the environment (in AWS from
        # Secrets Manager, which needs the network).
        environment={"IDEOGRAM_API_KEY": "bench-ideogram-key"},
    ),
    "QueryFunction": FirstRequest(
        route="GET /generations/{id}",
        steps=(
            SetupStep(
                "record_store(): settings, PynamoDB model and connection",
                "from ideogram_assets.config import base_settings\n"
                "from ideogram_assets.wiring import record_store\n"
                "record_store(base_settings())\n",
            ),
            SetupStep(
                "DynamoDB client of the model's connection (PynamoDB creates it on the first read)",
                "from ideogram_assets.records.model import GenerationRecord\n"
                "GenerationRecord._get_connection().connection.client\n",
            ),
            SetupStep("S3 client", "from ideogram_assets.aws import s3_client\ns3_client()\n"),
            _PRESIGN,
        ),
    ),
    "RetentionFunction": FirstRequest(
        route="a scheduled task (reconcile, sweep, report)",
        steps=(
            SetupStep(
                "import retention.wiring (reconciler, sweeper, generation wiring, PynamoDB)",
                "from ideogram_assets.retention.wiring import retention_service\n",
            ),
            SetupStep(
                "retention_service(): settings, record store, image store, S3 client",
                "retention_service()\n",
            ),
            SetupStep(
                "DynamoDB client of the record store's connection (created on the first query)",
                "from ideogram_assets.config import generate_settings\n"
                "from ideogram_assets.wiring import record_store\n"
                "record_store(generate_settings())._connection.client\n",
            ),
        ),
    ),
    "CurateFunction": FirstRequest(
        route="PATCH /generations/{id}",
        steps=(
            SetupStep(
                "import wiring and retention_changes(): settings, record store, S3 client",
                "from ideogram_assets.wiring import retention_changes\nretention_changes()\n",
            ),
            SetupStep(
                "DynamoDB client of the model's connection (created on the first read)",
                "from ideogram_assets.records.model import GenerationRecord\n"
                "GenerationRecord._get_connection().connection.client\n",
            ),
            _PRESIGN,
        ),
    ),
}
