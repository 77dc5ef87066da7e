"""The state index: SQLite next to publisher.toml, never inside feeds/.

It remembers every seed (stat, content hash, the last version that could be published, first-seen
and updated times) so that a build re-reads only what changed. Deleting it is always safe: ids
and published times come from the seeds and the config, never from here.
"""

from __future__ import annotations

import json
import logging
import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from feedpub.database import (
    connect,
    explain,
    forget_checked,
    is_damaged,
    record_checked,
    set_aside,
)
from feedpub.errors import StoreError
from feedpub.model import Article

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Known(NamedTuple):  # a tuple: built for every row of the index on a full scan
    """What the index knows of a seed file, enough to tell whether it changed."""

    size: int
    mtime_ns: int
    hash: str


#: A version of a seed to store: its article, its file as read, its updated and first-seen times.
Version = tuple[Article, Known, datetime, datetime]


@dataclass(frozen=True, slots=True)
class Stored:
    """The published version of a seed, as the index keeps it."""

    article: Article
    updated: datetime


def to_micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


class Store:
    """A small protocol over one SQLite connection. Open it in the thread that uses it."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._tombstones: bool | None = None  # whether any may exist; None: not asked yet
        self._wal = False  # whether the journal is known to be WAL (a new index starts without)

    def known(self) -> dict[str, Known]:
        rows = self._db.execute("SELECT slug, size, mtime_ns, hash FROM seed")
        return {slug: Known(size, mtime, digest) for slug, size, mtime, digest in rows}

    def known_one(self, slug: str) -> Known | None:
        row = self._db.execute(
            "SELECT size, mtime_ns, hash FROM seed WHERE slug = ?", (slug,)
        ).fetchone()
        return Known(*row) if row else None

    def stored(self, slug: str) -> Stored | None:
        row = self._db.execute(
            "SELECT slug, published, updated, article, body FROM seed"
            " WHERE slug = ? AND published IS NOT NULL",
            (slug,),
        ).fetchone()
        return _stored(row) if row else None

    def forget_reads(self) -> int:
        """Mark every seed unread: no file's stat or content hash matches; how many there are.

        Each is then read and parsed again, and compared with the article the index keeps.
        """
        return self._db.execute("UPDATE seed SET size = -1, mtime_ns = -1, hash = '-'").rowcount

    def touch(self, slug: str, size: int, mtime_ns: int) -> None:
        """Same content, new file times."""
        self._db.execute(
            "UPDATE seed SET size = ?, mtime_ns = ? WHERE slug = ?", (size, mtime_ns, slug)
        )

    def put(self, versions: Iterable[Version]) -> None:
        """Versions that can be published, in one statement. A seed keeps its first-seen time.

        Many at once cost less than one at a time: SQLite's pages stay in the CPU's caches.
        """
        self._db.executemany(_PUT, map(_put_row, versions))

    def put_error(self, slug: str, known: Known, error: str, *, first_seen: datetime) -> None:
        """A version that cannot be published; the last good version, if any, stays."""
        self._db.execute(
            "INSERT INTO seed (slug, size, mtime_ns, hash, error, first_seen)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (slug) DO UPDATE SET size = excluded.size,"
            " mtime_ns = excluded.mtime_ns, hash = excluded.hash, error = excluded.error",
            (slug, known.size, known.mtime_ns, known.hash, error, to_micros(first_seen)),
        )

    def delete(self, slugs: Iterable[str]) -> None:
        self._db.executemany("DELETE FROM seed WHERE slug = ?", ((s,) for s in slugs))

    def newest(self, now: datetime, limit: int) -> list[Stored]:
        rows = self._db.execute(
            "SELECT slug, published, updated, article, body FROM seed"
            " WHERE published IS NOT NULL AND published <= ?"
            " ORDER BY published DESC, slug LIMIT ?",
            (to_micros(now), limit),
        )
        return [_stored(row) for row in rows]

    def all_published(self, now: datetime) -> Iterator[Stored]:
        """Every entry published by `now`, one at a time (bodies are not all held at once)."""
        cursor = self._db.execute(
            "SELECT slug, published, updated, article, body FROM seed"
            " WHERE published IS NOT NULL AND published <= ? ORDER BY slug",
            (to_micros(now),),
        )
        for row in cursor:
            yield _stored(row)

    def errors(self) -> list[str]:
        """Why each seed that cannot be published is skipped, as `path:line: reason`."""
        rows = self._db.execute("SELECT error FROM seed WHERE error IS NOT NULL ORDER BY slug")
        return [error for (error,) in rows]

    def next_due(self, now: datetime) -> datetime | None:
        """The earliest date still to come among the seeds."""
        row = self._db.execute(
            "SELECT min(published) FROM seed WHERE published > ?", (to_micros(now),)
        ).fetchone()
        return from_micros(row[0]) if row[0] is not None else None

    def waiting(self, now: datetime) -> list[tuple[str, datetime]]:
        """Seeds whose date is still to come, soonest first."""
        rows = self._db.execute(
            "SELECT slug, published FROM seed WHERE published > ? ORDER BY published, slug",
            (to_micros(now),),
        )
        return [(slug, from_micros(published)) for slug, published in rows]

    def counts(self, now: datetime) -> tuple[int, int]:
        """(seeds indexed, entries published now)."""
        row = self._db.execute(
            "SELECT count(*), count(*) FILTER (WHERE published <= ?) FROM seed",
            (to_micros(now),),
        ).fetchone()
        return row[0], row[1]

    def set_tags(self, slug: str, tags: Iterable[tuple[str, str]], *, fresh: bool = False) -> None:
        """Replace a seed's tags with (tag slug, label) pairs; `fresh`: it has none yet."""
        if not fresh:
            self._db.execute("DELETE FROM tag WHERE slug = ?", (slug,))
        self._db.executemany(
            "INSERT OR IGNORE INTO tag (tag, slug, label) VALUES (?, ?, ?)",
            ((tag, slug, label) for tag, label in tags),
        )

    def tags_of(self, slugs: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for slug in slugs:
            rows = self._db.execute("SELECT tag FROM tag WHERE slug = ?", (slug,))
            found.update(tag for (tag,) in rows)
        return found

    def all_tags(self) -> list[str]:
        return [tag for (tag,) in self._db.execute("SELECT DISTINCT tag FROM tag ORDER BY tag")]

    def tag_label(self, tag: str) -> str | None:
        row = self._db.execute("SELECT min(label) FROM tag WHERE tag = ?", (tag,)).fetchone()
        return row[0] if row else None

    def newest_tagged(self, tag: str, now: datetime, limit: int) -> list[Stored]:
        rows = self._db.execute(
            "SELECT seed.slug, published, updated, article, body"
            " FROM seed JOIN tag USING (slug)"
            " WHERE tag.tag = ? AND published IS NOT NULL AND published <= ?"
            " ORDER BY published DESC, seed.slug LIMIT ?",
            (tag, to_micros(now), limit),
        )
        return [_stored(row) for row in rows]

    def assign_archive_positions(self, now: datetime) -> list[str]:
        """Give every entry published by `now` and not yet archived the next position."""
        rows = self._db.execute(
            "SELECT slug FROM seed WHERE archive_seq IS NULL AND published IS NOT NULL"
            " AND published <= ? ORDER BY published, slug",
            (to_micros(now),),
        ).fetchall()
        start = self.archive_end()
        self._db.executemany(
            "UPDATE seed SET archive_seq = ? WHERE slug = ?",
            ((start + offset, slug) for offset, (slug,) in enumerate(rows)),
        )
        self.set_meta("archive_end", str(start + len(rows)))
        return [slug for (slug,) in rows]

    def archive_positions(self, slugs: Iterable[str]) -> set[int]:
        found: set[int] = set()
        for slug in slugs:
            row = self._db.execute(
                "SELECT archive_seq FROM seed WHERE slug = ? AND archive_seq IS NOT NULL", (slug,)
            ).fetchone()
            if row:
                found.add(row[0])
        return found

    def archive_end(self) -> int:
        """One past the highest archive position ever given (positions are never reused)."""
        row = self._db.execute(
            "SELECT max(archive_seq) FROM seed WHERE archive_seq IS NOT NULL"  # seed_by_archive
        ).fetchone()
        kept = int(self.get_meta("archive_end") or 0)
        return max(kept, row[0] + 1 if row[0] is not None else 0)

    def archived(self, start: int, stop: int, now: datetime) -> list[Stored]:
        """Entries at archive positions start..stop-1 still published, newest first."""
        rows = self._db.execute(
            "SELECT slug, published, updated, article, body FROM seed"
            " WHERE archive_seq >= ? AND archive_seq < ? AND published <= ?"
            " ORDER BY published DESC, slug",
            (start, stop, to_micros(now)),
        )
        return [_stored(row) for row in rows]

    def due_since(self, since: datetime, now: datetime) -> list[str]:
        """Seeds whose date came in (since, now]: they go live in this run."""
        rows = self._db.execute(
            "SELECT slug FROM seed WHERE published > ? AND published <= ?",
            (to_micros(since), to_micros(now)),
        )
        return [slug for (slug,) in rows]

    def add_tombstone(self, slug: str, entry_id: str, when: datetime) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO tombstone (slug, entry_id, deleted) VALUES (?, ?, ?)",
            (slug, entry_id, to_micros(when)),
        )
        self._tombstones = True

    def drop_tombstone(self, slug: str) -> None:
        """A seed is back: its tombstone goes. (A first build asks once, not once a seed.)"""
        if self._tombstones is None:
            found = self._db.execute("SELECT 1 FROM tombstone LIMIT 1").fetchone()
            self._tombstones = found is not None
        if self._tombstones:
            self._db.execute("DELETE FROM tombstone WHERE slug = ?", (slug,))

    def tombstones(self, since: datetime) -> list[tuple[str, datetime]]:
        """Entries withdrawn after `since`, newest first, as (entry id, when)."""
        rows = self._db.execute(
            "SELECT entry_id, deleted FROM tombstone WHERE deleted > ? ORDER BY deleted DESC, slug",
            (to_micros(since),),
        )
        return [(entry_id, from_micros(deleted)) for entry_id, deleted in rows]

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def rollback(self) -> None:
        self._db.rollback()

    def commit(self) -> None:
        self._db.commit()
        if self._wal:
            return
        try:  # a new index turns to WAL here; any other answers "wal" and is not asked again
            self._wal = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        except sqlite3.OperationalError as exc:  # a reader kept it busy: the next open does
            log.debug("state database left in rollback mode for now: %s", exc)


