"""The one error body every route replies with."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorResponse(BaseModel):
    message: str
    errors: list[dict[str, str]] | None = None
    existing: list[str] | None = None  # 409 on_duplicate=reject: the stored images of the request
