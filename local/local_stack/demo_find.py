"""`make demo`, "Find it again": search, curation, the storage report, export and pull, shown
through the command line against the running local stack.

Every step checks what it shows (the ids a search finds, a link's bytes, a rerun of `pull`
fetching nothing) and stops the demo with `DemoStepFailed` when it differs, so the demo cannot
go on printing something the product no longer does.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ideogram_assets.search.words import STOPWORDS, words
from local_stack.client import SigV4Auth
from local_stack.stack import LocalStack

COLUMNS = 100  # the terminal width the command line renders for
WIDTH = COLUMNS + 4  # printed lines (indent included) are cut here
_ID = re.compile(r"[0-9a-f]{32}")
_NEXT_PAGE = re.compile(r"^next page: --cursor (?P<cursor>\S+)$", re.MULTILINE)
# Report tables left out of the demo's transcript (`ideogram-assets report` prints them all).
_REPORT_TABLES_LEFT_OUT = ("by style", "by retention class")
_IMAGES_LISTED = 4

CAFE = "Café crème, latte art on a marble table"
BRULEE = "Crème brûlée, top view"
CROISSANT = "A croissant on a linen napkin"


class DemoStepFailed(Exception):
    """A step of the demo did not show what it says it shows."""


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise DemoStepFailed(failure)


def clip(line: str, width: int = WIDTH) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def command_lines(arguments: Sequence[str], width: int = WIDTH) -> list[str]:
    """`$ ideogram-assets ARGS` as a shell shows it: a long command is broken with `\\` between
    arguments, never between an option and its value."""
    quoted = [shlex.quote(argument) for argument in arguments]
    units: list[str] = []
    for argument in quoted:
        if units and units[-1].startswith("--") and " " not in units[-1] and not argument.startswith("-"):
            units[-1] += f" {argument}"
        else:
            units.append(argument)
    lines = ["  $ ideogram-assets"]
    for unit in units:
        if len(lines[-1]) + len(f" {unit} \\") > width:
            lines[-1] += " \\"
            lines.append(f"      {unit}")
        else:
            lines[-1] += f" {unit}"
    return lines


def leading_ids(output: str) -> list[str]:
    """Generation ids that start a line, in order: the rows of `generate` and `search` tables."""
    firsts = (line.split(maxsplit=1)[0] for line in output.splitlines() if line.strip())
    return [word for word in firsts if _ID.fullmatch(word)]


def without_tables(lines: list[str], titles: Sequence[str]) -> list[str]:
    """The report's lines without the tables of those titles (a title is a line that starts in
    the first column; its table's lines are indented or are its rule)."""
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line[:1] not in ("", " ", "─"):
            skipping = line.strip() in titles
        if not skipping:
            kept.append(line)
    if len(kept) < len(lines):
        kept.append(f"… ({', '.join(titles)}: left out here)")
    return kept


@dataclass(frozen=True)
class CliRun:
    stdout: str

    @property
    def ids(self) -> list[str]:
        return leading_ids(self.stdout)


