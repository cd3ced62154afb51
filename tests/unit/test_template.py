"""The template reader resolves the intrinsics the local stack relies on, and refuses the rest;
the product template's spend and health guards (alarms, reserved concurrency) are wired as intended."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ideogram_assets.ideogram.errors import IdeogramRejected, IdeogramRequestError
from local_stack.template import Resolver, TemplateError, load_template, resources_of_type

TEMPLATE = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
}


def _resolver(**overrides: str) -> Resolver:
    resolver = Resolver(TEMPLATE, "stack", "eu-west-1", "111122223333", parameter_overrides=overrides)
    resolver.physical_ids["Bucket"] = "stack-bucket"
    resolver.attributes[("Bucket", "Arn")] = "arn:aws:s3:::stack-bucket"
    return resolver


def test_short_form_tags_load_as_long_form(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  X:\n    Type: T\n    Properties:\n"
        "      A: !Ref Stage\n      B: !GetAtt Bucket.Arn\n      C: !Sub '${AWS::Region}-x'\n"
        "      D: !If [IsProd, 1, 2]\n      E: !Join ['-', [a, b]]\n"
    )
    properties = load_template(path)["Resources"]["X"]["Properties"]
    assert properties == {
        "A": {"Ref": "Stage"},
        "B": {"Fn::GetAtt": ["Bucket", "Arn"]},
        "C": {"Fn::Sub": "${AWS::Region}-x"},
        "D": {"Fn::If": ["IsProd", 1, 2]},
        "E": {"Fn::Join": ["-", ["a", "b"]]},
    }


def test_refs_resolve_to_parameters_pseudo_parameters_and_physical_ids() -> None:
    resolver = _resolver()
    assert resolver.resolve({"Ref": "Stage"}) == "dev"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "111122223333"
    assert resolver.resolve({"Ref": "Bucket"}) == "stack-bucket"
    assert _resolver(Stage="prod").resolve({"Ref": "Stage"}) == "prod"


def test_sub_expands_refs_attributes_explicit_variables_and_escapes() -> None:
    resolver = _resolver()
    assert resolver.resolve({"Fn::Sub": "${Bucket.Arn}/*"}) == "arn:aws:s3:::stack-bucket/*"
    assert resolver.resolve({"Fn::Sub": "/aws/${AWS::StackName}-${Stage}"}) == "/aws/stack-dev"
    assert resolver.resolve({"Fn::Sub": ["${X}!", {"X": {"Ref": "Stage"}}]}) == "dev!"
    assert resolver.resolve({"Fn::Sub": "${!Literal}"}) == "${Literal}"


def test_conditions_and_no_value() -> None:
    assert _resolver().resolve({"Fn::If": ["IsProd", True, False]}) is False
    assert _resolver(Stage="prod").resolve({"Fn::If": ["IsProd", True, False]}) is True
    resolved = _resolver().resolve({"Keep": 1, "Drop": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}})
    assert resolved == {"Keep": 1}


def test_unknown_references_and_intrinsics_raise() -> None:
    with pytest.raises(TemplateError, match="Ref to Missing"):
        _resolver().resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match="unsupported intrinsic Fn::ImportValue"):
        _resolver().resolve({"Fn::ImportValue": "x"})
    with pytest.raises(TemplateError, match=r"GetAtt Bucket\.DomainName"):
        _resolver().resolve({"Fn::GetAtt": ["Bucket", "DomainName"]})


def test_product_template_loads() -> None:
    template = load_template()
    assert template["Globals"]["Function"]["Runtime"].startswith("python3.1")
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]


# ------------------------------------------------------------------- product template: guards

PRODUCT = load_template()
RESOURCES: dict[str, Any] = PRODUCT["Resources"]
ALARMS = resources_of_type(PRODUCT, "AWS::CloudWatch::Alarm")
FUNCTIONS = resources_of_type(PRODUCT, "AWS::Serverless::Function")
GLOBAL_VARIABLES = PRODUCT["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE = GLOBAL_VARIABLES["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = GLOBAL_VARIABLES["POWERTOOLS_SERVICE_NAME"]
TOPIC_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
# SCHEMA("Namespace", dimension, ...) of a Metrics Insights query.
_SCHEMA = re.compile(r'SCHEMA\("(?P<namespace>[^"]+)",(?P<dimensions>[^)]*)\)')


def _function_setting(function_id: str, key: str) -> Any:
    """A function's property, or the Globals one when it has none (as SAM applies them)."""
    return FUNCTIONS[function_id]["Properties"].get(key, PRODUCT["Globals"]["Function"].get(key))


