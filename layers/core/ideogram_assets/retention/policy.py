"""Retention classes: how long an image is kept, and when its record and object may go.

A stored image expires `days` after it was generated (its class decides); the retention sweep
removes it on that day. Two backstops come later: DynamoDB's TTL deletes a record `grace_days`
after its expiry, and the bucket's lifecycle rules expire an object at class days + grace (see
template.yaml), so the sweep always runs first. `permanent` and a legal hold never expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args

RetentionClass = Literal["short", "standard", "permanent"]
RETENTION_CLASSES: tuple[RetentionClass, ...] = get_args(RetentionClass)


@dataclass(frozen=True)
class Expiry:
    expires_on: date  # the day the sweep removes the image (UTC)
    ttl: int  # epoch seconds after which DynamoDB may delete the record on its own (backstop)


@dataclass(frozen=True)
class RetentionPolicy:
    short_days: int
    standard_days: int
    grace_days: int

    def days(self, retention_class: str) -> int | None:
        """How long the class keeps an image; None for ever (permanent, or a class not known)."""
        return {"short": self.short_days, "standard": self.standard_days}.get(retention_class)

    def expiry(
        self, retention_class: str, created: datetime, *, legal_hold: bool, not_before: date | None = None
    ) -> Expiry | None:
        """When an image of this class, generated at `created`, expires; None when it never does.
        Never before `not_before`: an image whose retention had already ended when it became
        expirable (unpinned, released from a hold) expires that day, not on a day the sweep has
        already passed and would never read again."""
        days = None if legal_hold else self.days(retention_class)
        if days is None:
            return None
        expires_on = (created.astimezone(UTC) + timedelta(days=days)).date()
        if not_before is not None:
            expires_on = max(expires_on, not_before)
        backstop = datetime.combine(expires_on + timedelta(days=self.grace_days), time.min, tzinfo=UTC)
        return Expiry(expires_on=expires_on, ttl=int(backstop.timestamp()))


def parse_retention_class(value: str) -> RetentionClass:
    for known in RETENTION_CLASSES:
        if value == known:
            return known
    raise ValueError(f"unknown retention class {value!r}; expected one of {', '.join(RETENTION_CLASSES)}")
