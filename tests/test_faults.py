"""Faults: kill -9 at random instants, disk full, a damaged or locked index, bad settings.

After each fault every feed file is whole, the old bytes or the new; the next run converges to
exactly what an undisturbed run gives; nothing is lost and every failure says what and where.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

import feedpub.database
import feedpub.output
import feedpub.store
from feedpub.build import build_once
from feedpub.errors import OutputError, StoreError
from feedpub.output import TEMP_PREFIX, TEMP_SUFFIX
from tests.conftest import FIXED_NOW, ROOT, Site
from tests.hostile import check_feeds, file_states, run_publisher

KILLS = 200  # at least this many kills of a running build...
KILL_BUDGET = 300.0  # ...within this many seconds: 76 s here for a build, 86 for the daemon,
# on a quiet machine; 120 was too tight when something else kept both cores busy
SEEDS = 300
DRIVER = str(ROOT / "tests" / "fault_driver.py")
DAEMON_KILLS = 200  # kills of the daemon while it publishes, as many as of a build
DAEMON_SPAN = 0.45  # seconds: from its start to the end of its first run, about
DAEMON_START = 3.0  # seconds: long enough for the daemon to start and publish


# -- a site of a few hundred seeds, and the changes made to it -------------------------------------


def seed_text(number: int, edit: int, rng: random.Random) -> str:
    day = rng.randrange(1, 28)
    month = rng.randrange(1, 13)
    header = f"tags: {rng.choice(['alpha', 'beta', 'gamma'])}\n" if rng.random() < 0.25 else ""
    words = " ".join(rng.choice(["feed", "seed", "kill", "nine", "<b>", "&", "\u00e9t\u00e9"])
                     for _ in range(rng.randrange(5, 60)))  # fmt: skip
    return (
        f"date 20{rng.randrange(20, 25)}-{month:02}-{day:02}T{rng.randrange(24):02}:00:00Z"
        f" Seed {number} edit {edit}\n{header}\n{words}\n\nThe end of {number}.\n"
    )


@dataclass
class Sites:
    """The site under test, and a twin that sees the same changes with no fault at all."""

    test: Site
    twin: Site
    rng: random.Random
    slugs: list[str] = field(default_factory=list)
    added: int = 0
    edits: int = 0

    def write(self, slug: str, text: str) -> None:
        for site in (self.test, self.twin):
            site.write(slug, text)

    def change(self) -> None:
        """Edit, add or delete a seed, in both sites."""
        roll = self.rng.random()
        self.edits += 1
        if roll < 0.15:
            # New seeds are dated after every other, in the order added: the archive gives them
            # the same positions whether they are published one at a time or several at once.
            self.added += 1
            slug = f"new/{self.added:04}"
            hour, minute = self.added % 24, self.added // 24 % 60
            text = f"date 2025-01-01T{hour:02}:{minute:02}:00Z New {self.added}\n\nAdded.\n"
            self.write(slug, text)
            self.slugs.append(slug)
        elif roll < 0.25 and len(self.slugs) > SEEDS // 2:
            slug = self.slugs.pop(self.rng.randrange(len(self.slugs)))
            for site in (self.test, self.twin):
                (site.seeds / f"{slug}.txt").unlink()
        else:
            slug = self.rng.choice(self.slugs)
            number = int(slug.rsplit("/", 1)[-1])
            self.write(slug, seed_text(number, self.edits, self.rng))

    def copy_twin(self) -> None:
        """The twin becomes a copy of the site under test as it is now: seeds, index and feeds.

        So "new" is what an undisturbed run from this very state gives. A twin that only saw the
        same changes would differ for good reasons: a seed added and deleted while every run in
        between was killed was never published here (no tombstone), and a seed first indexed
        after an edit was never seen in its first form (no `updated`).
        """
        shutil.rmtree(self.twin.root)
        # Hard links are safe for seeds and feeds (the publisher replaces files, never rewrites
        # them, and both sites get the same seed texts); the index is copied.
        shutil.copytree(self.test.root, self.twin.root, symlinks=True, copy_function=os.link)
        state = self.twin.root / ".publisher"
        for name in os.listdir(state):
            (state / name).unlink()
            shutil.copy2(self.test.root / ".publisher" / name, state / name)

    def build_twin(self, *, copy: bool = True) -> None:
        if copy:
            self.copy_twin()
        build_once(self.twin.config(), now=FIXED_NOW)


@pytest.fixture
def sites(tmp_path: Path) -> Sites:
    rng = random.Random(9)  # noqa: S311 - test data from a seeded generator
    pair = Sites(Site(tmp_path / "test"), Site(tmp_path / "twin"), rng)
    for site in (pair.test, pair.twin):
        site.seeds.mkdir(parents=True)
        site.configure("")
    for number in range(SEEDS):
        slug = f"s/{number // 100}/{number:04}"
        pair.write(slug, seed_text(number, 0, random.Random(number)))  # noqa: S311 - test data
        pair.slugs.append(slug)
    for site in (pair.test, pair.twin):
        build_once(site.config(), now=FIXED_NOW)
    return pair


# -- the fork server -------------------------------------------------------------------------------


class Driver:
    """tests/fault_driver.py in a subprocess: runs publisher commands and kills them."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, DRIVER, FIXED_NOW.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def run(self, argv: list[str], *, kill_after: float | None) -> tuple[bool, int, float]:
        """Run `publisher ARGV`; SIGKILL it `kill_after` seconds in (None: let it finish)."""
        self.start(argv, kill_after=kill_after)
        return self.result()

    def start(self, argv: list[str], *, kill_after: float | None) -> None:
        assert self.process.stdin is not None
        delay = -1.0 if kill_after is None else kill_after * 1000
        self.process.stdin.write(f"{delay:.3f} {json.dumps(argv)}\n")
        self.process.stdin.flush()

    def result(self) -> tuple[bool, int, float]:
        """(killed by SIGKILL, exit status or -signal, seconds it ran) of the last start."""
        assert self.process.stdout is not None
        answer = self.process.stdout.readline()
        assert answer, f"the driver died: {self.log.name}"
        killed, status, elapsed = answer.split()
        return killed == "1", int(status), float(elapsed) / 1000

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.log.close()


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Driver]:
    running = Driver(tmp_path / "driver.log")
    try:
        yield running
    finally:
        running.close()


