"""Issue 4's hostile inputs, one row each, every row through a real build of a site under tmp_path.

Every row states its outcome: the seed is published with this exact text, or skipped with this
`path:line: reason`, or it is not a seed at all (never read, never published: a warning), or it
waits for its date. For every row the other seeds are published, every feed document is
well-formed XML that feedparser reads without bozo, and no file in seeds/ changed, bytes or time.
"""

from __future__ import annotations

import html
import json
import logging
import os
import random
import shutil
import socket
import sqlite3
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import feedpub.build
from feedpub.build import BuildReport, build_once
from feedpub.errors import ConfigError, OutputError
from feedpub.model import entry_id
from feedpub.scan import Tree, scan_tree
from tests.conftest import FEED_ID, FIXED_NOW, Site
from tests.hostile import (
    check_feeds,
    deadline,
    file_states,
    run_publisher,
    unprivileged_prefix,
)

MiB = 1 << 20
SITE_FILES = {"publisher.toml", "seeds", "feeds", ".publisher"}
FEED_FILES = {"atom.xml", "rss.xml", "feed.json", "index.html", "archive", "articles", "tags"}
OTHERS = {"other-1": "Other one", "other-2": "Other two"}


# -- outcomes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """In every feed with exactly this title (and this content HTML, and this date, if given)."""

    title: str
    content: str | None = None
    published: datetime | None = None
    warning: str | None = None  # a warning naming the seed says this


@dataclass(frozen=True)
class Skipped:
    """Not in any feed; the build reports this `path:line: reason` (a substring of it)."""

    error: str


@dataclass(frozen=True)
class NotASeed:
    """Never read, never published, no error; a warning says why (None: silently, as it should)."""

    warning: str | None


@dataclass(frozen=True)
class Waiting:
    """A good seed dated in the future: indexed, not published, no error."""


Outcome = Published | Skipped | NotASeed | Waiting
Make = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    item: int  # the numbered list of inputs in issue 4
    name: str
    make: Make  # puts the hostile seeds into seeds/
    expect: dict[str, Outcome]  # by slug
    between: Make | None = None  # runs after the scan and before the seeds are read
    config: str = ""
    unprivileged: bool = False  # file permissions must apply: root's are dropped for the build
    ids: list[str] = field(default_factory=list)


def seed(data: bytes | str, name: str = "x.txt") -> Make:
    def make(seeds: Path) -> None:
        path = seeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    return make


def seeds(*makes: Make) -> Make:
    def make(folder: Path) -> None:
        for one in makes:
            one(folder)

    return make


def date_case(date: str, outcome: Outcome, config: str = "") -> Case:
    return Case(5, date, seed(f"date {date} Dated\n\nBody.\n"), {"x": outcome}, config=config)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- the setups of item 12 -------------------------------------------------------------------------

GOOD = "date 2024-05-01 Good\n\nBody.\n"
OUTSIDE_FILE = "/etc/passwd"


def symlink(target: str, name: str = "x.txt") -> Make:
    def make(seeds: Path) -> None:
        os.symlink(target, seeds / name)

    return make


def outside_folder(seeds: Path) -> None:
    """A folder beside seeds/ holding a seed that must never be published through a link."""
    outside = seeds.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "x.txt").write_text("date 2024-01-01 LEAKED\n", encoding="utf-8")


def link_to_outside_folder(seeds: Path) -> None:
    outside_folder(seeds)
    os.symlink(seeds.parent / "outside", seeds / "sub")


def fifo(seeds: Path) -> None:
    os.mkfifo(seeds / "x.txt")


def unix_socket(seeds: Path) -> None:
    cwd = os.getcwd()
    os.chdir(seeds)  # a socket's path is limited to about 100 bytes: bind a relative one
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("x.txt")
    finally:
        os.chdir(cwd)


def unreadable(seeds: Path) -> None:
    seed(GOOD)(seeds)
    (seeds / "x.txt").chmod(0)


def sparse(size: int) -> Make:
    def make(seeds: Path) -> None:
        with (seeds / "x.txt").open("wb") as file:
            file.write(b"date 2024-01-01 Huge\n\n")
            file.truncate(size)

    return make


def swap_for(replace: Make) -> Make:
    """Between scan and read: seeds/x.txt is taken away and `replace` puts something there."""

    def between(seeds: Path) -> None:
        (seeds / "x.txt").unlink()
        replace(seeds)

    return between


def swap_folder_for_link(seeds: Path) -> None:
    outside_folder(seeds)
    (seeds / "sub").rename(seeds / "sub-was")
    os.symlink(seeds.parent / "outside", seeds / "sub")


def grow(size: int) -> Make:
    def between(seeds: Path) -> None:
        with (seeds / "x.txt").open("ab") as file:
            file.write(b"x" * size)

    return between


