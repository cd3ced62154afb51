"""AWS clients created once per execution environment and reused across invocations.

Endpoints come from the standard AWS_ENDPOINT_URL variable that boto3 honours, so the same
code talks to AWS and to the local stack without branches.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Fail fast inside a Lambda's time budget rather than hang on a slow endpoint.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
# SigV4 explicitly: presigned links signed with SigV2 are refused by newer regions and buckets.
_S3_CONFIG = CLIENT_CONFIG.merge(Config(signature_version="s3v4"))


@cache
def s3_client() -> S3Client:
    return boto3.client("s3", config=_S3_CONFIG)


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def secrets_client() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=CLIENT_CONFIG)
