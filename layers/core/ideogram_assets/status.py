"""The states of a generation record (see records.py for its life)."""

from enum import StrEnum


class Status(StrEnum):
    PENDING = "PENDING"
    STORED = "STORED"
    UNSAFE = "UNSAFE"
    FAILED = "FAILED"
