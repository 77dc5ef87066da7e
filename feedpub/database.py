"""The state index's file: created private, checked for damage, migrated, set aside if damaged.

What the file holds and how a run reads and writes it is the store's (store.py); this module
gives it a connection to a database of the current schema, or says why there is none.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from pathlib import Path

from feedpub.errors import StoreError

SCHEMA = """
CREATE TABLE seed (
    slug        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    hash        TEXT NOT NULL,      -- content hash of the version last read
    error       TEXT,               -- why that version cannot be published, or NULL
    first_seen  INTEGER NOT NULL,   -- microseconds since the epoch, UTC
    -- the last version that could be published; all NULL while there is none
    published   INTEGER,
    updated     INTEGER,
    article     TEXT                -- JSON: title and paragraphs
) WITHOUT ROWID;
CREATE INDEX seed_by_date ON seed (published DESC, slug) WHERE published IS NOT NULL;
CREATE TABLE meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
) WITHOUT ROWID;
"""
# Version 2: archive pages (RFC 5005), tag feeds, tombstones (RFC 6721).
SCHEMA_2 = """
ALTER TABLE seed ADD COLUMN archive_seq INTEGER;  -- position in the archive, once published
CREATE UNIQUE INDEX seed_by_archive ON seed (archive_seq) WHERE archive_seq IS NOT NULL;
CREATE TABLE tag (
    tag         TEXT NOT NULL,      -- the tag's slug: its folder under feeds/tags/
    slug        TEXT NOT NULL REFERENCES seed (slug) ON DELETE CASCADE,
    label       TEXT NOT NULL,      -- the tag as the seed wrote it
    PRIMARY KEY (tag, slug)
) WITHOUT ROWID;
CREATE INDEX tag_by_seed ON tag (slug);
CREATE TABLE tombstone (
    slug        TEXT PRIMARY KEY,
    entry_id    TEXT NOT NULL,
    deleted     INTEGER NOT NULL    -- microseconds since the epoch, UTC
) WITHOUT ROWID;
"""
# Version 3: indexes that keep a run from reading the whole table (bodies included).
SCHEMA_3 = """
CREATE INDEX seed_unarchived ON seed (published, slug)
    WHERE archive_seq IS NULL AND published IS NOT NULL;