class Cli:
    """Runs `ideogram-assets` in a working folder, as a user would, and prints the transcript."""

    def __init__(self, endpoints: Path, workdir: Path) -> None:
        self.workdir = workdir
        self.environment = {
            **os.environ,
            "IDEOGRAM_ASSETS_ENDPOINTS": str(endpoints),
            "COLUMNS": str(COLUMNS),
        }

    def run(
        self,
        *arguments: str,
        shown: Sequence[str] | None = None,
        edit: Callable[[list[str]], list[str]] | None = None,
    ) -> CliRun:
        """Runs the command, which must exit 0; `shown` is the command as printed (a long
        argument shortened), `edit` abridges its output for the transcript."""
        print("\n".join(command_lines(shown or arguments)))
        result = subprocess.run(  # noqa: S603 -- the project's own command, the demo's arguments
            [sys.executable, "-m", "ideogram_assets_cli", *arguments],
            cwd=self.workdir,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        lines = (result.stdout + result.stderr).splitlines()
        for line in edit(lines) if edit else lines:
            print(clip(f"    {line}".rstrip()))
        expect(
            result.returncode == 0,
            f"`ideogram-assets {shlex.join(arguments)}` exited {result.returncode}",
        )
        return CliRun(result.stdout)


def note(text: str) -> None:
    """A comment in the transcript, wrapped to the width."""
    print(textwrap.fill(text, WIDTH, initial_indent="  # ", subsequent_indent="  #   "))


def _word_only_magic_prompt_wrote(record: dict[str, Any], prompts: Sequence[str]) -> str:
    """The longest indexed word of the record's expanded prompt that no prompt of the demo has."""
    in_prompts = {word for prompt in prompts for word in words(prompt)}
    added = [
        word
        for word in words(record["expandedPrompt"] or "")
        if word not in in_prompts and word not in STOPWORDS and word.isalpha()
    ]
    expect(bool(added), f"Magic Prompt added no word to {record['prompt']!r}")
    return max(added, key=len)


def _short_link(lines: list[str]) -> list[str]:
    return [clip(line, 84) if line.startswith("https://") else line for line in lines]


def _files(folder: Path) -> dict[str, int]:
    """Every file under folder, relative, with its modification time."""
    return {
        str(path.relative_to(folder.parent)): path.stat().st_mtime_ns
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _show_tree(mirror: Path) -> None:
    files = _files(mirror)
    images = [name for name in files if name.endswith(".png")]
    print(f"  $ find {mirror.name} -type f")
    for name in [*(name for name in files if not name.endswith(".png")), *images[:_IMAGES_LISTED]]:
        print(clip(f"    {name}"))
    if len(images) > _IMAGES_LISTED:
        print(f"    … {len(images) - _IMAGES_LISTED} more .png files under {mirror.name}/images/")


def show_find(stack: LocalStack, root: Path) -> None:
    """The section itself; `root` is a scratch folder (the command line's working folder is in it)."""
    auth = SigV4Auth(stack.caller, stack.options.region)
    work = root / "work"
    work.mkdir()
    cli = Cli(stack.write_endpoints(root / "endpoints.json"), work)

    def record(generation_id: str) -> dict[str, Any]:
        reply = requests.get(f"{stack.api_url}/generations/{generation_id}", auth=auth, timeout=30)
        expect(reply.status_code == 200, f"GET /generations/{generation_id} -> {reply.status_code}")
        body: dict[str, Any] = reply.json()
        return body

    note("a few images with tags; Magic Prompt expands the first prompt only")
    cafe = cli.run(
        "generate", CAFE, *shlex.split("--num-images 2 --seed 777 --magic-prompt ON --tag menu --tag draft")
    ).ids
    brulee = cli.run("generate", BRULEE, *shlex.split("--magic-prompt OFF --tag menu")).ids
    croissant = cli.run(
        "generate",
        CROISSANT,
        *shlex.split("--model V_2 --speed TURBO --magic-prompt OFF --tag menu --tag draft"),
    ).ids
    expect(len(cafe) == 2 and len(brulee) == 1 and len(croissant) == 1, "generate showed no ids")
    menu = {*cafe, *brulee, *croissant}

    note("words: case, accents and punctuation do not matter")
    found = cli.run("search", "CAFE-CRÈME!").ids
    expect(set(found) == set(cafe), f"search CAFE-CRÈME! found {found}, not {cafe}")

    hero = record(cafe[0])
    added = _word_only_magic_prompt_wrote(hero, [CAFE, BRULEE, CROISSANT])
    expanded: str = hero["expandedPrompt"]
    addition = expanded.removeprefix(CAFE) if expanded.startswith(CAFE) else f" {expanded}"
    note(f'Magic Prompt expanded the first prompt with "…{addition}"')
    note(f'"{added}" is in no prompt, only there:')
    found = cli.run("search", added).ids
    others = menu - set(cafe)  # prompts Magic Prompt left alone
    expect(set(cafe) <= set(found) and not others & set(found), f"search {added} found {found}")
    if len(found) > len(cafe):
        note("an image from above too: Magic Prompt's AUTO, the default, expanded its prompt alike")

    note("tags (all must match), a seed, a model and a day")
    found = cli.run("search", "--tag", "menu", "--tag", "draft").ids
    expect(set(found) == {*cafe, *croissant}, f"search --tag menu --tag draft found {found}")
    seed = str(record(cafe[1])["seed"])
    found = cli.run("search", "--seed", seed).ids
    expect(found == [cafe[1]], f"search --seed {seed} found {found}")
    day = record(croissant[0])["createdAt"][:10]
    found = cli.run("search", "--model", "V_2", "--from", day, "--to", day).ids
    expect(found == croissant, f"search --model V_2 on {day} found {found}")

    note("newest first, a page at a time: the next page goes on from the cursor printed")
    first = cli.run("search", "--tag", "menu", "--limit", "2")
    cursor = _NEXT_PAGE.search(first.stdout)
    expect(cursor is not None, "search --limit 2 printed no next page")
    assert cursor is not None
    token = cursor["cursor"]
    next_page = ["search", "--tag", "menu", "--limit", "2", "--cursor"]
    second = cli.run(*next_page, token, shown=[*next_page, f"{token[:20]}…"])
    pages = [*first.ids, *second.ids]
    expect(len(pages) == len(set(pages)) and set(pages) == menu, f"two pages of menu held {pages}")

    note("curation: tags added and removed, a star; search sees it at once")
    cli.run("tag", cafe[0], "+hero", "-draft")
    cli.run("star", cafe[0])
    found = cli.run("search", "--tag", "hero", "--starred").ids
    expect(found == [cafe[0]], f"search --tag hero --starred found {found}")

    note("a fresh short-lived link to the stored image (without --print: opens the browser)")
    opened = cli.run("open", cafe[0], "--print", edit=_short_link)
    link = opened.stdout.strip()
    image = requests.get(link, timeout=30, verify=stack.aws.ca_bundle).content
    verified = hashlib.sha256(image).hexdigest() == hero["sha256"]
    expect(verified, f"the link of {cafe[0]} served other bytes")
    note(f"that link serves {len(image):,} bytes; their SHA-256 matches the record: {verified}")

    note("the storage report, read from counters kept as images are stored and deleted")
    cli.run("report", edit=lambda lines: without_tables(lines, _REPORT_TABLES_LEFT_OUT))

    note("the history as CSV (or JSON Lines), written to S3 by an export job, then saved here")
    cli.run("export", "--format", "csv", "--out", "history.csv")
    with (work / "history.csv").open(newline="", encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    expect(menu <= {row["id"] for row in rows}, "the export misses images of the demo")
    print("  $ head -3 history.csv")
    for line in (work / "history.csv").read_text(encoding="utf-8").splitlines()[:3]:
        print(clip(f"    {line}"))
    print(f"    … {len(rows)} records in all")

    note("a local mirror: every stored image, checked against its SHA-256, and generations.json")
    mirror = work / "mirror"
    cli.run("pull", mirror.name)
    _show_tree(mirror)
    before = _files(mirror)
    records = json.loads((mirror / "generations.json").read_text(encoding="utf-8"))
    stored = [item["id"] for item in records if item["status"] == "STORED"]
    images = [name for name in before if name.endswith(".png")]
    expect(len(images) == len(stored) and menu <= set(stored), f"the mirror holds {len(images)} images")
    note("run it again: every image is already there with its SHA-256, nothing is fetched")
    cli.run("pull", mirror.name)
    after = _files(mirror)
    unchanged = all(after.get(name) == modified for name, modified in before.items() if name in images)
    expect(unchanged and len(after) == len(before), "the second pull fetched images again")
