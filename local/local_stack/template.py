"""Reads template.yaml and resolves CloudFormation intrinsics for the local stack.

The local stack derives its resources, function settings and routes from the template
itself, so local and cloud cannot drift. Only the intrinsics the template uses locally are
resolved; anything else raises, so a new construct is noticed instead of silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve."""


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML loader that turns short-form tags (!Ref, !Sub, ...) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return document


class _NoValue:
    """AWS::NoValue: the property it stands for is removed."""


NO_VALUE = _NoValue()
# ${Name} or ${Resource.Attribute} in Fn::Sub; ${!Literal} is an escape, not a variable.
SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


@dataclass
class Resolver:
    """Resolves intrinsics against parameter values, pseudo parameters and local physical ids."""

    template: Mapping[str, Any]
    stack_name: str
    region: str
    account_id: str
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def parameter(self, name: str) -> str:
        if name in self.parameter_overrides:
            return self.parameter_overrides[name]
        declared = self.template.get("Parameters", {}).get(name)
        if declared is None or "Default" not in declared:
            raise TemplateError(f"parameter {name} has no value and no default")
        return str(declared["Default"])

    def _arn_prefix(self, service: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}"

    def pseudo(self, name: str) -> str:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"{self._arn_prefix('cloudformation')}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name not in values:
            raise TemplateError(f"unsupported pseudo parameter {name}")
        return values[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.physical_ids:
            return self.physical_ids[name]
        raise TemplateError(f"Ref to {name}, which the local stack has not created")

    def get_att(self, resource: str, attribute: str) -> str:
        try:
            return self.attributes[(resource, attribute)]
        except KeyError:
            raise TemplateError(f"GetAtt {resource}.{attribute} is not known locally") from None

    def condition(self, name: str) -> bool:
        declared = self.template.get("Conditions", {}).get(name)
        if declared is None:
            raise TemplateError(f"unknown condition {name}")
        return self._truth(declared)

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, args),) = node.items()
            if key == "Fn::Equals":
                left, right = (self.resolve(arg) for arg in args)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._truth(args[0])
            if key == "Fn::And":
                return all(self._truth(arg) for arg in args)
            if key == "Fn::Or":
                return any(self._truth(arg) for arg in args)
            if key == "Condition":
                return self.condition(args)
        raise TemplateError(f"unsupported condition {node!r}")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return str(self.ref(name))

        return SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, node: Any) -> Any:
        """Returns node with every intrinsic replaced by its local value."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            if key == "Ref":
                return self.ref(args)
            if key == "Fn::GetAtt":
                resource, attribute = args if isinstance(args, list) else args.split(".", 1)
                return self.get_att(resource, attribute)
            if key == "Fn::Sub":
                text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])
                return self._sub(text, variables)
            if key == "Fn::If":
                name, when_true, when_false = args
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Join":
                separator, values = args
                return separator.join(str(value) for value in self.resolve(values))
            if key == "Fn::Select":
                index, values = args
                return self.resolve(values)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = args
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise TemplateError(f"unsupported intrinsic {key}")
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource definition, for every resource of one CloudFormation type."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
    }
