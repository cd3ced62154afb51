"""The demo's transcript helpers: which ids a command printed, and how output is abridged."""

from __future__ import annotations

from local_stack.demo_find import WIDTH, clip, command_lines, leading_ids, without_tables

SEARCH_OUTPUT = """\
96f95ad85ae94722953e35728110ac65  2026-11-27 04:57  STORED  V_3  seed 778
  1024x1024 14.2 KiB  draft, menu  Café crème, latte art on a marble table
6a26ac4ceac64e499ed6faa2a402baa0  2026-11-27 04:57  STORED  V_3  seed 777
  1024x1024 8.0 KiB  draft, menu  Café crème, latte art on a marble table
2 generations
next page: --cursor eyJ2IjoxfQ.96f95ad85ae94722953e35728110ac65
"""

GENERATE_OUTPUT = """\
id                                status  model  seed  size                sha256    link
─────────────────────────────────────────────────────────────────────────────────────────
6a26ac4ceac64e499ed6faa2a402baa0  STORED  V_3     777  1024x1024 8.0 KiB   bb25513e  open
request ec6d5b8095784f6eb0ec78a12b2e0ba4, complete
"""

REPORT_LINES = [
    "storage report at 2026-11-27T04:57:31.955Z",
    "totals",
    "              records      images",
    "─────────────────────────────────",
    " total             13          12",
    "by style",
    "              records      images",
    "─────────────────────────────────",
    " GENERAL           13          12",
    "by tag",
    "              records      images",
    "─────────────────────────────────",
    " menu               4           4",
    "images per month",
    "2026-11 ████████████ 12",
]


def test_leading_ids_are_the_rows_of_a_search_in_order_not_the_cursor() -> None:
    assert leading_ids(SEARCH_OUTPUT) == [
        "96f95ad85ae94722953e35728110ac65",
        "6a26ac4ceac64e499ed6faa2a402baa0",
    ]


def test_leading_ids_of_generate_are_the_images_not_the_request() -> None:
    assert leading_ids(GENERATE_OUTPUT) == ["6a26ac4ceac64e499ed6faa2a402baa0"]


def test_without_tables_drops_a_table_whole_and_says_so() -> None:
    kept = without_tables(REPORT_LINES, ("by style",))
    assert kept == [
        *REPORT_LINES[:5],
        *REPORT_LINES[9:],
        "… (by style: left out here)",
    ]


def test_without_tables_keeps_everything_when_no_title_matches() -> None:
    assert without_tables(REPORT_LINES, ("by colour",)) == REPORT_LINES


def test_clip_cuts_long_lines_to_the_width_with_an_ellipsis() -> None:
    assert clip("short") == "short"
    cut = clip("x" * (WIDTH + 10))
    assert len(cut) == WIDTH
    assert cut.endswith("…")


def test_command_lines_break_a_long_command_between_arguments_never_inside_an_option() -> None:
    arguments = ["generate", "Café crème, latte art", "--num-images", "2", "--tag", "menu", "--tag", "draft"]
    lines = command_lines(arguments, width=60)
    assert lines == [
        "  $ ideogram-assets generate 'Café crème, latte art' \\",
        "      --num-images 2 --tag menu --tag draft",
    ]
    assert all(len(line) <= 60 for line in lines)


def test_command_lines_keep_a_short_command_on_one_line() -> None:
    assert command_lines(["tag", "6a26ac4ceac64e499ed6faa2a402baa0", "+hero", "-draft"]) == [
        "  $ ideogram-assets tag 6a26ac4ceac64e499ed6faa2a402baa0 +hero -draft"
    ]