CREATE INDEX seed_stat ON seed (size, mtime_ns);  -- covered SELECT slug, size, mtime_ns; see 6
CREATE INDEX seed_errors ON seed (slug) WHERE error IS NOT NULL;
"""
# Version 4: a text seed's paragraphs in a column of their own, one a line (none holds a line
# break), out of the article's JSON: encoding them as JSON was an eighth of a first build.
# Rows written before keep them in the JSON, and are read as they are.
SCHEMA_4 = """
ALTER TABLE seed ADD COLUMN paragraphs TEXT;
"""
# Version 5: a text seed's body as written, in place of its paragraphs: splitting every seed into
# paragraphs was a fifth of a first build, and only the entries shown need them. Paragraphs one
# a line become paragraphs separated by blank lines, which split back into the same.
SCHEMA_5 = """
ALTER TABLE seed RENAME COLUMN paragraphs TO body;
UPDATE seed SET body = replace(body, char(10), char(10) || char(10)) WHERE body IS NOT NULL;
"""
# Version 6: no seed_stat. Runs that walk every seed take their stats from the walk since the
# index's stats stopped being read back; keeping it up to date cost every write of a seed.
SCHEMA_6 = """
DROP INDEX IF EXISTS seed_stat;
"""
MIGRATIONS: tuple[str, ...] = (SCHEMA, SCHEMA_2, SCHEMA_3, SCHEMA_4, SCHEMA_5, SCHEMA_6)
log = logging.getLogger(__name__)
BUSY_TIMEOUT = 30.0  # seconds to wait while another process holds the database locked
#: A new index's page size. A row of a WITHOUT ROWID table keeps at most about a quarter of a
#: page in it: about 8 KB of 32 KiB, and the rest of a seed's row (its body is a few KB) goes to
#: a chain of overflow pages. In SQLite's default 4 KiB pages that is all but 1 KB of every
#: row, and inserting one took 21-30 us against 14. An index made with other pages keeps them:
#: deleting it rebuilds it.
PAGE_SIZE = 32768
#: The WAL's size before it is checkpointed: SQLite's default of 1,000 pages of 4 KiB, in bytes,
#: whatever the page size (1,000 pages of 32 KiB would let it grow to 32 MB).
WAL_BYTES = 1000 * 4096


def is_damaged(exc: sqlite3.Error) -> bool:
    """Whether the file is not a usable database (as opposed to busy, read-only, missing...)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    return isinstance(exc, _Damaged) or code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def explain(path: Path, exc: sqlite3.Error) -> str:
    """A StoreError's message for the database at `path`: a lock held too long, or SQLite's."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            f"{path}: the state database is locked by another process"
            f" (waited {BUSY_TIMEOUT:g} s): {exc}"
        )
    return f"{path}: cannot use the state database: {exc}"


class _Damaged(sqlite3.DatabaseError):
    """The integrity check found damage that SQLite itself did not report on opening."""


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """A connection to the index at `path`, created private and migrated (never when `readonly`).

    The integrity check runs unless the file is as a run last closed it, checked.
    """
    if readonly:
        if not path.exists():
            raise StoreError(f"{path}: no state database yet; run 'publisher build' first")
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
        try:
            connection.execute("SELECT count(*) FROM seed")
        except BaseException:
            connection.close()
            raise
        return connection
    _create_private(path)
    checked = _checked(path) == _signature(path)  # before opening adds a -wal file
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
    try:
        # A new index is filled in one transaction with a rollback journal, then turned to WAL
        # at its first commit: WAL would write every page twice (to the log, then to the file
        # at the checkpoint), and that was a sixth of a first build. Readers see no difference.
        if connection.execute("PRAGMA user_version").fetchone()[0]:
            connection.execute("PRAGMA journal_mode = WAL")
        else:  # a new index; in one that has pages already, this changes nothing
            connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
        if not checked:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise _Damaged("; ".join(problems[:3]))
        _migrate(connection, path)
        # Read once the file has pages: before, a size asked for but not yet written shows.
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        connection.execute(f"PRAGMA wal_autocheckpoint = {max(WAL_BYTES // page_size, 1)}")
    except BaseException:
        connection.close()
        raise
    return connection


# A database checked and closed by a publisher, not changed since: the next run (the daemon's, or
# the next cron build's) skips the quick_check, a read of the whole file, until something else
# (another run that did not finish, or damage) touches it. The record is beside the database.
_CHECKED: dict[str, tuple[tuple[int, ...], ...]] = {}
CHECKED_SUFFIX = "-checked"


def _checked(path: Path) -> tuple[tuple[int, ...], ...] | None:
    """The database's signature when a run last closed it, checked; None when unknown."""
    if str(path) in _CHECKED:
        return _CHECKED[str(path)]
    try:
        record = json.loads(Path(f"{path}{CHECKED_SUFFIX}").read_text(encoding="utf-8"))
        return tuple(tuple(int(number) for number in part) for part in record)
    except (OSError, ValueError, TypeError):
        return None


def record_checked(path: Path) -> None:
    signature = _signature(path)
    _CHECKED[str(path)] = signature
    record, temporary = Path(f"{path}{CHECKED_SUFFIX}"), Path(f"{path}{CHECKED_SUFFIX}.tmp")
    with contextlib.suppress(OSError):  # a cache: without it, the next run checks the file
        temporary.write_text(json.dumps(signature), encoding="utf-8")
        os.replace(temporary, record)


def forget_checked(path: Path) -> None:
    _CHECKED.pop(str(path), None)
    with contextlib.suppress(OSError):
        os.unlink(f"{path}{CHECKED_SUFFIX}")


def _signature(path: Path) -> tuple[tuple[int, ...], ...]:
    """Identity, size and times of the database and its write-ahead log (empty when absent)."""
    found: list[tuple[int, ...]] = []
    for name in (str(path), f"{path}-wal"):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            found.append(())
            continue
        found.append((info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return tuple(found)


def _create_private(path: Path) -> None:
    """Create the folder (0700) and an empty database file (0600): it is nobody else's business.

    SQLite gives its -wal and -shm files the database file's permissions.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the state database: {exc.strerror}") from exc


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(f"{path}: made by a newer publisher (schema {version})")
    for number in range(version, len(MIGRATIONS)):
        connection.executescript(
            f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
        )


def set_aside(path: Path) -> Path:
    """Rename a damaged database (never delete it) so that a fresh one can be built."""
    stamp = 0
    while True:
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        if not aside.exists():
            break
        stamp += 1
    os.replace(path, aside)
    for suffix in ("-wal", "-shm", "-journal"):  # they go with it: SQLite pairs them by name
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    log.error(
        "%s: the state database is damaged; set aside as %s and rebuilt from the seeds", path, aside
    )
    return aside
