"""`tag ID +a -b c`: which tags to add and which to remove, as PATCH /generations/{id} takes them."""

from __future__ import annotations

from dataclasses import dataclass

from ideogram_assets_cli.errors import CliError
from ideogram_assets_cli.exit_codes import ExitCode


@dataclass(frozen=True)
class TagChanges:
    add: tuple[str, ...]
    remove: tuple[str, ...]

    def body(self) -> dict[str, list[str]]:
        """PATCH's `add_tags`/`remove_tags` (only those with a tag in them)."""
        body: dict[str, list[str]] = {}
        if self.add:
            body["add_tags"] = list(self.add)
        if self.remove:
            body["remove_tags"] = list(self.remove)
        return body


def parse_tag_changes(words: list[str]) -> TagChanges:
    """`+tag` adds, `-tag` removes, a bare `tag` adds. Tags are compared as the API stores them
    (lower case), so `+Sky -sky` is refused here rather than left to an order nobody can see."""
    add: dict[str, str] = {}
    remove: dict[str, str] = {}
    for word in words:
        sign, tag = (word[0], word[1:]) if word[:1] in ("+", "-") else ("+", word)
        if not tag:
            raise CliError(
                f"{word!r} names no tag: write +TAG to add it, -TAG to remove it", ExitCode.BAD_INPUT
            )
        (add if sign == "+" else remove).setdefault(tag.lower(), tag)
    both = sorted(set(add) & set(remove))
    if both:
        raise CliError(f"both added and removed: {', '.join(both)}", ExitCode.BAD_INPUT)
    if not add and not remove:
        raise CliError("name a change: +TAG to add a tag, -TAG to remove one", ExitCode.BAD_INPUT)
    return TagChanges(add=tuple(add.values()), remove=tuple(remove.values()))
