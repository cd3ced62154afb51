"""Creates the template's AWS resources (bucket, table, queues and their policies, buses and their
rules, alarms, secrets) in the AWS emulator.

Each resource is created from its own definition in template.yaml: CloudFormation properties
are translated one to one into the API calls CloudFormation itself would make. A property the
translation does not know raises ProvisioningError, so a template change cannot be silently
dropped locally.

Functions and the HTTP API are not created in the emulator: the local stack runs them itself.
Their local names are registered first, so a resource that refers to them (an alarm on a
function's metrics) resolves to what the local stack runs.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from local_stack.aws_emulator import AwsEmulator
from local_stack.event_filters import RULE_OPERATORS, PatternError, parse_pattern
from local_stack.gateway import GatewayConfig
from local_stack.template import SUB_VARIABLE, Resolver, TemplateError


class ProvisioningError(TemplateError):
    """A resource property that the local stack cannot create."""


def _check_known(logical_id: str, properties: Mapping[str, Any], known: set[str]) -> None:
    unknown = set(properties) - known
    if unknown:
        raise ProvisioningError(f"{logical_id}: properties {sorted(unknown)} are not supported locally")


def _physical_name(stack_name: str, logical_id: str, max_length: int = 63) -> str:
    name = re.sub(r"[^a-z0-9-]", "-", f"{stack_name}-{logical_id}".lower())
    return name[:max_length].strip("-")


# ------------------------------------------------------------------------------------ S3


_LIFECYCLE_KEYS = {
    "Id",
    "Status",
    "Prefix",
    "TagFilters",
    "ExpirationInDays",
    "ExpirationDate",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionExpirationInDays",
    "AbortIncompleteMultipartUpload",
    "Transitions",
    "NoncurrentVersionTransitions",
    "ObjectSizeGreaterThan",
    "ObjectSizeLessThan",
}


def _lifecycle_filter(rule: Mapping[str, Any]) -> dict[str, Any]:
    tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in rule.get("TagFilters", [])]
    conditions: dict[str, Any] = {}
    if "Prefix" in rule:
        conditions["Prefix"] = rule["Prefix"]
    if tags:
        conditions["Tags"] = tags
    for size_key in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if size_key in rule:
            conditions[size_key] = int(rule[size_key])
    if not conditions:
        return {"Prefix": ""}
    if len(conditions) == 1 and "Tags" in conditions and len(tags) == 1:
        return {"Tag": tags[0]}
    if len(conditions) == 1 and "Tags" not in conditions:
        return conditions
    return {"And": conditions}


def lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """One CloudFormation lifecycle rule as the PutBucketLifecycleConfiguration API takes it."""
    _check_known(f"lifecycle rule {rule.get('Id', '?')}", rule, _LIFECYCLE_KEYS)
    converted: dict[str, Any] = {"Status": rule["Status"], "Filter": _lifecycle_filter(rule)}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpirationDate" in rule:
        expiration["Date"] = rule["ExpirationDate"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        converted["Expiration"] = expiration
    noncurrent = dict(rule.get("NoncurrentVersionExpiration", {}))
    if "NoncurrentVersionExpirationInDays" in rule:
        noncurrent["NoncurrentDays"] = rule["NoncurrentVersionExpirationInDays"]
    if noncurrent:
        converted["NoncurrentVersionExpiration"] = {key: int(value) for key, value in noncurrent.items()}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    if "Transitions" in rule:
        converted["Transitions"] = [
            {"StorageClass": item["StorageClass"], "Days": int(item["TransitionInDays"])}
            for item in rule["Transitions"]
        ]
    if "NoncurrentVersionTransitions" in rule:
        converted["NoncurrentVersionTransitions"] = [
            {"StorageClass": item["StorageClass"], "NoncurrentDays": int(item["TransitionInDays"])}
            for item in rule["NoncurrentVersionTransitions"]
        ]
    return converted


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "ApplyServerSideEncryptionByDefault": dict(rule["ServerSideEncryptionByDefault"])
    }
    if "BucketKeyEnabled" in rule:
        converted["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"])
    return converted


def create_bucket(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    _check_known(
        logical_id,
        properties,
        {
            "BucketName",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "OwnershipControls",
            "VersioningConfiguration",
            "LifecycleConfiguration",
            "Tags",
        },
    )
    name = properties.get("BucketName") or _physical_name(ctx.resolver.stack_name, logical_id)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=name)
    if "BucketEncryption" in properties:
        rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={"Rules": [_encryption_rule(rule) for rule in rules]},
        )
    if "PublicAccessBlockConfiguration" in properties:
        block = {key: bool(value) for key, value in properties["PublicAccessBlockConfiguration"].items()}
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    if "OwnershipControls" in properties:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=dict(properties["OwnershipControls"]))
    if "VersioningConfiguration" in properties:
        status = properties["VersioningConfiguration"]["Status"]
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    if "LifecycleConfiguration" in properties:
        rules = [lifecycle_rule(rule) for rule in properties["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if "Tags" in properties:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": list(properties["Tags"])})
    ctx.resolver.physical_ids[logical_id] = name
    ctx.resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
    ctx.resolver.attributes[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"


def _applies_over_tls(statement: Mapping[str, Any]) -> bool:
    """False for a statement that only matches requests without TLS (aws:SecureTransport false).

    moto does not evaluate policy conditions: it would apply such a Deny to every request. The
    local stack reaches moto over HTTPS only, so the condition is false here, exactly as it is
    for the product's TLS clients in AWS; the statement is left out rather than misapplied.
    """
    transport = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
    return str(transport).lower() != "false"


def local_bucket_policy(document: Mapping[str, Any]) -> dict[str, Any]:
    """The bucket policy as moto can enforce it for HTTPS callers (see _applies_over_tls)."""
    statements = [statement for statement in document.get("Statement", []) if _applies_over_tls(statement)]
    return {**document, "Statement": statements}


def create_bucket_policy(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    _check_known(logical_id, properties, {"Bucket", "PolicyDocument"})
    policy = local_bucket_policy(properties["PolicyDocument"])
    if policy["Statement"]:
        ctx.client("s3").put_bucket_policy(Bucket=properties["Bucket"], Policy=json.dumps(policy))
    ctx.resolver.physical_ids[logical_id] = properties["Bucket"]


# ------------------------------------------------------------------------------ DynamoDB


def create_table(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    _check_known(
        logical_id,
        properties,
        {
            "TableName",
            "BillingMode",
            "AttributeDefinitions",
            "KeySchema",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "ProvisionedThroughput",
            "PointInTimeRecoverySpecification",
            "SSESpecification",
            "StreamSpecification",
            "TimeToLiveSpecification",
            "DeletionProtectionEnabled",
            "Tags",
        },
    )
    name = properties.get("TableName") or _physical_name(ctx.resolver.stack_name, logical_id, 255)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput", "Tags"):
        if key in properties:
            request[key] = properties[key]
    if "DeletionProtectionEnabled" in properties:
        request["DeletionProtectionEnabled"] = str(properties["DeletionProtectionEnabled"]).lower() == "true"
    if "SSESpecification" in properties:
        sse = properties["SSESpecification"]
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))} | {
            key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse
        }
    if "StreamSpecification" in properties:
        view = properties["StreamSpecification"]["StreamViewType"]
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    dynamodb = ctx.client("dynamodb")
    description = dynamodb.create_table(**request)["TableDescription"]
    if "TimeToLiveSpecification" in properties:
        ttl = properties["TimeToLiveSpecification"]
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
        )
    if "PointInTimeRecoverySpecification" in properties:
        enabled = bool(properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled}
        )
    ctx.resolver.physical_ids[logical_id] = name
    ctx.resolver.attributes[(logical_id, "Arn")] = description["TableArn"]
    if "LatestStreamArn" in description:
        ctx.resolver.attributes[(logical_id, "StreamArn")] = description["LatestStreamArn"]


# --------------------------------------------------------------------- SQS / EventBridge


def create_queue(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    attribute_keys = {
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "FifoQueue",
        "ContentBasedDeduplication",
        "SqsManagedSseEnabled",
        "KmsMasterKeyId",
    }
    _check_known(logical_id, properties, attribute_keys | {"QueueName", "RedrivePolicy", "Tags"})
    fifo = str(properties.get("FifoQueue", "false")).lower() == "true"
    name = properties.get("QueueName") or _physical_name(
        ctx.resolver.stack_name, logical_id, 75 if fifo else 80
    )
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in properties.items()
        if key in attribute_keys
    }
    if "RedrivePolicy" in properties:
        attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
    sqs = ctx.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ctx.resolver.physical_ids[logical_id] = url
    ctx.resolver.attributes[(logical_id, "Arn")] = arn
    ctx.resolver.attributes[(logical_id, "QueueName")] = name
    ctx.resolver.attributes[(logical_id, "QueueUrl")] = url


def create_event_bus(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    _check_known(logical_id, properties, {"Name", "Description", "Tags"})
    arn = ctx.client("events").create_event_bus(Name=properties["Name"])["EventBusArn"]
    ctx.resolver.physical_ids[logical_id] = properties["Name"]
    ctx.resolver.attributes[(logical_id, "Arn")] = arn
    ctx.resolver.attributes[(logical_id, "Name")] = properties["Name"]


def create_queue_policy(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    """Sets each queue's Policy attribute, as CloudFormation does (the AWS emulator stores it; it
    does not evaluate it)."""
    _check_known(logical_id, properties, {"Queues", "PolicyDocument"})
    policy = json.dumps(properties["PolicyDocument"])
    sqs = ctx.client("sqs")
    for queue_url in properties["Queues"]:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    ctx.resolver.physical_ids[logical_id] = _physical_name(ctx.resolver.stack_name, logical_id)


_RULE_PROPERTIES = {"Name", "Description", "EventBusName", "EventPattern", "State", "Targets"}
_RULE_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
# What a target may say locally: the emulator delivers the whole event to an SQS queue.
_TARGET_PROPERTIES = {"Id", "Arn", "SqsParameters"}


def _rule_target(logical_id: str, target: Mapping[str, Any]) -> dict[str, Any]:
    where = f"{logical_id} target {target.get('Id', '?')}"
    _check_known(where, target, _TARGET_PROPERTIES)
    if not str(target.get("Arn", "")).startswith("arn:aws:sqs:"):
        raise ProvisioningError(
            f"{where}: only SQS queues are delivered to locally, not {target.get('Arn')!r}"
        )
    converted: dict[str, Any] = {"Id": str(target["Id"]), "Arn": str(target["Arn"])}
    if "SqsParameters" in target:
        _check_known(f"{where} SqsParameters", target["SqsParameters"], {"MessageGroupId"})
        converted["SqsParameters"] = dict(target["SqsParameters"])
    return converted


def create_rule(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    """An EventBridge rule with an event pattern and SQS targets; the AWS emulator delivers each
    matching event to the targets (local_stack.moto_events makes that delivery EventBridge's)."""
    if "ScheduleExpression" in properties:
        raise ProvisioningError(
            f"{logical_id}: a rule's ScheduleExpression does not fire locally"
            " (a function's Schedule event does)"
        )
    _check_known(logical_id, properties, _RULE_PROPERTIES)
    if "EventPattern" not in properties:
        raise ProvisioningError(f"{logical_id}: a rule needs an EventPattern locally")
    try:
        # Checked first: the emulator would take an operator it does not know as a match.
        pattern = parse_pattern(properties["EventPattern"], RULE_OPERATORS)
    except PatternError as error:
        raise ProvisioningError(f"{logical_id}: EventPattern: {error}") from None
    state = str(properties.get("State", "ENABLED"))
    if state not in _RULE_STATES:
        raise ProvisioningError(f"{logical_id}: State must be one of {', '.join(_RULE_STATES)}, not {state}")
    bus = str(properties.get("EventBusName", "default"))
    # CloudFormation names an unnamed rule after its stack and logical id (and a random suffix).
    name = str(properties.get("Name") or f"{ctx.resolver.stack_name}-{logical_id}"[:64])
    request: dict[str, Any] = {
        "Name": name,
        "EventBusName": bus,
        "EventPattern": pattern.text,
        "State": state,
    }
    if "Description" in properties:
        request["Description"] = str(properties["Description"])
    events = ctx.client("events")
    arn = events.put_rule(**request)["RuleArn"]
    targets = [_rule_target(logical_id, target) for target in properties.get("Targets", [])]
    if targets:
        failed = events.put_targets(Rule=name, EventBusName=bus, Targets=targets).get("FailedEntries", [])
        if failed:
            raise ProvisioningError(f"{logical_id}: targets refused: {failed}")
    # Ref: the rule's name on the default bus, "<bus name>|<rule name>" on any other.
    bus_name = bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus
    ctx.resolver.physical_ids[logical_id] = name if bus_name == "default" else f"{bus_name}|{name}"
    ctx.resolver.attributes[(logical_id, "Arn")] = arn


# ---------------------------------------------------------------------------- CloudWatch

_ALARM_PROPERTIES = {
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "ExtendedStatistic",
    "Period",
    "Unit",
    "Metrics",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ThresholdMetricId",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Tags",
}
_INTEGER_ALARM_PROPERTIES = ("Period", "EvaluationPeriods", "DatapointsToAlarm")
_METRIC_QUERY_KEYS = {"Id", "Expression", "MetricStat", "Label", "Period", "ReturnData", "AccountId"}
_METRIC_STAT_KEYS = {"Metric", "Period", "Stat", "Unit"}


def _as_bool(value: Any) -> bool:
    return str(value).lower() == "true"


def _metric_query(alarm_id: str, query: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of an alarm's Metrics (a metric math or Metrics Insights query, or a metric)."""
    _check_known(f"{alarm_id} metric {query.get('Id', '?')}", query, _METRIC_QUERY_KEYS)
    converted = dict(query)
    if "Period" in query:
        converted["Period"] = int(query["Period"])
    if "ReturnData" in query:
        converted["ReturnData"] = _as_bool(query["ReturnData"])
    if "MetricStat" in query:
        stat = query["MetricStat"]
        _check_known(f"{alarm_id} metric {query.get('Id', '?')} MetricStat", stat, _METRIC_STAT_KEYS)
        converted["MetricStat"] = {**stat, "Period": int(stat["Period"])}
    return converted


def alarm_request(alarm_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """An AWS::CloudWatch::Alarm's properties as the PutMetricAlarm API takes them."""
    _check_known(alarm_name, properties, _ALARM_PROPERTIES)
    request: dict[str, Any] = {**properties, "AlarmName": alarm_name}
    for key in _INTEGER_ALARM_PROPERTIES:
        if key in properties:
            request[key] = int(properties[key])
    if "Threshold" in properties:
        request["Threshold"] = float(properties["Threshold"])
    if "ActionsEnabled" in properties:
        request["ActionsEnabled"] = _as_bool(properties["ActionsEnabled"])
    if "Metrics" in properties:
        request["Metrics"] = [_metric_query(alarm_name, query) for query in properties["Metrics"]]
    return request


def create_alarm(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    name = properties.get("AlarmName") or _physical_name(ctx.resolver.stack_name, logical_id, 255)
    cloudwatch = ctx.client("cloudwatch")
    cloudwatch.put_metric_alarm(**alarm_request(name, properties))
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    ctx.resolver.physical_ids[logical_id] = name
    ctx.resolver.attributes[(logical_id, "Arn")] = alarm["AlarmArn"]


# ------------------------------------------------------------------------ Secrets Manager

_SECRET_PROPERTIES = {"Name", "Description", "SecretString", "GenerateSecretString", "Tags"}
_GENERATE_SECRET_KEYS = {
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeLowercase",
    "ExcludeUppercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "IncludeSpace",
    "RequireEachIncludedType",
    "GenerateStringKey",
    "SecretStringTemplate",
}
# The character types of GetRandomPassword, each with the flag that leaves it out.
_CHARACTER_TYPES = {
    "ExcludeLowercase": string.ascii_lowercase,
    "ExcludeUppercase": string.ascii_uppercase,
    "ExcludeNumbers": string.digits,
    "ExcludePunctuation": string.punctuation,
}
_MAX_PASSWORD_LENGTH = 4096


def random_password(where: str, spec: Mapping[str, Any]) -> str:
    """A password drawn with `secrets` by GetRandomPassword's rules (length 32, every type, no space,
    at least one character of each type left in, unless the spec says otherwise)."""
    length = int(spec.get("PasswordLength", 32))
    if not 1 <= length <= _MAX_PASSWORD_LENGTH:
        raise ProvisioningError(f"{where}: PasswordLength {length} is not in 1-{_MAX_PASSWORD_LENGTH}")
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    types = [
        kept
        for flag, characters in _CHARACTER_TYPES.items()
        if not _as_bool(spec.get(flag, False)) and (kept := [c for c in characters if c not in excluded])
    ]
    alphabet = [character for kept in types for character in kept]
    if _as_bool(spec.get("IncludeSpace", False)) and " " not in excluded:
        alphabet.append(" ")
    if not alphabet:
        raise ProvisioningError(f"{where}: every character is excluded")
    required = types if _as_bool(spec.get("RequireEachIncludedType", True)) else []
    if len(required) > length:
        raise ProvisioningError(f"{where}: {length} characters cannot include each of {len(required)} types")
    chosen = [secrets.choice(kept) for kept in required]
    chosen += [secrets.choice(alphabet) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def generated_secret_string(logical_id: str, spec: Mapping[str, Any]) -> str:
    """The value a GenerateSecretString asks for: a random password, alone or as one key of the
    JSON object SecretStringTemplate gives."""
    where = f"{logical_id} GenerateSecretString"
    _check_known(where, spec, _GENERATE_SECRET_KEYS)
    password = random_password(where, spec)
    if ("GenerateStringKey" in spec) != ("SecretStringTemplate" in spec):
        raise ProvisioningError(f"{where}: GenerateStringKey and SecretStringTemplate go together")
    if "SecretStringTemplate" not in spec:
        return password
    try:
        document = json.loads(spec["SecretStringTemplate"])
    except json.JSONDecodeError as error:
        raise ProvisioningError(f"{where}: SecretStringTemplate is not JSON ({error})") from None
    if not isinstance(document, dict):
        raise ProvisioningError(f"{where}: SecretStringTemplate is not a JSON object")
    return json.dumps({**document, str(spec["GenerateStringKey"]): password})


def create_secret(ctx: ProvisionContext, logical_id: str, properties: Mapping[str, Any]) -> None:
    """The secret, with its value generated here when the template asks for one; Ref gives its ARN."""
    _check_known(logical_id, properties, _SECRET_PROPERTIES)
    if "SecretString" in properties and "GenerateSecretString" in properties:
        raise ProvisioningError(f"{logical_id}: SecretString and GenerateSecretString exclude each other")
    # Without a Name, CloudFormation names the secret after its logical id and a random suffix.
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    request: dict[str, Any] = {"Name": properties.get("Name") or f"{logical_id}-{suffix}"}
    if "Description" in properties:
        request["Description"] = properties["Description"]
    if "Tags" in properties:
        request["Tags"] = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in properties["Tags"]]
    if "SecretString" in properties:
        request["SecretString"] = str(properties["SecretString"])
    elif "GenerateSecretString" in properties:
        request["SecretString"] = generated_secret_string(logical_id, properties["GenerateSecretString"])
    arn = ctx.client("secretsmanager").create_secret(**request)["ARN"]
    ctx.resolver.physical_ids[logical_id] = arn
    ctx.resolver.attributes[(logical_id, "Id")] = arn


# ------------------------------------------------------------------------------- driver

Creator = Callable[["ProvisionContext", str, Mapping[str, Any]], None]

# Creation order follows dependencies: a policy needs its bucket, a queue its dead-letter queue.
CREATORS: dict[str, Creator] = {
    "AWS::S3::Bucket": create_bucket,
    "AWS::S3::BucketPolicy": create_bucket_policy,
    "AWS::DynamoDB::Table": create_table,
    "AWS::SQS::Queue": create_queue,
    "AWS::Events::EventBus": create_event_bus,
    "AWS::Events::Rule": create_rule,
    "AWS::SQS::QueuePolicy": create_queue_policy,
    "AWS::CloudWatch::Alarm": create_alarm,
    "AWS::SecretsManager::Secret": create_secret,
}

# What the local stack runs itself, by the name it runs it under: a function under its logical
# id (FunctionSpec.function_name), the HTTP API as the gateway's API id.
LOCAL_NAMES: dict[str, Callable[[str], str]] = {
    "AWS::Serverless::Function": lambda logical_id: logical_id,
    "AWS::Serverless::HttpApi": lambda logical_id: GatewayConfig.api_id,
}


@dataclass
class ProvisionContext:
    resolver: Resolver
    aws: AwsEmulator

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.resolver.region)


def _pending_references(node: Any) -> set[str]:
    """Logical ids a definition refers to (Ref, GetAtt, ${X} in Sub)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _pending_references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {name.split(".", 1)[0] for name in SUB_VARIABLE.findall(text)}
                found |= _pending_references(value if isinstance(value, list) else [])
            else:
                found |= _pending_references(value)
    return found


def provision(resolver: Resolver, aws: AwsEmulator) -> dict[str, str]:
    """Creates every supported resource of the template in aws; returns their logical → physical ids."""
    ctx = ProvisionContext(resolver=resolver, aws=aws)
    created: list[str] = []
    for logical_id, resource in resolver.template["Resources"].items():
        if resource.get("Type") in LOCAL_NAMES:
            resolver.physical_ids[logical_id] = LOCAL_NAMES[resource["Type"]](logical_id)
    pending = {
        logical_id: resource
        for logical_id, resource in resolver.template["Resources"].items()
        if resource.get("Type") in CREATORS
    }
    while pending:
        ready = [
            logical_id
            for logical_id, resource in pending.items()
            if not (_pending_references(resource.get("Properties", {})) & set(pending))
        ]
        if not ready:
            raise ProvisioningError(f"circular references between {sorted(pending)}")
        for logical_id in ready:
            resource = pending.pop(logical_id)
            if "Condition" in resource and not resolver.condition(resource["Condition"]):
                continue
            properties = resolver.resolve(resource.get("Properties", {}))
            CREATORS[resource["Type"]](ctx, logical_id, properties)
            created.append(logical_id)
    return {logical_id: resolver.physical_ids[logical_id] for logical_id in created}
