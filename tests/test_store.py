"""The state index across schema versions: an index written by an older publisher is migrated."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from feedpub.build import STATE_FILE
from feedpub.database import MIGRATIONS, PAGE_SIZE, WAL_BYTES, connect
from feedpub.model import Article, split_paragraphs
from feedpub.store import Known, open_store
from tests.conftest import FIXED_NOW, Site, feed_files


def as_version_4(database: Path) -> None:
    """Rewrite an index as version 4 wrote it: a text seed's paragraphs, one a line."""
    with sqlite3.connect(database) as db:
        db.execute("ALTER TABLE seed RENAME COLUMN body TO paragraphs")
        rows = db.execute("SELECT slug, paragraphs FROM seed WHERE paragraphs IS NOT NULL")
        for slug, body in rows.fetchall():
            lines = "\n".join(split_paragraphs(body))
            db.execute("UPDATE seed SET paragraphs = ? WHERE slug = ?", (lines, slug))
        db.execute("PRAGMA user_version = 4")
    db.close()


def as_version_3(database: Path) -> None:
    """Rewrite an index as version 3 wrote it: paragraphs inside the article's JSON."""
    as_version_4(database)
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT slug, article, paragraphs FROM seed").fetchall()
        for slug, article, paragraphs in rows:
            data = json.loads(article)
            if paragraphs is not None:
                data["paragraphs"] = paragraphs.split("\n")
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            db.execute("UPDATE seed SET article = ? WHERE slug = ?", (text, slug))
        db.execute("ALTER TABLE seed DROP COLUMN paragraphs")
        db.execute("PRAGMA user_version = 3")
    db.close()


def as_version_5(database: Path) -> None:
    """Give an index the covering index of seed stats that version 5 kept."""
    with sqlite3.connect(database) as db:
        db.execute("CREATE INDEX seed_stat ON seed (size, mtime_ns)")
        db.execute("PRAGMA user_version = 5")
    db.close()


@pytest.mark.parametrize("downgrade", [as_version_3, as_version_4, as_version_5])
def test_an_older_index_is_migrated_and_read_as_it_was_written(
    site: Site, downgrade: Callable[[Path], None]
) -> None:
    site.write("plain", "date 2024-01-02 Plain\n\nOne line\nand another.\n\n  Second paragraph.\n")
    site.write("title-only", "date 2024-01-03 Only a title\n")
    site.write("tagged", "date 2024-01-04 Tagged\ntags: a, b\n\nBody with <b> & é.\n")
    (site.seeds / "marked.md").write_text("date 2024-01-05 Marked\n\n*Emphasis*\n")
    site.build()
    before = feed_files(site.feeds)
    database = site.root / ".publisher" / STATE_FILE
    with open_store(database) as store:
        articles = {stored.article.slug: stored.article for stored in store.newest(FIXED_NOW, 10)}
    assert articles["plain"].paragraphs == ("One line and another.", "Second paragraph.")
    downgrade(database)
    with open_store(database) as store:  # migrated on open
        migrated = {stored.article.slug: stored.article for stored in store.newest(FIXED_NOW, 10)}
    assert migrated == articles
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_schema")}
    db.close()
    assert "seed_stat" not in indexes
    assert "seed_by_date" in indexes
    assert site.build().written == []  # nothing looks changed after the migration
    assert feed_files(site.feeds) == before
    site.write("plain", "date 2024-01-02 Plain\n\nEdited.\n")
    report = site.build()
    assert report.updated == 1
    with open_store(database) as store:
        assert store.stored("plain") is not None
        assert store.stored("plain").article.paragraphs == ("Edited.",)  # type: ignore[union-attr]
        assert store.stored("tagged").article == articles["tagged"]  # type: ignore[union-attr]


def _pages(database: Path) -> tuple[int, int]:
    """(page size, WAL pages before a checkpoint) of a connection as a run opens it."""
    with contextlib.closing(connect(database, readonly=False)) as connection:
        size = connection.execute("PRAGMA page_size").fetchone()[0]
        return size, connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]


