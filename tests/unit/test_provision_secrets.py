"""Secret values the local stack generates for AWS::SecretsManager::Secret's GenerateSecretString,
by the rules of Secrets Manager's GetRandomPassword."""

from __future__ import annotations

import json
import string

import pytest

from local_stack.provision import ProvisioningError, generated_secret_string

TYPES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)


def test_the_defaults_give_32_characters_of_every_type() -> None:
    value = generated_secret_string("Secret", {})
    assert len(value) == 32
    assert all(any(character in kind for character in value) for kind in TYPES)
    assert " " not in value


def test_length_and_no_punctuation_as_the_template_declares_them() -> None:
    values = {
        generated_secret_string("Secret", {"PasswordLength": 64, "ExcludePunctuation": "true"})
        for _ in range(50)
    }
    assert len(values) == 50  # drawn at random, not derived from the template
    for value in values:
        assert len(value) == 64
        assert set(value) <= set(string.ascii_letters + string.digits)
        assert all(any(character in kind for character in value) for kind in TYPES[:3])


def test_excluded_characters_types_and_spaces() -> None:
    spec = {
        "PasswordLength": "200",
        "ExcludeCharacters": "abcXYZ019",
        "ExcludeUppercase": True,
        "ExcludePunctuation": True,
        "IncludeSpace": True,
    }
    value = generated_secret_string("Secret", spec)
    assert len(value) == 200
    assert not set(value) & set("abcXYZ019" + string.ascii_uppercase + string.punctuation)
    assert set(value) <= set(string.ascii_lowercase + string.digits + " ")


def test_each_included_type_is_not_required_when_the_template_says_so() -> None:
    value = generated_secret_string("Secret", {"PasswordLength": 2, "RequireEachIncludedType": "false"})
    assert len(value) == 2


def test_a_template_key_puts_the_password_in_a_json_object() -> None:
    spec = {
        "PasswordLength": 20,
        "ExcludePunctuation": True,
        "SecretStringTemplate": '{"username": "signer"}',
        "GenerateStringKey": "password",
    }
    document = json.loads(generated_secret_string("Secret", spec))
    assert document["username"] == "signer"
    assert len(document["password"]) == 20


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"PasswordLength": 64, "Entropy": "high"}, "Entropy"),
        ({"PasswordLength": 0}, "PasswordLength 0 "),
        ({"PasswordLength": 4097}, "PasswordLength 4097 "),
        ({"PasswordLength": 3}, "cannot include each of 4 types"),
        (
            {
                "ExcludeLowercase": True,
                "ExcludeUppercase": True,
                "ExcludeNumbers": True,
                "ExcludeCharacters": string.punctuation,
            },
            "every character is excluded",
        ),
        ({"GenerateStringKey": "password"}, "go together"),
        ({"GenerateStringKey": "password", "SecretStringTemplate": "[1]"}, "not a JSON object"),
        ({"GenerateStringKey": "password", "SecretStringTemplate": "{"}, "not JSON"),
    ],
)
def test_what_cannot_be_honoured_stops_provisioning(spec: dict[str, object], complaint: str) -> None:
    with pytest.raises(ProvisioningError, match=complaint):
        generated_secret_string("CursorSigningSecret", spec)
