"""CloudFormation lifecycle rules become the S3 API's shape, one to one."""

from __future__ import annotations

import pytest

from local_stack.provision import ProvisioningError, lifecycle_rule


def test_tag_filter_and_expiration_days() -> None:
    rule = {
        "Id": "short",
        "Status": "Enabled",
        "TagFilters": [{"Key": "retention-class", "Value": "short"}],
        "ExpirationInDays": "30",
    }
    assert lifecycle_rule(rule) == {
        "ID": "short",
        "Status": "Enabled",
        "Filter": {"Tag": {"Key": "retention-class", "Value": "short"}},
        "Expiration": {"Days": 30},
    }


def test_rule_without_filter_applies_to_every_object() -> None:
    rule = {"Id": "mpu", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}
    converted = lifecycle_rule(rule)
    assert converted["Filter"] == {"Prefix": ""}
    assert converted["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_prefix_with_tags_becomes_an_and_filter() -> None:
    rule = {
        "Status": "Enabled",
        "Prefix": "images/",
        "TagFilters": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        "NoncurrentVersionExpiration": {"NoncurrentDays": "7"},
        "ExpiredObjectDeleteMarker": True,
        "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 90}],
    }
    converted = lifecycle_rule(rule)
    assert converted["Filter"] == {
        "And": {"Prefix": "images/", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}
    }
    assert converted["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert converted["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert converted["Transitions"] == [{"StorageClass": "GLACIER_IR", "Days": 90}]


def test_unknown_property_is_refused_rather_than_dropped() -> None:
    with pytest.raises(ProvisioningError, match="ExpirationInWeeks"):
        lifecycle_rule({"Status": "Enabled", "ExpirationInWeeks": 2})
