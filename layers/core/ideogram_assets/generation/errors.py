"""Refusals of the generation service the API maps to replies (importable without pydantic)."""


class DuplicateGeneration(Exception):
    """`reject`: images of this prompt and parameters are stored already (409)."""

    def __init__(self, existing: list[str]) -> None:
        super().__init__(
            f"{len(existing)} stored image(s) have this prompt and these parameters already; "
            "send on_duplicate=reuse to get them or on_duplicate=generate to make new ones"
        )
        self.existing = existing


class CannotReproduce(Exception):
    """The record lacks what a reproduction needs (Ideogram never answered for it) (409)."""
