"""The one error body every route replies with."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorResponse(BaseModel):
    message: str
    errors: list[dict[str, str]] | None = None
