"""The states of a generation record (records/lifecycle.py says which changes are allowed)."""

from enum import StrEnum


class Status(StrEnum):
    PENDING = "PENDING"  # written before Ideogram is called; the image is not stored yet
    STORED = "STORED"  # the image is in S3 at the record's bucket and key
    UNSAFE = "UNSAFE"  # Ideogram billed it but returned no image
    FAILED = "FAILED"  # the download or the store failed; the original URL is kept while valid
    LOST = "LOST"  # its URL expired before the image could be stored: billed, gone for good
    MISSING = "MISSING"  # was STORED, but its object is no longer in the bucket


# The states the reconciler still has work on; only these carry openStatus (a sparse index).
OPEN_STATUSES = frozenset({Status.PENDING, Status.FAILED})