def replace_with(text: str) -> Make:
    def between(seeds: Path) -> None:
        (seeds / "new.tmp").write_text(text, encoding="utf-8")
        (seeds / "new.tmp").replace(seeds / "x.txt")

    return between


def not_utf8_name(seeds: Path) -> None:
    with open(os.fsencode(seeds) + b"/caf\xe9.txt", "wb") as file:
        file.write(GOOD.encode())


# -- the table -------------------------------------------------------------------------------------

MARKUP = "<script>alert(1)</script> </p> ]]> &amp; &#0; <![CDATA[x]]> <b>bold</b>"
WORLD = (  # a family of joined emoji, a combining accent, Hebrew, Arabic, an override, joiners
    "\U0001f469\u200d\U0001f469\u200d\U0001f467 Cafe\u0301 \u05e9\u05dc\u05d5\u05dd"
    " \u0645\u0631\u062d\u0628\u0627 \u202eRTL\u202c a\u200db\u200cc"
    " \u263a\ufe0f \U0001f1f3\U0001f1f5"
)
CONTROLS = "A\x00B\x01C\x0bD\x0cE\x1fF\ufffeG\uffffH\x85I\x9fJ\x7fK"
RANDOM = random.Random(4).randbytes(64 * 1024)  # noqa: S311 - test data
TITLE_100K = "T" * 99_999 + "\u00e9"
DIVS = "<div>" * 5000  # as many tags as a Markdown seed may hold
PARAGRAPH_1MIB = "date 2024-01-01 Long\n\n" + "w" * (MiB - 23) + "\n"  # exactly 1 MiB in all
assert len(PARAGRAPH_1MIB.encode()) == MiB


def utf16(text: str, codec: str) -> bytes:
    bom = b"\xff\xfe" if codec == "utf-16-le" else b"\xfe\xff"
    return bom + text.encode(codec)