def _overflow_pages(database: Path) -> int:
    """The seed table's overflow pages: where a row goes that its page cannot hold."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return int(
            connection.execute(
                "SELECT count(*) FROM dbstat WHERE name = 'seed' AND pagetype = 'overflow'"
            ).fetchone()[0]
        )


def _as_older_publishers_made_it(database: Path) -> None:
    """Rewrite the index with SQLite's default 4 KiB pages."""
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode = DELETE")
        connection.execute("PRAGMA page_size = 4096")
        connection.execute("VACUUM")


def _has_dbstat() -> bool:
    with contextlib.closing(sqlite3.connect(":memory:")) as connection:
        try:
            connection.execute("SELECT count(*) FROM dbstat").fetchone()
        except sqlite3.OperationalError:  # "no such table": built without SQLITE_ENABLE_DBSTAT_VTAB
            return False
    return True


#: A body of about 6 KB: more than the ~1 KB a row keeps in a 4 KiB page, less than the ~8 KB
#: it keeps in a 32 KiB one (the seed table is WITHOUT ROWID: a quarter of a page at most).
LONG_BODY = "\n\n".join(f"Paragraph {n}: " + "words of a long article " * 12 for n in range(20))


def test_a_new_index_has_32_kib_pages_and_an_older_one_keeps_its_own(site: Site) -> None:
    site.write("long", f"date 2024-01-02 Long\n\n{LONG_BODY}\n")
    site.write("short", "date 2024-01-03 Short\n\nA line.\n")
    site.build()
    database = site.root / ".publisher" / STATE_FILE
    assert _pages(database) == (PAGE_SIZE, WAL_BYTES // PAGE_SIZE)  # a WAL of 4 MB, as before
    before = feed_files(site.feeds)
    _as_older_publishers_made_it(database)
    assert _pages(database) == (4096, 1000)  # kept, with SQLite's usual 1,000 pages of WAL
    assert site.build().written == []
    assert feed_files(site.feeds) == before
    site.write("short", "date 2024-01-03 Short\n\nEdited.\n")
    assert site.build().updated == 1
    assert _pages(database)[0] == 4096
    assert "Edited." in site.atom().entries[0].content[0].value


@pytest.mark.skipif(not _has_dbstat(), reason="this SQLite has no dbstat table")
def test_a_seed_of_a_few_kb_stays_in_its_page(site: Site) -> None:
    assert 4096 < len(LONG_BODY.encode()) < 8000
    site.write("long", f"date 2024-01-02 Long\n\n{LONG_BODY}\n")
    site.build()
    database = site.root / ".publisher" / STATE_FILE
    assert _overflow_pages(database) == 0
    _as_older_publishers_made_it(database)
    assert _overflow_pages(database) > 0  # the same row, in 4 KiB pages


@pytest.mark.parametrize(
    "fields",
    [
        {},  # the title alone: its JSON is written without the encoder
        {"title": 'Quotes " \\ </tag> \u2028 \U0001f389 \x7f'},
        {"author": "A. Writer", "author_email": "a@example.org", "tags": ("x", "y z")},
        {"summary_text": "Short.", "link": "https://example.org/a", "language": "fr"},
        {"pinned_id": "urn:uuid:0f7c2a6e-1d2b-4c3a-9e8f-000000000001", "markdown": "*hi*"},
    ],
)
def test_every_field_of_an_article_is_read_back_as_stored(
    tmp_path: Path, fields: dict[str, Any]
) -> None:
    published = FIXED_NOW - timedelta(days=1)
    plain = Article(slug="s", title="T", published=published, body="One.\n\nTwo.")
    article = dataclasses.replace(plain, **fields)
    updated = FIXED_NOW - timedelta(hours=1)
    with open_store(tmp_path / "index.sqlite3") as store:
        store.put([(article, Known(1, 2, "h"), updated, FIXED_NOW)])
        store.commit()
        [stored] = store.newest(FIXED_NOW, 10)
    assert stored.article == article
    assert stored.updated == updated
    for name in fields:
        assert getattr(stored.article, name) == getattr(article, name)
