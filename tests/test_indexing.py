"""How a run indexes many seeds: the first build's journal, batches, reads, stored bodies."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from feedpub import build
from feedpub.build import STATE_FILE, build_once
from feedpub.database import set_aside
from feedpub.reading import NAME_MAX, _read_at_most, _slug_problem
from tests.conftest import FIXED_NOW, Site, feed_files, read_feed


def _journal_mode(database: Path) -> str:
    with sqlite3.connect(database) as db:
        mode: str = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    return mode


def _seeds(site: Site, count: int) -> None:
    for number in range(count):
        tags = "tags: even\n" if number % 2 == 0 else ""
        site.write(f"s{number:03}", f"date 2024-01-{number % 28 + 1:02} T{number}\n{tags}\nBody.\n")


def test_a_new_index_is_written_with_a_rollback_journal_then_turned_to_wal(site: Site) -> None:
    _seeds(site, 20)
    database = site.root / ".publisher" / STATE_FILE
    site.build()
    assert _journal_mode(database) == "wal"  # from the first commit on
    assert not Path(f"{database}-journal").exists()
    site.write("late", "date 2024-02-01 Late\n\nBody.\n")
    assert site.build().new == 1
    assert _journal_mode(database) == "wal"


def test_a_damaged_index_is_set_aside_with_its_rollback_journal(tmp_path: Path) -> None:
    database = tmp_path / STATE_FILE
    for suffix, text in [("", b"damaged"), ("-journal", b"journal"), ("-wal", b"log")]:
        Path(f"{database}{suffix}").write_bytes(text)
    aside = set_aside(database)
    assert aside == tmp_path / f"{STATE_FILE}.damaged-0"
    assert Path(f"{aside}-journal").read_bytes() == b"journal"  # SQLite pairs them by name:
    assert not Path(f"{database}-journal").exists()  # left, it would be played into a new one
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"{STATE_FILE}.damaged-0",
        f"{STATE_FILE}.damaged-0-journal",
        f"{STATE_FILE}.damaged-0-wal",
    ]


@pytest.mark.parametrize("batch", [1, 3, 500])
def test_batched_puts_give_the_same_index_and_feeds(
    site: Site, tmp_path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seeds(site, 25)  # every other seed tagged: put at once, between batched untagged ones
    site.write("bad", "no date line\n")
    monkeypatch.setattr(build, "BATCH", batch)
    report = site.build()
    assert (report.new, len(report.errors)) == (25, 1)
    assert (site.feeds / "tags" / "even" / "atom.xml").exists()
    assert len(site.atom().entries) == 25
    assert len(read_feed(site.feeds / "tags" / "even" / "atom.xml").entries) == 13


def test_a_run_asked_to_stop_keeps_what_it_indexed_and_the_next_one_finishes(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seeds(site, 30)
    reference = Site(tmp_path / "reference")
    shutil.copytree(site.root, reference.root)
    reference.build()
    monkeypatch.setattr(build, "BATCH", 4)
    asked = iter(range(1000))
    report = build_once(site.config(), now=FIXED_NOW, should_stop=lambda: next(asked) >= 11)
    assert report.stopped
    assert not site.feeds.exists()
    with sqlite3.connect(site.root / ".publisher" / STATE_FILE) as db:
        assert db.execute("SELECT count(*) FROM seed").fetchone()[0] == 11
    db.close()
    assert site.build().new == 19
    assert feed_files(site.feeds) == feed_files(reference.feeds)


def test_rewrapping_a_paragraph_is_no_update(site: Site) -> None:
    site.write("note", "date 2024-01-02 Note\n\nOne long line of words\nwrapped here.\n\nTwo.\n")
    site.build()
    before = feed_files(site.feeds)
    site.write("note", "date 2024-01-02 Note\n\n  One long line\nof words wrapped here.  \n \nTwo.")
    report = site.build()
    assert (report.updated, report.written) == (0, [])
    assert feed_files(site.feeds) == before
    site.write("note", "date 2024-01-02 Note\n\nOne long line of words wrapped here. Two.\n")
    assert site.build().updated == 1  # two paragraphs became one: readers see a change


@pytest.mark.parametrize(
    ("content", "expected", "size", "want"),
    [
        (b"x" * 10, 10, 100, b"x" * 10),  # as fstat said: one read
        (b"x" * 10, 4, 100, b"x" * 10),  # grew since the fstat: read on to the end
        (b"x" * 4, 10, 100, b"x" * 4),  # shrank since: what is there
        (b"x" * 70_000, 10, 100_000, b"x" * 70_000),  # grew by more than a chunk
        (b"x" * 50, 10, 21, b"x" * 21),  # never more than asked: the limit and one byte
        (b"", 0, 10, b""),
    ],
)
def test_a_seed_is_read_whole_whatever_its_size_did_after_the_fstat(
    tmp_path: Path, content: bytes, expected: int, size: int, want: bytes
) -> None:
    path = tmp_path / "seed.txt"
    path.write_bytes(content)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_at_most(fd, size, expected=expected) == want
    finally:
        os.close(fd)


def test_the_index_keeps_a_text_seeds_body_as_written(site: Site) -> None:
    body = "First line\nsecond l\u00efne.\n\n\u3000\n\nLast, with a <tag> & more \u4e2d."
    site.write("note", f"date 2024-01-02 Note\n\n{body}\n")  # its bytes are stored as they are
    site.write("crlf", f"date 2024-01-03 Crlf\r\n\r\n{body}\r\n".replace("\n", "\r\n"))  # text
    site.build()
    with sqlite3.connect(site.root / ".publisher" / STATE_FILE) as db:
        rows = dict(db.execute("SELECT slug, body FROM seed").fetchall())
        kinds = {kind for (kind,) in db.execute("SELECT DISTINCT typeof(body) FROM seed")}
    db.close()
    assert rows == {"note": body, "crlf": body}
    assert kinds == {"text"}  # never a blob, whichever way it was bound
    contents = {entry.title: entry.content[0].value for entry in site.atom().entries}
    shown = (
        "<p>First line second l\u00efne.</p>\n<p>Last, with a &lt;tag&gt; &amp; more \u4e2d.</p>"
    )
    assert contents == {"Note": shown, "Crlf": shown}


@pytest.mark.parametrize(
    ("slug", "refused"),
    [
        ("a" * 250, False),  # articles/<250>.html: a last part of 255 bytes
        ("a" * 251, True),
        ("\U0001f600" * 62, False),  # 248 bytes and ".html"
        ("\U0001f600" * 63, True),
        ("2024/" + "\u00e9" * 125, False),  # 250 bytes in the last part
        ("\u00e9" * 128 + "/x", True),  # a folder's part of 256 bytes
        ("\U0001f600" * 15, False),  # short enough that no part can be too long
    ],
)
def test_a_page_name_over_the_file_system_limit_is_refused(slug: str, refused: bool) -> None:
    problem = _slug_problem(slug)
    assert (problem is not None) == refused
    if refused:
        assert f"({NAME_MAX} bytes at most)" in str(problem)