# -- what the feeds folder holds -------------------------------------------------------------------


# The lock, the index, and the record that a run closed the index checked (no marker of a run cut
# short, no temporary file).
STATE_FILES = ["lock", "state.sqlite3", "state.sqlite3-checked", "stats"]


def is_temporary(name: str) -> bool:
    return os.path.basename(name).startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


class Contents:
    """The bytes of every file under a folder, by relative path, as hashes; re-read only what
    changed since the last look (os.replace gives every new version a new inode)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[tuple[str, int, int, int], str] = {}

    def now(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for dirpath, _dirs, names in os.walk(self.folder):
            for name in names:
                path = os.path.join(dirpath, name)
                relative = os.path.relpath(path, self.folder)
                with contextlib.suppress(FileNotFoundError):
                    info = os.stat(path)
                    key = (relative, info.st_ino, info.st_mtime_ns, info.st_size)
                    if key not in self._cache:
                        with open(path, "rb") as file:
                            data = file.read()
                        if relative.endswith(".xml"):
                            etree.fromstring(data)  # complete and well-formed, or this fails
                        self._cache[key] = hashlib.sha256(data).hexdigest()
                    found[relative] = self._cache[key]
        return found


def check_old_or_new(before: dict[str, str], after: dict[str, str], new: dict[str, str]) -> None:
    """Every file as it was, or as the undisturbed twin has it now; nothing else."""
    for name, digest in after.items():
        if is_temporary(name):
            continue
        assert digest in (before.get(name), new.get(name)), f"{name}: neither old nor new"
    for name in before.keys() - after.keys():
        assert name not in new, f"{name}: removed, but the twin has it"


def check_converged(sites: Sites) -> None:
    test, twin = Contents(sites.test.feeds).now(), Contents(sites.twin.feeds).now()
    assert [name for name in test if is_temporary(name)] == []
    assert test == twin  # every file, byte for byte
    check_feeds(sites.test.feeds)


def check_same_as_a_fresh_build(sites: Sites, tmp_path: Path) -> None:
    """A build from nothing of the same seeds shows the same entries (ids, titles, dates, content).

    Only `updated` may differ: a fresh index has seen no edits.
    """
    fresh = Site(tmp_path / "fresh")
    shutil.copytree(sites.test.seeds, fresh.seeds)
    fresh.configure("")
    build_once(fresh.config(), now=FIXED_NOW)
    for name in ("atom.xml", "rss.xml"):
        ours = feedparser.parse((sites.test.feeds / name).read_bytes())
        theirs = feedparser.parse((fresh.feeds / name).read_bytes())
        assert _entries(ours) == _entries(theirs)
    pages = {p.relative_to(fresh.feeds) for p in (fresh.feeds / "articles").rglob("*.html")}
    assert pages == {p.relative_to(sites.test.feeds) for p in sites.test.feeds.rglob("*.html")} - {
        Path("index.html")
    }


def _entries(feed: Any) -> list[tuple[str, str, Any, str]]:
    return [(e.id, e.title, e.published_parsed, e.content[0].value) for e in feed.entries]


# -- kill -9 ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_during_build_never_leaves_a_broken_feed(
    sites: Sites, driver: Driver, tmp_path: Path
) -> None:
    argv = ["--config", str(sites.test.config_path), "-q", "build"]
    durations = []
    for _ in range(3):  # how long an undisturbed run takes: kills fall anywhere within it
        sites.change()
        sites.build_twin()
        killed, status, elapsed = driver.run(argv, kill_after=None)
        assert (killed, status) == (False, 0)
        durations.append(elapsed)
    span = 1.5 * sorted(durations)[1]
    tally = kill_loop(sites, driver, argv, span=span, kills=KILLS, undisturbed_every=10)
    assert tally.torn > KILLS // 10, tally  # many kills fell in the middle of publishing
    print(f"build: {tally}; an undisturbed run takes {sorted(durations)[1] * 1000:.0f} ms")
    assert tally.kills >= KILLS, tally
    killed, status, _ = driver.run(argv, kill_after=None)
    assert (killed, status) == (False, 0)
    check_converged(sites)
    check_same_as_a_fresh_build(sites, tmp_path)
    assert sorted(os.listdir(sites.test.root / ".publisher")) == STATE_FILES


@pytest.mark.slow
def test_kill_9_during_watch_never_leaves_a_broken_feed(
    sites: Sites, driver: Driver, tmp_path: Path
) -> None:
    """The daemon publishes on start: it is killed at a random instant of that, many times over."""
    argv = ["--config", str(sites.test.config_path), "-q", "watch", "--every", "3600"]
    argv += ["--settle", "0"]
    sites.change()
    sites.build_twin()
    killed, _, _ = driver.run(argv, kill_after=DAEMON_START)  # it publishes, then waits
    assert killed
    check_converged(sites)
    tally = kill_loop(sites, driver, argv, span=DAEMON_SPAN, kills=DAEMON_KILLS, changes=4)
    print(f"watch: {tally}")
    assert tally.kills >= DAEMON_KILLS, tally
    assert tally.completed + tally.torn > 0, tally  # some kills fell after it began publishing
    driver.run(argv, kill_after=DAEMON_START)
    check_converged(sites)
    check_same_as_a_fresh_build(sites, tmp_path)
    killed, status, _ = driver.run(
        ["--config", str(sites.test.config_path), "build"], kill_after=None
    )
    assert (killed, status) == (False, 0)
    assert Contents(sites.test.feeds).now() == Contents(sites.twin.feeds).now()
    assert sorted(os.listdir(sites.test.root / ".publisher")) == STATE_FILES


@dataclass
class Tally:
    kills: int = 0
    runs: int = 0
    completed: int = 0  # runs that left every file as the twin has it
    torn: int = 0  # kills that left some files new and some old: in the middle of publishing
    seconds: float = 0.0


def kill_loop(
    sites: Sites,
    driver: Driver,
    argv: list[str],
    *,
    span: float,
    kills: int,
    undisturbed_every: int = 0,
    changes: int = 1,
) -> Tally:
    """Change a seed, start the command, kill it within `span` seconds; check every file."""
    contents, twin = Contents(sites.test.feeds), Contents(sites.twin.feeds)
    before = contents.now()
    assert before == twin.now()
    tally = Tally()
    started = time.monotonic()
    while tally.kills < kills and time.monotonic() - started < KILL_BUDGET:
        for _ in range(changes):
            sites.change()
        tally.runs += 1
        # Some runs go undisturbed: a run that finishes must give the new bytes too.
        calm = bool(undisturbed_every) and tally.runs % undisturbed_every == 0
        kill_after = None if calm else sites.rng.uniform(0, span)
        sites.copy_twin()
        driver.start(argv, kill_after=kill_after)
        sites.build_twin(copy=False)  # meanwhile, on the other core
        killed, status, _ = driver.result()
        assert killed or status == 0, f"exit status {status}: see {driver.log.name}"
        tally.kills += killed
        after, new = contents.now(), twin.now()
        check_old_or_new(before, after, new)
        fresh = {name for name, digest in after.items() if digest == new.get(name)}
        changed = {name for name in after if after[name] != before.get(name)}
        if changed and after.keys() - fresh - {n for n in after if is_temporary(n)}:
            tally.torn += 1
        tally.completed += after == new
        before = after
    tally.seconds = round(time.monotonic() - started, 1)
    return tally


# -- disk full, write errors -----------------------------------------------------------------------


class FullDisk:
    """os.fsync (or os.replace) that works `room` times for files, then fails with ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real_fsync = os.fsync
        self.real_replace = os.replace

    def _use(self) -> None:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= 1

    def fsync(self, fd: int) -> None:
        if not os.path.isdir(f"/proc/self/fd/{fd}"):  # folders are fsynced too: let them be
            self._use()
        self.real_fsync(fd)

    def replace(self, source: Any, target: Any) -> None:
        self._use()
        self.real_replace(source, target)


