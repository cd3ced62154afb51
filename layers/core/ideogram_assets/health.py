"""Readiness of the resources a function depends on: the table and the bucket."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ideogram_assets import __version__
from ideogram_assets.aws import dynamodb_client, s3_client
from ideogram_assets.config import Settings


class DependencyStatus(BaseModel):
    name: str
    ok: bool
    detail: str


class HealthReport(BaseModel):
    status: str
    version: str
    stage: str
    dependencies: list[DependencyStatus]


def _table_status(settings: Settings) -> DependencyStatus:
    try:
        table = dynamodb_client().describe_table(TableName=settings.table_name)["Table"]
    except (ClientError, BotoCoreError) as error:
        return DependencyStatus(name="table", ok=False, detail=type(error).__name__)
    state = table.get("TableStatus", "UNKNOWN")
    return DependencyStatus(name="table", ok=state == "ACTIVE", detail=state)


def _bucket_status(settings: Settings) -> DependencyStatus:
    try:
        s3_client().head_bucket(Bucket=settings.bucket_name)
    except (ClientError, BotoCoreError) as error:
        return DependencyStatus(name="bucket", ok=False, detail=type(error).__name__)
    return DependencyStatus(name="bucket", ok=True, detail="reachable")


def check_health(settings: Settings) -> HealthReport:
    """Checks each dependency; names only the error type so no resource detail leaks."""
    dependencies = [_table_status(settings), _bucket_status(settings)]
    healthy = all(dependency.ok for dependency in dependencies)
    return HealthReport(
        status="ok" if healthy else "degraded",
        version=__version__,
        stage=settings.stage,
        dependencies=dependencies,
    )