def _lambda_alarms(function_id: str) -> dict[str, dict[str, Any]]:
    """Metric name → alarm properties, for the AWS/Lambda alarms on one function."""
    found: dict[str, dict[str, Any]] = {}
    for alarm in ALARMS.values():
        properties = alarm["Properties"]
        if properties.get("Namespace") == "AWS/Lambda" and properties.get("Dimensions") == [
            {"Name": "FunctionName", "Value": {"Ref": function_id}}
        ]:
            assert properties["MetricName"] not in found, (
                f"two {properties['MetricName']} alarms on {function_id}"
            )
            found[properties["MetricName"]] = properties
    return found


def _alarm_on(metric_name: str) -> dict[str, Any]:
    [properties] = [
        alarm["Properties"]
        for alarm in ALARMS.values()
        if alarm["Properties"].get("MetricName") == metric_name
    ]
    return properties  # type: ignore[no-any-return]


def _product_resolver(**overrides: str) -> Resolver:
    resolver = Resolver(PRODUCT, "stack", "eu-west-1", "111122223333", parameter_overrides=overrides)
    for logical_id in RESOURCES:
        resolver.physical_ids[logical_id] = f"stack-{logical_id}"
    return resolver


def test_every_function_has_errors_throttles_and_duration_alarms() -> None:
    assert set(FUNCTIONS) >= {"GenerateFunction", "QueryFunction"}
    for function_id in FUNCTIONS:
        alarms = _lambda_alarms(function_id)
        assert set(alarms) == {"Errors", "Throttles", "Duration"}, function_id
        for metric in ("Errors", "Throttles"):
            assert alarms[metric]["Statistic"] == "Sum"
            assert alarms[metric]["Threshold"] == 1
            assert alarms[metric]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_duration_alarms_fire_at_80_percent_of_each_functions_timeout() -> None:
    for function_id in FUNCTIONS:
        duration = _lambda_alarms(function_id)["Duration"]
        timeout_ms = int(_function_setting(function_id, "Timeout")) * 1000
        assert duration["Threshold"] == pytest.approx(0.8 * timeout_ms), function_id
        assert duration["ComparisonOperator"] == "GreaterThanThreshold"
        assert duration.get("ExtendedStatistic") == "p99" or duration.get("Statistic") == "Maximum"


