"""The local stack's moto drops DynamoDB Streams shard iterators 15 minutes after issuing them."""

from __future__ import annotations

from types import SimpleNamespace

from local_stack.moto_streams import ITERATOR_LIFETIME_SECONDS, drop_expired


def test_iterators_older_than_their_lifetime_are_dropped_oldest_first() -> None:
    now = 10_000.0
    iterators = {
        "old-1": SimpleNamespace(local_issued_at=now - ITERATOR_LIFETIME_SECONDS - 60),
        "old-2": SimpleNamespace(local_issued_at=now - ITERATOR_LIFETIME_SECONDS - 1),
        "fresh": SimpleNamespace(local_issued_at=now - 5),
        "newest": SimpleNamespace(local_issued_at=now),
    }
    assert drop_expired(iterators, now) == 2
    assert list(iterators) == ["fresh", "newest"]
    assert drop_expired(iterators, now) == 0


def test_an_iterator_issued_before_the_patch_is_kept() -> None:
    iterators = {"unstamped": SimpleNamespace()}
    assert drop_expired(iterators, 1e9) == 0
    assert list(iterators) == ["unstamped"]