def three_seed_site(root: Path) -> Site:
    site = Site(root)
    site.seeds.mkdir(parents=True)
    site.configure("")
    site.write("a", "date 2024-01-01 First\n\ntags: t\n\nA.\n")
    site.write("b", "date 2024-01-02 Second\n\nB.\n")
    return site


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_disk_full_at_any_write_keeps_old_files_and_the_next_run_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    reference = three_seed_site(tmp_path / "reference")
    reference.write("c", "date 2024-01-03 Third\n\ntags: t\n\nC.\n")
    build_once(reference.config(), now=FIXED_NOW)
    new = Contents(reference.feeds).now()
    room = 0
    while True:  # the disk fills up after 0, 1, 2... files: every write fails once
        site = three_seed_site(tmp_path / f"site-{room}")
        build_once(site.config(), now=FIXED_NOW)
        site.write("c", "date 2024-01-03 Third\n\ntags: t\n\nC.\n")
        old, contents = file_states(site.feeds), Contents(site.feeds)
        before = contents.now()
        disk = FullDisk(room)
        with monkeypatch.context() as patch:
            patch.setattr(os, failing, getattr(disk, failing))
            try:
                build_once(site.config(), now=FIXED_NOW)
            except OutputError as exc:
                error: OutputError | None = exc
            else:
                error = None
        if error is None:
            assert room > 3  # the build writes more than three files
            break
        assert "cannot write: No space left on device" in str(error)
        assert str(error).startswith(str(site.feeds) + "/")  # the file is named
        assert error.exit_code == 3
        after = contents.now()
        assert not [name for name in after if is_temporary(name)]
        check_old_or_new(before, after, new)
        states = file_states(site.feeds)
        kept = [name for name, digest in after.items() if digest == before.get(name)]
        assert [states[name] for name in kept] == [old[name] for name in kept]  # times too
        build_once(site.config(), now=FIXED_NOW)  # the disk has room again
        assert Contents(site.feeds).now() == new
        room += 1