_PUT = (
    "INSERT INTO seed"
    " (slug, size, mtime_ns, hash, error, first_seen, published, updated, article, body)"
    " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, CAST(? AS TEXT))"  # UTF-8 bytes stored as text
    " ON CONFLICT (slug) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
    " hash = excluded.hash, error = NULL, published = excluded.published,"
    " updated = excluded.updated, article = excluded.article, body = excluded.body"
)


def _put_row(version: Version) -> tuple[object, ...]:
    article, known, updated, first_seen = version
    published = to_micros(article.published)
    return (
        article.slug,
        known.size,
        known.mtime_ns,
        known.hash,
        to_micros(first_seen),
        published,
        published if updated is article.published else to_micros(updated),  # a new seed's
        _article_json(article),
        article.body_utf8 or article.body or None,
    )


_ARTICLE_FIELDS = tuple(
    f.name
    for f in fields(Article)
    if f.name not in ("slug", "published", "warnings", "body", "body_utf8")  # columns, or not kept
)


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once, not per row
_JSON_STRING: Callable[[str], str] = json.encoder.encode_basestring


_ARTICLE_VALUES = operator.attrgetter(*_ARTICLE_FIELDS)  # the title is one, never None nor ()


def _article_json(article: Article) -> str:
    values: tuple[object, ...] = _ARTICLE_VALUES(article)
    if values.count(None) + values.count(()) == len(values) - 1:
        return '{"title":' + _JSON_STRING(article.title) + "}"  # the title alone, as most seeds
    pairs = zip(_ARTICLE_FIELDS, values, strict=True)
    return _JSON.encode({name: value for name, value in pairs if value not in (None, ())})