def test_spend_alarm_sums_a_day_of_estimated_cost_against_the_parameter() -> None:
    spend = _alarm_on("EstimatedCostUsd")
    assert spend["Threshold"] == {"Ref": "DailySpendAlarmUsd"}
    assert (spend["Statistic"], spend["Period"], spend["EvaluationPeriods"]) == ("Sum", 86400, 1)
    # Powertools Metrics emits it under the namespace with the service as its only dimension.
    assert spend["Namespace"] == NAMESPACE
    assert spend["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    assert PRODUCT["Parameters"]["DailySpendAlarmUsd"]["Type"] == "Number"
    resolved = _product_resolver(DailySpendAlarmUsd="7.5").resolve(spend)
    assert float(resolved["Threshold"]) == 7.5


def test_failures_alarm_sums_every_kind_but_the_callers_own_faults() -> None:
    [failures] = [alarm["Properties"] for alarm in ALARMS.values() if "Metrics" in alarm["Properties"]]
    [query] = failures["Metrics"]
    assert query["ReturnData"] is True
    expression = " ".join(query["Expression"].split())
    assert expression.startswith("SELECT SUM(Failures) FROM SCHEMA(")
    # single_metric emits Failures with the dimensions kind and service: the query names both.
    schema = _SCHEMA.search(expression)
    assert schema is not None, expression
    assert schema["namespace"] == NAMESPACE
    assert {name.strip() for name in schema["dimensions"].split(",")} == {"kind", "service"}
    assert f"service = '{SERVICE}'" in expression
    caller_faults = {
        IdeogramRequestError(["bad"]).kind,
        IdeogramRejected("bad", status=400).kind,
        IdeogramRejected("unsafe", status=422).kind,
    }
    assert set(re.findall(r"kind != '([^']+)'", expression)) == caller_faults


def test_api_5xx_alarm_watches_the_http_api() -> None:
    api = _alarm_on("5xx")
    assert api["Namespace"] == "AWS/ApiGateway"
    assert api["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    assert RESOURCES["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"


def test_every_alarm_notifies_the_optional_topic_and_ignores_missing_data() -> None:
    assert PRODUCT["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    assert PRODUCT["Parameters"]["AlarmTopicArn"]["Default"] == ""
    # Errors, throttles and duration per function; failures, spend, unhandled errors, API 5xx;
    # a message in either dead-letter queue.
    assert len(ALARMS) == 3 * len(FUNCTIONS) + 4 + 2
    for alarm_id, alarm in ALARMS.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == TOPIC_ACTIONS, alarm_id
        assert properties["OKActions"] == TOPIC_ACTIONS, alarm_id
        assert "InsufficientDataActions" not in properties, alarm_id
        assert properties["TreatMissingData"] == "notBreaching", alarm_id
        assert properties["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), alarm_id
    topic = "arn:aws:sns:eu-west-1:111122223333:ops"
    some_alarm = next(iter(ALARMS.values()))["Properties"]
    assert "AlarmActions" not in _product_resolver().resolve(some_alarm)
    notified = _product_resolver(AlarmTopicArn=topic).resolve(some_alarm)
    assert notified["AlarmActions"] == notified["OKActions"] == [topic]


def test_generate_concurrency_comes_from_the_parameter_and_zero_reserves_nothing() -> None:
    declared = FUNCTIONS["GenerateFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert declared == {
        "Fn::If": [
            "ReservesGenerateConcurrency",
            {"Ref": "GenerateReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    parameter = PRODUCT["Parameters"]["GenerateReservedConcurrency"]
    assert parameter["Type"] == "Number"
    assert parameter["MinValue"] == 0
    # Ideogram runs 10 images at once per organisation by default; each call asks for at least one.
    assert 1 <= parameter["Default"] <= 10
    properties = {"ReservedConcurrentExecutions": declared}
    assert _product_resolver().resolve(properties) == {
        "ReservedConcurrentExecutions": str(parameter["Default"])
    }
    assert _product_resolver(GenerateReservedConcurrency="3").resolve(properties) == {
        "ReservedConcurrentExecutions": "3"
    }
    assert _product_resolver(GenerateReservedConcurrency="0").resolve(properties) == {}


def test_unhandled_errors_answered_as_500_have_their_own_alarm() -> None:
    """A bug the API turns into a plain 500 is no Lambda error: only this metric shows it."""
    alarm = ALARMS["UnhandledErrorsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, "UnhandledError")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def _overrides_of_every_profile() -> list[dict[str, str]]:
    import tomllib

    config = tomllib.loads((Path(__file__).parents[2] / "samconfig.toml").read_text())
    profiles: list[dict[str, str]] = [{}]  # the defaults alone
    for environment in config.values():
        if not isinstance(environment, dict):
            continue
        for command in environment.values():
            text = (
                command.get("parameters", {}).get("parameter_overrides")
                if isinstance(command, dict)
                else None
            )
            if text:
                profiles.append(dict(pair.split("=", 1) for pair in text.split()))
    return profiles


@pytest.mark.parametrize("retention_class", ["Short", "Standard"])
def test_the_lifecycle_backstop_comes_after_the_sweep_in_every_profile(retention_class: str) -> None:
    """S3 may expire an object only grace days after the sweep would have removed it."""
    defaults = {name: str(spec.get("Default", "")) for name, spec in PRODUCT["Parameters"].items()}
    for overrides in _overrides_of_every_profile():
        value = {**defaults, **overrides}
        days = int(value[f"{retention_class}RetentionDays"])
        grace = int(value["RetentionGraceDays"])
        assert int(value[f"{retention_class}BackstopDays"]) >= days + grace, overrides


def test_the_lifecycle_rules_match_only_the_expiring_classes_and_use_the_backstop_days() -> None:
    rules = {
        rule["Id"]: rule
        for rule in PRODUCT["Resources"]["AssetsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    tagged = {rule_id: rule for rule_id, rule in rules.items() if "TagFilters" in rule}
    assert {rule["TagFilters"][0]["Value"] for rule in tagged.values()} == {"short", "standard"}
    assert tagged["retention-short"]["ExpirationInDays"] == {"Ref": "ShortBackstopDays"}
    assert tagged["retention-standard"]["ExpirationInDays"] == {"Ref": "StandardBackstopDays"}


def test_the_retention_function_runs_each_task_on_a_schedule() -> None:
    events = FUNCTIONS["RetentionFunction"]["Properties"]["Events"]
    tasks = {event["Properties"]["Input"]: event["Properties"]["Schedule"] for event in events.values()}
    assert {json.loads(payload)["task"] for payload in tasks} == {"reconcile", "sweep", "report"}
    assert all(event["Type"] == "Schedule" for event in events.values())