DISK_FULL = """
import errno, os, sys
real = os.fsync
def fsync(fd):
    if not os.path.isdir(f"/proc/self/fd/{fd}"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    real(fd)
os.fsync = fsync
from feedpub.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_disk_full_exits_3_naming_the_file(tmp_path: Path) -> None:
    site = three_seed_site(tmp_path)
    assert run_publisher("build", cwd=site.root).returncode == 0
    old = file_states(site.feeds, folder_times=False)
    site.write("c", "date 2024-01-03 Third\n")
    full = subprocess.run(
        [sys.executable, "-c", DISK_FULL, "build"],
        cwd=site.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert full.returncode == 3
    assert full.stderr == (
        f"publisher: error: {site.feeds}/articles/c.html: cannot write: No space left on device\n"
    )
    assert file_states(site.feeds, folder_times=False) == old
    again = run_publisher("build", cwd=site.root)
    assert again.returncode == 0, again.stderr
    assert [e.title for e in site.atom().entries] == ["Third", "Second", "First"]


# -- the state database ----------------------------------------------------------------------------


def _truncate(fraction: float) -> Any:
    def damage(db: Path) -> None:
        os.truncate(db, int(db.stat().st_size * fraction))

    return damage


def _overwrite(data: bytes, suffix: str = "", at: int = 0) -> Any:
    def damage(db: Path) -> None:
        path = Path(f"{db}{suffix}")
        with path.open("r+b" if path.exists() else "wb") as file:
            file.seek(at)
            file.write(data)

    return damage


def _overwrite_page(data: bytes, page: int) -> Any:
    """Overwrite the start of the database's page number `page` (from 1), whatever its size."""

    def damage(db: Path) -> None:
        with db.open("r+b") as file:
            file.seek(16)  # the page size, as the file's header gives it
            size = int.from_bytes(file.read(2), "big")
            file.seek((page - 1) * (65536 if size == 1 else size))
            file.write(data)

    return damage


