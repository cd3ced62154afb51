"""The template reader resolves the intrinsics the local stack relies on, and refuses the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.template import Resolver, TemplateError, load_template

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