CASES = [
    # 1. bytes that are not UTF-8: refused at the first bad byte, with its offset
    Case(1, "latin-1", seed(b"date 2024-01-01 Caf\xe9\n"),
         {"x": Skipped("seeds/x.txt:1: not UTF-8: byte 0xe9 at offset 19")}),
    Case(1, "windows-1252-quotes", seed(b"date 2024-01-01 Q\n\n\x93quoted\x94\n"),
         {"x": Skipped("seeds/x.txt:3: not UTF-8: byte 0x93 at offset 19")}),
    Case(1, "bom-then-latin-1", seed(b"\xef\xbb\xbfdate 2024-01-01 Caf\xe9\n"),
         {"x": Skipped("seeds/x.txt:1: not UTF-8: byte 0xe9 at offset 22")}),
    Case(1, "overlong-encoding", seed(b"date 2024-01-01 A\xc0\xafB\n"),
         {"x": Skipped("seeds/x.txt:1: not UTF-8: byte 0xc0 at offset 17")}),
    # 2. UTF-16 with a BOM, UTF-8 with a BOM, CRLF and CR line ends
    Case(2, "utf-16-le",
         seed(utf16("date 2024-01-01 Gr\u00fc\u00dfe\r\n\r\nBody.\r\n", "utf-16-le")),
         {"x": Published("Gr\u00fc\u00dfe", "<p>Body.</p>")}),
    Case(2, "utf-16-be", seed(utf16("date 2024-01-01 Gr\u00fc\u00dfe\n\nBody.\n", "utf-16-be")),
         {"x": Published("Gr\u00fc\u00dfe", "<p>Body.</p>")}),
    Case(2, "utf-16-odd-length", seed(utf16("date 2024-01-01 A\n", "utf-16-le") + b"x"),
         {"x": Skipped("seeds/x.txt:1: bad UTF-16 at offset")}),
    Case(2, "utf-8-bom", seed(b"\xef\xbb\xbfdate 2024-01-01 Bom\n\nBody.\n"),
         {"x": Published("Bom", "<p>Body.</p>")}),
    Case(2, "crlf", seed(b"date 2024-01-01 Crlf\r\n\r\nOne\r\ntwo.\r\n\r\nThree.\r\n"),
         {"x": Published("Crlf", "<p>One two.</p>\n<p>Three.</p>")}),
    Case(2, "lone-cr", seed(b"date 2024-01-01 Cr\r\rOne\rtwo.\r\rThree.\r"),
         {"x": Published("Cr", "<p>One two.</p>\n<p>Three.</p>")}),
    # 3. empty, whitespace, a date line alone, a date line without a title
    Case(3, "empty", seed(b""), {"x": Skipped("seeds/x.txt:1: empty seed")}),
    Case(3, "whitespace", seed(b" \t\r\n\n  \n"), {"x": Skipped("seeds/x.txt:1: empty seed")}),
    Case(3, "date-line-only", seed("date 2024-01-01 Title alone"),
         {"x": Published("Title alone", "Title alone")}),  # feed.json: content_text
    Case(3, "date-without-title", seed("date 2024-01-01   \n\nBody.\n"),
         {"x": Skipped("seeds/x.txt:1: missing title after the date")}),
    Case(3, "date-word-only", seed("date\n"),
         {"x": Skipped("seeds/x.txt:1: expected 'date <DATE> <TITLE>', found 'date'")}),
    # 4. the `date` word
    Case(4, "no-date-word", seed("2024-01-01 Title\n"),
         {"x": Skipped("seeds/x.txt:1: expected 'date <DATE> <TITLE>'")}),
    Case(4, "Date", seed("Date 2024-01-01 Capital\n"), {"x": Published("Capital")}),
    Case(4, "DATE", seed("DATE 2024-01-01 Shout\n"), {"x": Published("Shout")}),
    Case(4, "tabs-and-spaces", seed("date \t 2024-01-01 \t\t Spaced  out \t\n"),
         {"x": Published("Spaced  out", published=at(2024, 1, 1))}),
    Case(4, "leading-blank-line", seed("\ndate 2024-01-01 Late\n"),
         {"x": Skipped("seeds/x.txt:1: expected 'date <DATE> <TITLE>', found ''")}),
    # 5. dates
    date_case("2023-02-30", Skipped("seeds/x.txt:1: bad date '2023-02-30' (day is out of range")),
    date_case("2023-13-01", Skipped("seeds/x.txt:1: bad date '2023-13-01' (month must be in")),
    date_case("2023-12-22T24:61", Skipped("seeds/x.txt:1: bad date '2023-12-22T24:61'")),
    date_case("22 Dec 2023 24:61 +0000", Skipped("seeds/x.txt:1: bad date '22 Dec 2023 24:61")),
    date_case("0001-01-01", Skipped("seeds/x.txt:1: date before 1990 '0001-01-01'")),
    date_case("1969-07-20T20:17:40Z", Skipped("seeds/x.txt:1: date before 1990")),
    date_case("1989-12-31T23:59:59Z", Skipped("seeds/x.txt:1: date before 1990")),
    date_case("1990-01-01", Published("Dated", published=at(1990, 1, 1))),
    date_case("9999-12-31", Waiting()),
    date_case("9999-12-31T23:00:00-05:00", Skipped("seeds/x.txt:1: date out of range")),
    date_case("2023-12-22T09:30:00+05:45", Published("Dated", published=at(2023, 12, 22, 3, 45))),
    date_case("2023-12-22T09:30:00-03:30", Published("Dated", published=at(2023, 12, 22, 13, 0))),
    date_case("2023-12-22T09:30:00Z", Published("Dated", published=at(2023, 12, 22, 9, 30))),
    date_case("2023-12-22T09:30", Published("Dated", published=at(2023, 12, 22, 9, 30))),
    date_case("2023-12-22T09:30", Published("Dated", published=at(2023, 12, 22, 13, 0)),
              config='timezone = "America/St_Johns"\n'),
    date_case("Fri, 22 Dec 2023 09:30:00 EST",
              Published("Dated", published=at(2023, 12, 22, 14, 30))),
    date_case("Fri, 22 Dec 2023 09:30:00 GMT",
              Published("Dated", published=at(2023, 12, 22, 9, 30))),
    date_case("22 Dec 2023 09:30 UT", Published("Dated", published=at(2023, 12, 22, 9, 30))),
    date_case("Mon, 22 Dec 2023 09:30:00 +0000", Published(
        "Dated", published=at(2023, 12, 22, 9, 30),
        warning="seeds/x.txt:1: day name 'Mon' does not match 2023-12-22, a Friday;"
                " the date is used",
    )),
    date_case("Fri, 22 Dec 23 09:30:00 GMT", Skipped("seeds/x.txt:1: bad date")),
    date_case("Fri, 22 Dec 2023 09:30:00 A", Skipped("seeds/x.txt:1: bad date")),
    # 6. characters XML 1.0 forbids, and C1 controls: removed, with a warning
    Case(6, "controls-in-title", seed(f"date 2024-01-01 {CONTROLS}\n"), {"x": Published(
        "ABCDEFGHIJK",
        warning="seeds/x.txt:1: removed 10 character(s) not allowed in feeds, first '\\x00'",
    )}),
    Case(6, "controls-in-body", seed("date 2024-01-01 T\n\nx\x00y\x02z\x9f.\n"), {"x": Published(
        "T", "<p>xyz.</p>",
        warning="seeds/x.txt:3: removed 3 character(s) not allowed in feeds, first '\\x00'",
    )}),
    Case(6, "surrogate-in-utf-8", seed(b"date 2024-01-01 A\xed\xa0\x80B\n"), {"x": Published(
        "AB", warning="seeds/x.txt:1: removed 1 character(s) not allowed in feeds, first '\\ud800'"
    )}),
    Case(6, "lone-surrogate-in-utf-16",
         seed(b"\xff\xfe" + "date 2024-01-01 A".encode("utf-16-le") + b"\x00\xdcB\x00\n\x00"),
         {"x": Published("AB", warning="first '\\udc00'")}),
    # 7. markup: text in every reader, never markup
    Case(7, "markup", seed(f"date 2024-01-01 {MARKUP}\n\n{MARKUP}\n"),
         {"x": Published(MARKUP, f"<p>{html.escape(MARKUP, quote=False)}</p>")}),
    Case(7, "entity-lookalikes", seed("date 2024-01-01 &lt;&#x3C;&#60; &nbsp;\n"),
         {"x": Published("&lt;&#x3C;&#60; &nbsp;")}),
    # 8. huge seeds
    Case(8, "title-100k-chars", seed(f"date 2024-01-01 {TITLE_100K}\n"),
         {"x": Published(TITLE_100K)}),
    Case(8, "paragraph-1-mib-at-the-limit", seed(PARAGRAPH_1MIB),
         {"x": Published("Long", f"<p>{'w' * (MiB - 23)}</p>")}),
    Case(8, "one-byte-over-the-limit", seed(PARAGRAPH_1MIB + "w"),
         {"x": Skipped("seeds/x.txt:1: too large: 1048577 bytes, the limit is 1048576")}),
    Case(8, "sparse-8-gib", sparse(8 << 30),
         {"x": Skipped("seeds/x.txt:1: too large: 8589934592 bytes, the limit is 1048576")}),
    Case(8, "configured-limit", seed(GOOD + "x" * 100), {"x": Skipped("too large: 128 bytes")},
         config="max_seed_bytes = 100\n"),
    Case(8, "markdown-of-nested-html", seed(f"date 2024-01-01 Deep\n\n{DIVS * 40}\n", "x.md"),
         {"x": Skipped("seeds/x.md:3: more than 5000 HTML tags: too many to sanitize in time")}),
    Case(8, "markdown-at-the-tag-limit", seed(f"date 2024-01-01 Deep\n\n{DIVS}x\n", "x.md"),
         {"x": Published("Deep")}),
    # 9. binary files named .txt
    Case(9, "png", seed(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + RANDOM[:200]),
         {"x": Skipped("seeds/x.txt:1: not UTF-8: byte 0x89 at offset 0")}),
    Case(9, "jpeg", seed(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + RANDOM[:200]),
         {"x": Skipped("seeds/x.txt:1: not UTF-8: byte 0xff at offset 0")}),
    Case(9, "gzip", seed(b"\x1f\x8b\x08\x00" + RANDOM[:200]),
         {"x": Skipped("seeds/x.txt:1: not UTF-8: byte 0x8b at offset 1")}),
    Case(9, "pdf", seed(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + RANDOM[:200]),
         {"x": Skipped("seeds/x.txt:2: not UTF-8: byte 0xe2 at offset 10")}),
    Case(9, "random-bytes", seed(RANDOM), {"x": Skipped("seeds/x.txt:1: not UTF-8: byte")}),
    Case(9, "utf-16-bom-then-random", seed(b"\xff\xfe" + RANDOM[:999]),
         {"x": Skipped("seeds/x.txt:1: bad UTF-16 at offset")}),
    Case(9, "zeros", seed(bytes(4096)), {"x": Skipped("seeds/x.txt:1: empty seed")}),
    # 10. emoji, combining marks, right-to-left text, joiners: kept exactly
    Case(10, "world", seed(f"date 2024-01-01 {WORLD}\n\n{WORLD}\n"),
         {"x": Published(WORLD, f"<p>{WORLD}</p>")}),
    # 11. slugs that differ by case or Unicode normalization: all published, distinct ids
    Case(11, "case-and-normalization", seeds(
        seed("date 2024-01-01 NFC\n", unicodedata.normalize("NFC", "Caf\u00e9.txt")),
        seed("date 2024-01-02 NFD\n", unicodedata.normalize("NFD", "Caf\u00e9.txt")),
        seed("date 2024-01-03 lower\n", "note.txt"),
        seed("date 2024-01-04 Title\n", "Note.txt"),
        seed("date 2024-01-05 UPPER\n", "NOTE.txt"),
    ), {
        unicodedata.normalize("NFC", "Caf\u00e9"): Published("NFC"),
        unicodedata.normalize("NFD", "Caf\u00e9"): Published("NFD"),
        "note": Published("lower"), "Note": Published("Title"), "NOTE": Published("UPPER"),
    }),
    # names: nothing in a file name is run, read elsewhere or written outside feeds/
    Case(11, "shell-and-url-names", seeds(
        seed("date 2024-01-01 Dollar\n", "$(touch pwned).txt"),
        seed("date 2024-01-01 Dash\n", "-rf.txt"),
        seed("date 2024-01-01 Percent\n", "%2e%2e%2fetc.txt"),
        seed("date 2024-01-01 Newline\n", "new\nline.txt"),
        seed("date 2024-01-01 Query\n", "a?b#c&d.txt"),
    ), {
        "$(touch pwned)": Published("Dollar"), "-rf": Published("Dash"),
        "%2e%2e%2fetc": Published("Percent"), "new\nline": Published("Newline"),
        "a?b#c&d": Published("Query"),
    }),
    Case(11, "backslash-name", seed(GOOD, "a\\..\\evil.txt"), {"a\\..\\evil": Skipped(
        "seeds/a\\..\\evil.txt:1: file name cannot be published: no safe page path"
    )}),
    Case(11, "name-too-long-for-its-page", seed(GOOD, "n" * 251 + ".txt"), {"n" * 251: Skipped(
        ".txt:1: file name cannot be published: too long for its page (255 bytes at most)"
    )}),
    Case(11, "dot-names-are-hidden", seeds(seed(GOOD, "..txt"), seed(GOOD, "...txt")),
         {".": NotASeed(None), "..": NotASeed(None)}),
    Case(11, "name-not-utf-8", not_utf8_name,
         {"caf\udce9": NotASeed("skipped: the file name is not UTF-8")}),
    # 12. links, folders, FIFOs, sockets, permissions, races
    Case(12, "link-to-etc-passwd", symlink(OUTSIDE_FILE),
         {"x": NotASeed("x.txt: skipped: symbolic links in seeds/ are not followed")}),
    Case(12, "link-to-another-seed", seeds(seed(GOOD, "real.txt"), symlink("real.txt")),
         {"x": NotASeed("symbolic links in seeds/ are not followed"), "real": Published("Good")}),
    Case(12, "link-loop", symlink("x.txt"),
         {"x": NotASeed("x.txt: skipped: symbolic links in seeds/ are not followed")}),
    Case(12, "dangling-link", symlink("nowhere.txt"),
         {"x": NotASeed("symbolic links in seeds/ are not followed")}),
    Case(12, "link-to-a-folder-outside", link_to_outside_folder,
         {"sub/x": NotASeed("sub: skipped: symbolic links in seeds/ are not followed")}),
    Case(12, "folder-named-x.txt", seed(GOOD, "x.txt/y.txt"), {"x.txt/y": Published("Good")}),
    Case(12, "fifo", fifo, {"x": NotASeed("x.txt: skipped: not a regular file")}),
    Case(12, "socket", unix_socket, {"x": NotASeed("x.txt: skipped: not a regular file")}),
    Case(12, "no-read-permission", unreadable,
         {"x": Skipped("seeds/x.txt:1: cannot read: Permission denied")}, unprivileged=True),
    Case(12, "deleted-after-the-scan", seed(GOOD), {"x": NotASeed(None)},
         between=lambda seeds: (seeds / "x.txt").unlink()),
    Case(12, "replaced-after-the-scan", seed(GOOD),
         {"x": Published("Replacement", "<p>New body.</p>")},
         between=replace_with("date 2024-05-02 Replacement\n\nNew body.\n")),
    Case(12, "swapped-for-a-link-to-etc-passwd-after-the-scan", seed(GOOD),
         {"x": Skipped("seeds/x.txt:1: a symbolic link: not followed")},
         between=swap_for(symlink(OUTSIDE_FILE))),
    Case(12, "swapped-for-a-fifo-after-the-scan", seed(GOOD),
         {"x": Skipped("seeds/x.txt:1: not a regular file")}, between=swap_for(fifo)),
    Case(12, "swapped-for-a-folder-after-the-scan", seed(GOOD),
         {"x": Skipped("seeds/x.txt:1: not a regular file")},
         between=swap_for(lambda seeds: (seeds / "x.txt").mkdir())),
    Case(12, "folder-swapped-for-a-link-after-the-scan", seed(GOOD, "sub/x.txt"),
         {"sub/x": Skipped("seeds/sub/x.txt:1: a symbolic link: not followed")},
         between=swap_folder_for_link),
    Case(12, "grown-past-the-limit-after-the-scan", seed(GOOD),
         {"x": Skipped("seeds/x.txt:1: too large: 1028 bytes, the limit is 1000")},
         between=grow(1000), config="max_seed_bytes = 1000\n"),
]  # fmt: skip