GARBAGE = random.Random(5).randbytes(64 * 1024)  # noqa: S311 - test data
DAMAGES = {  # how the database is damaged: set aside, or used as it is
    "deleted": (lambda db: db.unlink(), False),
    "truncated-to-half": (_truncate(0.5), True),
    "truncated-to-100-bytes": (lambda db: os.truncate(db, 100), True),
    "garbage": (lambda db: db.write_bytes(GARBAGE), True),
    "zeros": (lambda db: db.write_bytes(bytes(len(GARBAGE))), True),
    "a-page-of-garbage": (_overwrite_page(GARBAGE[:600], page=4), True),
    "wal-of-garbage": (_overwrite(GARBAGE, "-wal"), False),  # SQLite checks and ignores it
    "shm-of-garbage": (_overwrite(GARBAGE[:32768], "-shm"), False),  # ...and rebuilds this one
}
DAMAGES["emptied"] = (_truncate(0.0), False)  # an empty file is an empty database: no loss


def _identities(site: Site) -> dict[str, tuple[str, Any]]:
    return {e.id: (e.title, e.published_parsed) for e in site.atom().entries}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_database_is_set_aside_and_rebuilt_with_ids_and_dates_kept(
    site: Site, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    for number in range(40):
        site.write(f"s{number}", f"date 2024-01-{number % 28 + 1:02} T{number}\n\n{'x ' * 300}\n")
    site.build()
    before = _identities(site)
    db = site.root / ".publisher" / "state.sqlite3"
    spoil, set_aside = DAMAGES[damage]
    spoil(db)
    spoilt = db.read_bytes() if db.exists() else None
    site.write("new", "date 2024-02-01 New\n")
    with caplog.at_level(logging.ERROR):
        report = site.build()
    aside = db.with_name("state.sqlite3.damaged-0")
    if set_aside:
        assert aside.read_bytes() == spoilt  # renamed, not deleted
        assert f"{db}: the state database is damaged; set aside as {aside}" in caplog.text
        assert report.new == 41
    else:
        assert not aside.exists()
    after = _identities(site)
    assert {k: v for k, v in after.items() if v[0] != "New"} == before
    assert len(after) == 41
    assert site.build().written == []
    check_feeds(site.feeds)


@contextlib.contextmanager
def database_locked_by_another_process(db: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdin is not None
    try:
        assert holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.close()
"""


def test_a_locked_database_is_waited_for_then_a_clear_error(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from feedpub.cli import main

    site.write("a", "date 2024-01-01 A\n")
    site.build()
    old = file_states(site.feeds)
    site.write("b", "date 2024-01-02 B\n")
    monkeypatch.setattr(feedpub.database, "BUSY_TIMEOUT", 0.5)  # the real one waits 30 s
    db = site.root / ".publisher" / "state.sqlite3"
    with database_locked_by_another_process(db):
        started = time.monotonic()
        with pytest.raises(StoreError) as raised:
            site.build()
        assert time.monotonic() - started >= 0.5  # it waited
        assert str(raised.value).startswith(
            f"{db}: the state database is locked by another process (waited 0.5 s)"
        )
        assert raised.value.exit_code == 4
        with root_logging_kept():
            code = main(["--config", str(site.config_path), "build"])
        assert code == 4
        err = capsys.readouterr().err
        assert err.startswith(f"publisher: error: {db}: the state database is locked")
        assert "Traceback" not in err
        assert file_states(site.feeds) == old
    site.build()  # once the other process lets go, nothing was lost
    assert [e.title for e in site.atom().entries] == ["B", "A"]


@contextlib.contextmanager
def root_logging_kept() -> Iterator[None]:
    """cli.main sets up the root logger for a process; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_index_and_feeds_are_private_and_public_as_they_should_be(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    assert run_publisher("build", cwd=site.root).returncode == 0
    db = site.root / ".publisher" / "state.sqlite3"
    assert db.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


# -- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("colour = 'blue'\n", "unknown key 'colour'"),
        ("max_entries = 'ten'\n", "max_entries: expected a positive integer, got 'ten'"),
        ("max_seed_bytes = -1\n", "max_seed_bytes: expected a positive integer, got -1"),
        ("pages = 'yes'\n", "pages: expected true or false, got 'yes'"),
        ("feed_url = 'feeds/'\n", "feed_url: not an absolute http(s) URL: 'feeds/'"),
        ("link_template = 'javascript:{slug}'\n", "link_template: not an absolute http(s) URL"),
        ("timezone = 'Mars/Olympus'\n", "timezone: unknown time zone 'Mars/Olympus'"),
        ("timezone = '../../etc/passwd'\n", "timezone: unknown time zone '../../etc/passwd'"),
    ],
)
def test_a_config_error_exits_2_naming_the_key(site: Site, extra: str, named: str) -> None:
    site.configure(extra)
    result = run_publisher("build", cwd=site.root)
    assert result.returncode == 2
    assert result.stderr.startswith(f"publisher: error: publisher.toml: {named}")
    assert result.stderr.count("\n") == 1
    assert not site.feeds.exists()


def test_a_missing_config_file_given_by_flag_exits_2(site: Site) -> None:
    result = run_publisher("--config", "elsewhere.toml", "build", cwd=site.root)
    assert (result.returncode, result.stderr) == (
        2,
        "publisher: error: elsewhere.toml: no such config file\n",
    )
    assert not (site.root / "elsewhere.toml").exists()
