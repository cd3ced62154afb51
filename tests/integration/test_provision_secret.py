"""AWS::SecretsManager::Secret from a template: created in the AWS emulator with a value drawn
locally, and `!Ref` of it is the secret's ARN, as CloudFormation returns it."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from local_stack.functions import load_functions
from local_stack.provision import ProvisioningError, provision
from local_stack.stack import LocalStack
from local_stack.template import Resolver, load_template

TEMPLATE = """\
Resources:
  CursorSigningSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Description: Signs the search cursors
      GenerateSecretString:
        PasswordLength: 64
        ExcludePunctuation: true
  NamedSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "${AWS::StackName}-named"
      SecretString: fixed-value
      Tags:
        - Key: purpose
          Value: test
  QueryFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/query/
      Handler: app.handler
      Environment:
        Variables:
          CURSOR_SECRET_ARN: !Ref CursorSigningSecret
          CURSOR_SECRET_ID: !GetAtt CursorSigningSecret.Id
"""


def _resolver(tmp_path: Path, text: str, stack_name: str) -> Resolver:
    path = tmp_path / f"{stack_name}.yaml"
    path.write_text(text, encoding="utf-8")
    return Resolver(load_template(path), stack_name, "us-east-1", "123456789012")


def test_a_generated_secret_is_created_and_ref_gives_its_arn(stack: LocalStack, tmp_path: Path) -> None:
    resolver = _resolver(tmp_path, TEMPLATE, "secret-stack")
    created = provision(resolver, stack.aws)
    secrets_manager = stack.aws.client("secretsmanager")

    arn = created["CursorSigningSecret"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:CursorSigningSecret-")
    assert resolver.ref("CursorSigningSecret") == arn
    described = secrets_manager.describe_secret(SecretId=arn)
    assert described["ARN"] == arn
    assert described["Description"] == "Signs the search cursors"
    value = secrets_manager.get_secret_value(SecretId=arn)["SecretString"]
    assert len(value) == 64
    assert set(value) <= set(string.ascii_letters + string.digits)

    [function] = load_functions(resolver)
    assert function.environment["CURSOR_SECRET_ARN"] == arn
    assert function.environment["CURSOR_SECRET_ID"] == arn

    named = secrets_manager.describe_secret(SecretId="secret-stack-named")
    assert named["ARN"] == created["NamedSecret"]
    assert named["Tags"] == [{"Key": "purpose", "Value": "test"}]
    assert secrets_manager.get_secret_value(SecretId=named["ARN"])["SecretString"] == "fixed-value"


def test_each_stack_gets_its_own_secret_and_value(stack: LocalStack, tmp_path: Path) -> None:
    text = TEMPLATE.replace("${AWS::StackName}-named", "${AWS::StackName}-other")
    first = provision(_resolver(tmp_path, text, "secret-one"), stack.aws)["CursorSigningSecret"]
    second = provision(_resolver(tmp_path, text, "secret-two"), stack.aws)["CursorSigningSecret"]
    assert first != second
    secrets_manager = stack.aws.client("secretsmanager")
    values = {secrets_manager.get_secret_value(SecretId=arn)["SecretString"] for arn in (first, second)}
    assert len(values) == 2


@pytest.mark.parametrize(
    ("properties", "complaint"),
    [
        ("KmsKeyId: alias/cursor\n      SecretString: x", "KmsKeyId"),
        ("SecretString: x\n      GenerateSecretString: {PasswordLength: 8}", "exclude each other"),
        ("GenerateSecretString: {PasswordLength: 8, ExcludeNumbers: true, Entropy: 9}", "Entropy"),
    ],
)
def test_what_cannot_be_honoured_stops_provisioning(
    stack: LocalStack, tmp_path: Path, properties: str, complaint: str
) -> None:
    text = f"Resources:\n  Odd:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      {properties}\n"
    with pytest.raises(ProvisioningError, match=complaint):
        provision(_resolver(tmp_path, text, "odd-secret"), stack.aws)
