"""What happens when a request repeats one already stored (same normalized prompt and parameters,
the record's promptHash): `generate` anyway (the default: a new seed is a new image), `reuse` the
stored images without calling Ideogram, or `reject` the request naming them."""

from __future__ import annotations

from typing import Literal

DuplicatePolicy = Literal["generate", "reuse", "reject"]
DEFAULT_DUPLICATE_POLICY: DuplicatePolicy = "generate"
# Stored duplicates named in a refusal (the newest ones).
MAX_NAMED_DUPLICATES = 20