def case_id(case: Case) -> str:
    return f"{case.item}-{case.name}"


# -- running a row ---------------------------------------------------------------------------------


@dataclass
class Result:
    errors: list[str]
    notes: list[str]  # warnings: the report's and the log's
    atom: Any
    rss: Any
    json: dict[str, Any]
    rss_titles: dict[str, str]  # by guid, as the XML says


@pytest.fixture
def hostile_site(site: Site) -> Site:
    for slug, title in OTHERS.items():
        site.write(slug, f"date 2024-02-01 {title}\n\nUntouched by what is beside it.\n")
    return site


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_hostile_input(
    hostile_site: Site,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = hostile_site
    if case.config:
        site.configure(case.config)
    case.make(site.seeds)
    before = file_states(site.seeds)
    if case.between is not None:
        before = _hook_between_scan_and_read(site, case.between, monkeypatch)
    with caplog.at_level(logging.WARNING), deadline(60):
        result = _build(site, case, caplog)
    assert file_states(site.seeds) == before  # nothing in seeds/ changed, bytes or times
    for slug, title in OTHERS.items():
        _check_published(result, slug, Published(title))
    for slug, outcome in case.expect.items():
        _check_outcome(site, result, slug, outcome)
    published = len(OTHERS) + sum(isinstance(o, Published) for o in case.expect.values())
    assert len(result.atom.entries) == len(result.rss.entries) == published
    assert check_feeds(site.feeds) >= 7
    # Nothing written outside feeds/ and .publisher/; nothing run ("$(touch pwned).txt").
    assert {p.name for p in site.root.iterdir()} <= {*SITE_FILES, "outside"}
    assert not list(site.root.rglob("pwned"))
    assert {p.relative_to(site.feeds).parts[0] for p in site.feeds.iterdir()} <= FEED_FILES
    if case.between is None and not case.unprivileged:
        assert site.build().written == []  # and it stays put: a second build writes nothing


def _hook_between_scan_and_read(
    site: Site, between: Callable[[Path], None], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Make the build run `between` after its scan; return what seeds/ holds after that."""
    states: dict[str, Any] = {}
    real = scan_tree

    def scan_then_meddle(seeds_dir: Path, *, stats: bool = False) -> Tree:
        tree = real(seeds_dir, stats=stats)
        monkeypatch.setattr(feedpub.build, "scan_tree", real)  # once
        between(seeds_dir)
        states.update(file_states(seeds_dir))
        return tree

    monkeypatch.setattr(feedpub.build, "scan_tree", scan_then_meddle)
    return states


def _build(site: Site, case: Case, caplog: pytest.LogCaptureFixture) -> Result:
    if case.unprivileged:
        prefix = unprivileged_prefix()
        if prefix is None:
            pytest.skip("file permissions cannot apply here: root, and setpriv cannot drop them")
        process = run_publisher("build", cwd=site.root, prefix=prefix)
        assert process.returncode in (0, 1), process.stderr
        lines = [line.removeprefix("publisher: ") for line in process.stderr.splitlines()]
        errors, notes = lines, lines
    else:
        report: BuildReport = build_once(site.config(), now=FIXED_NOW)
        errors = report.errors
        notes = report.warnings + [record.getMessage() for record in caplog.records]
    return Result(
        errors=errors,
        notes=notes,
        atom=site.atom(),
        rss=site.rss(),
        json=json.loads((site.feeds / "feed.json").read_bytes()),
        rss_titles=_rss_titles(site.feeds / "rss.xml"),
    )


def _rss_titles(path: Path) -> dict[str, str]:
    items = etree.fromstring(path.read_bytes()).iterfind("channel/item")
    return {item.findtext("guid") or "": item.findtext("title") or "" for item in items}


def _entry(entries: list[Any], slug: str, key: str = "id") -> Any:
    try:
        wanted = entry_id(FEED_ID, slug)
    except UnicodeEncodeError:
        return None  # a file name that is not UTF-8: no slug, no entry
    found = [entry for entry in entries if entry[key] == wanted]
    assert len(found) <= 1
    return found[0] if found else None


def _check_published(result: Result, slug: str, outcome: Published) -> None:
    atom, rss = _entry(result.atom.entries, slug), _entry(result.rss.entries, slug)
    item = _entry(result.json["items"], slug)
    assert atom is not None, f"{slug!r} not in atom.xml"
    assert rss is not None, f"{slug!r} not in rss.xml"
    assert item is not None, f"{slug!r} not in feed.json"
    assert html.unescape(atom.title) == outcome.title
    # RSS cannot say that a title is text, so readers guess (feedparser normalises what looks
    # like an entity reference): the XML text itself is what must be exact.
    assert result.rss_titles[rss.id] == outcome.title
    assert item["title"] == outcome.title
    if outcome.content is not None:
        assert item.get("content_html", item.get("content_text")) == outcome.content
        if "content_html" in item:
            assert html.unescape(atom.content[0].value) == html.unescape(outcome.content)
    if outcome.published is not None:
        assert item["date_published"].startswith(outcome.published.strftime("%Y-%m-%dT%H:%M:%S"))
        assert atom.published_parsed[:6] == outcome.published.timetuple()[:6]
        assert rss.published_parsed[:6] == outcome.published.timetuple()[:6]


def _check_outcome(site: Site, result: Result, slug: str, outcome: Outcome) -> None:
    if isinstance(outcome, Published):
        _check_published(result, slug, outcome)
        if outcome.warning:
            assert any(outcome.warning in note for note in result.notes), result.notes
        return
    for entries in (result.atom.entries, result.rss.entries):
        assert _entry(entries, slug) is None, f"{slug!r} published"
    assert _entry(result.json["items"], slug) is None
    if isinstance(outcome, Skipped):
        assert any(outcome.error in error for error in result.errors), result.errors
    elif isinstance(outcome, NotASeed):
        assert not any(slug in error for error in result.errors), result.errors
        if outcome.warning:
            assert any(outcome.warning in note for note in result.notes), result.notes
    else:
        assert result.errors == []
        with sqlite3.connect(site.root / ".publisher" / "state.sqlite3") as db:
            row = db.execute("SELECT published FROM seed WHERE slug = ?", (slug,)).fetchone()
        db.close()
        assert row is not None
        assert row[0] is not None


# -- 13. the folders themselves --------------------------------------------------------------------


@dataclass(frozen=True)
class SiteCase:
    """A site built once; then `spoil` breaks a folder, a seed is added, and a build runs."""

    name: str
    spoil: Make  # given the site's root
    repair: Make
    exit_code: int  # of the build after `spoil`
    message: str  # on its stderr (or in its error)
    entries: int | None = None  # in atom.xml after that build, when it succeeds
    unprivileged: bool = False


def _move(source: str, target: str) -> Make:
    def move(root: Path) -> None:
        (root / source).rename(root / target)

    return move


def _chmod(name: str, mode: int) -> Make:
    return lambda root: (root / name).chmod(mode)


def _replace_with_file(name: str) -> Make:
    def spoil(root: Path) -> None:
        (root / name).rename(root / f"{name}-away")
        (root / name).write_text("not a folder\n", encoding="utf-8")

    return spoil


def _put_back(name: str) -> Make:
    def repair(root: Path) -> None:
        (root / name).unlink()
        (root / f"{name}-away").rename(root / name)

    return repair


def _empty_seeds(root: Path) -> None:
    (root / "seeds").rename(root / "seeds-away")
    (root / "seeds").mkdir()


def _refill_seeds(root: Path) -> None:
    (root / "seeds").rmdir()
    (root / "seeds-away").rename(root / "seeds")


def _nothing(root: Path) -> None:
    pass


SITE_CASES = [
    SiteCase("seeds-missing", _move("seeds", "seeds-away"), _move("seeds-away", "seeds"),
             2, "seeds: the seeds folder does not exist"),
    SiteCase("seeds-not-a-folder", _replace_with_file("seeds"), _put_back("seeds"),
             2, "seeds: the seeds folder is not a folder"),
    SiteCase("seeds-cannot-be-listed", _chmod("seeds", 0o311), _chmod("seeds", 0o755),
             2, "seeds: the seeds folder cannot be listed", unprivileged=True),
    SiteCase("seeds-empty", _empty_seeds, _refill_seeds, 0, "0 new, 0 updated, 4 removed",
             entries=0),
    SiteCase("subfolder-cannot-be-listed", _chmod("seeds/sub", 0o311), _chmod("seeds/sub", 0o755),
             0, "seeds/sub: cannot list folder: Permission denied", entries=5, unprivileged=True),
    SiteCase("feeds-missing", lambda root: shutil.rmtree(root / "feeds"), _nothing,
             0, "1 new, 0 updated, 0 removed", entries=5),
    SiteCase("feeds-is-a-file", _replace_with_file("feeds"), _put_back("feeds"),
             3, "feeds/articles/new.html: cannot write: Not a directory"),
    SiteCase("feeds-not-writable", _chmod("feeds", 0o555), _chmod("feeds", 0o755),
             3, "feeds/atom.xml: cannot write: Permission denied", unprivileged=True),
]  # fmt: skip


@pytest.mark.parametrize("case", SITE_CASES, ids=lambda case: case.name)
def test_broken_folders_give_a_clear_error_and_lose_nothing(
    hostile_site: Site, case: SiteCase, caplog: pytest.LogCaptureFixture
) -> None:
    site = hostile_site
    site.write("sub/a", "date 2024-03-01 In a subfolder\n")
    site.write("sub/b", "date 2024-03-02 Also in a subfolder\n")
    site.build()
    old_feeds = file_states(site.feeds, folder_times=False)
    site.write("new", "date 2024-04-01 New since the last build\n")
    case.spoil(site.root)
    old_seeds = file_states(site.seeds) if site.seeds.is_dir() else None
    with caplog.at_level(logging.INFO):
        code, message = _build_site(site, unprivileged=case.unprivileged, caplog=caplog)
    assert code == case.exit_code, message
    assert case.message in message
    assert "Traceback" not in message
    if old_seeds is not None:
        assert file_states(site.seeds) == old_seeds
    if case.entries is None:  # a failed build touched no feed
        feeds = site.root / ("feeds-away" if "feeds-is" in case.name else "feeds")
        assert file_states(feeds, folder_times=False) == old_feeds
    else:
        assert len(site.atom().entries) == case.entries
        check_feeds(site.feeds)
    case.repair(site.root)
    site.build()  # the next run, once repaired, publishes everything: nothing was lost
    assert {e.title for e in site.atom().entries} >= {"New since the last build", "Other one"}
    assert len(site.atom().entries) == 5
    check_feeds(site.feeds)


def _build_site(
    site: Site, *, unprivileged: bool, caplog: pytest.LogCaptureFixture
) -> tuple[int, str]:
    if unprivileged:
        prefix = unprivileged_prefix()
        if prefix is None:
            pytest.skip("file permissions cannot apply here: root, and setpriv cannot drop them")
        process = run_publisher("build", cwd=site.root, prefix=prefix)
        return process.returncode, process.stderr
    try:
        report = build_once(site.config(), now=FIXED_NOW)
    except (ConfigError, OutputError) as exc:
        return exc.exit_code, str(exc)
    notes = [record.getMessage() for record in caplog.records]
    return (1 if report.errors else 0), "\n".join([report.summary(), *notes])


def test_created_folders_and_files_have_sane_permissions(site: Site) -> None:
    site.write("a/b", "date 2024-01-01 Nested\n\ntags: t\n")
    site.write("c", "date 2024-01-01 C\ntags: Some tag\n")
    old_umask = os.umask(0o077)  # a careful user's umask must not hide the feeds from the server
    try:
        site.build()
    finally:
        os.umask(old_umask)
    for path in [site.feeds, *site.feeds.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o755 if path.is_dir() else 0o644), path
    state = site.root / ".publisher"
    assert state.stat().st_mode & 0o777 == 0o700
    for path in state.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path  # the index, its WAL and the lock: private
    assert (state / "state.sqlite3").stat().st_mode & 0o777 == 0o600


# -- 8. no quadratic time: every shape at two sizes, twice as big (timing: benchmarks/) ------------

SHAPES: dict[str, Callable[[int], str]] = {
    "title": lambda n: f"date 2024-01-01 {'t' * n}\n",
    "paragraph": lambda n: "date 2024-01-01 P\n\n" + "word " * (n // 5) + "\n",
    "lines-of-one-paragraph": lambda n: "date 2024-01-01 L\n\n" + "w\n" * (n // 2),
    "blank-lines": lambda n: "date 2024-01-01 B\n\nx" + "\n \t" * (n // 3) + "\ny\n",
    "spaces-in-the-date-line": lambda n: "date" + " \t" * (n // 2) + "2024-01-01 S\n",
    "spaces-in-an-author-header": lambda n: f"date 2024-01-01 A\nauthor: a{' ' * n}b\n\nx\n",
    "unknown-headers": lambda n: "date 2024-01-01 H\n" + "x-y: z\n" * (n // 7) + "\nx\n",
    "forbidden-characters": lambda n: "date 2024-01-01 F\n\n" + "\x00a" * (n // 2) + "\n",
}


@pytest.mark.parametrize("size", [MiB // 2 - 100, MiB - 100], ids=["half-MiB", "one-MiB"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_huge_seeds_of_every_shape_at_two_sizes(site: Site, shape: str, size: int) -> None:
    """Quadratic time would take hours here; linear takes a fraction of a second."""
    site.write("x", SHAPES[shape](size))
    site.write("other", "date 2024-01-02 Other\n")
    with deadline(60):
        report = site.build()
    assert len(report.errors) + len(site.atom().entries) == 2
    check_feeds(site.feeds)