def _stored(row: tuple[str, int, int, str, str | None]) -> Stored:
    slug, published, updated, text, body = row
    data = json.loads(text)
    if "tags" in data:
        data["tags"] = tuple(data["tags"])
    if "paragraphs" in data:  # in the JSON of rows written before version 4
        data["body"] = "\n\n".join(data.pop("paragraphs"))
    if body is not None:
        data["body"] = body
    article = Article(slug=slug, published=from_micros(published), **data)
    return Stored(article=article, updated=from_micros(updated))


@contextmanager
def open_store(path: Path, *, readonly: bool = False) -> Iterator[Store]:
    """Open (and create or migrate) the index; a damaged file is set aside and rebuilt.

    Another process holding a lock on the database is waited for up to BUSY_TIMEOUT seconds;
    then, as for any other failure, StoreError says what happened and where.
    """
    try:
        connection = connect(path, readonly=readonly)
    except sqlite3.Error as exc:
        if readonly or not is_damaged(exc):
            raise StoreError(explain(path, exc)) from exc
        try:
            set_aside(path)
            connection = connect(path, readonly=False)
        except (OSError, sqlite3.Error) as again:
            raise StoreError(f"{path}: cannot rebuild the state database: {again}") from again
    try:
        with closing(connection):
            try:
                yield Store(connection)
            except sqlite3.Error as exc:
                raise StoreError(explain(path, exc)) from exc
    except BaseException:
        forget_checked(path)
        raise
    if not readonly:
        record_checked(path)
