"""`publisher build` keeps the index's stats in .publisher/stats and polls against them.

The oracle for each step is a copy of the whole site (seeds, state, feeds) taken before it and
brought up to date by a build with no snapshot (a full scan against the index): the kept-snapshot
build must leave every file of feeds/ byte for byte as that build does.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feedpub import build as build_module
from feedpub.build import GENERATION, STATE_FILE, build_once
from feedpub.cli import main
from feedpub.scan import scan_tree
from feedpub.snapshot import STATS_FILE, load_snapshot
from feedpub.store import open_store
from tests.conftest import FIXED_NOW, Site, feed_files
from tests.test_snapshot import (
    BASE_NS,
    Clock,
    DaemonRuns,
    index_stats,
    seed_text,
    snapshot_stats,
)


def write(path: Path, text: str, mtime_ns: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))


def cron(site: Site) -> int:
    """`publisher build` as cron runs it, in this process (so that scans can be counted)."""
    return main(["--config", str(site.config_path), "-q", "build"])


def index_generation(site: Site) -> str | None:
    with open_store(site.root / ".publisher" / STATE_FILE) as store:
        return store.get_meta(GENERATION)


def kept_stats(site: Site) -> dict[str, tuple[int, int]]:
    return snapshot_stats(load_snapshot(site.root / ".publisher"))


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """main() sets up logging for a process: put the test run's back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """`publisher build` reads the clock through build.now: the oracle's clock, then."""
    monkeypatch.setattr(build_module, "now", lambda: FIXED_NOW)


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every full scan a build makes, by seeds folder."""
    calls: list[Path] = []
    real = scan_tree

    def counting(seeds_dir: Path, *, stats: bool = False) -> Any:
        if "twin-" not in str(seeds_dir):  # the oracle's scans are not counted
            calls.append(seeds_dir)
        return real(seeds_dir, stats=stats)

    monkeypatch.setattr(build_module, "scan_tree", counting)
    return calls


def step_against_a_full_scan(site: Site, tmp_path: Path, change: Callable[[Path], object]) -> None:
    """Apply `change` to a copy and to the site; a full scan on the copy, cron on the site."""
    twin = tmp_path / f"twin-{len(list(tmp_path.glob('twin-*')))}"
    shutil.copytree(site.root, twin, symlinks=True)
    twin_site = Site(twin)
    change(twin_site.seeds)
    change(site.seeds)
    build_once(twin_site.config(), now=FIXED_NOW)  # no snapshot: reads the index, scans
    assert cron(site) == (1 if (site.seeds / "bad.txt").exists() else 0)  # 1: a seed skipped
    assert feed_files(site.feeds) == feed_files(twin_site.feeds)
    assert kept_stats(site) == index_stats(site)
    assert load_snapshot(site.root / ".publisher").generation == index_generation(site)


def test_a_build_keeps_the_stats_and_the_next_build_does_not_scan(
    site: Site, scans: list[Path]
) -> None:
    clock = Clock()
    write(site.seeds / "a.txt", seed_text("A"), clock())
    write(site.seeds / "2024" / "b.txt", seed_text("B"), clock())
    assert cron(site) == 0
    assert len(scans) == 1  # nothing kept yet: a full scan
    stats = site.root / ".publisher" / STATS_FILE
    assert not stats.exists()  # a first build keeps none: its peak memory stays that of a build
    before = {path: path.stat().st_mtime_ns for path in site.feeds.rglob("*")}
    assert cron(site) == 0
    assert len(scans) == 2  # still nothing kept: a full scan, and now the stats are kept
    assert stats.stat().st_mode & 0o777 == 0o600
    assert kept_stats(site) == index_stats(site)
    kept = stats.read_bytes()
    assert cron(site) == 0
    assert len(scans) == 2  # a poll against the kept stats: no scan, no read of the index
    assert {path: path.stat().st_mtime_ns for path in site.feeds.rglob("*")} == before
    assert stats.read_bytes() == kept  # nothing changed: not rewritten
    write(site.seeds / "2024" / "c.txt", seed_text("C"), clock())
    assert cron(site) == 0
    assert len(scans) == 2
    assert sorted(e.title for e in site.atom().entries) == ["A", "B", "C"]
    assert kept_stats(site) == index_stats(site)


def test_builds_with_kept_stats_see_every_kind_of_change(
    site: Site, tmp_path: Path, scans: list[Path]
) -> None:
    clock = Clock()
    write(site.seeds / "a.txt", seed_text("A"), clock())
    write(site.seeds / "b.txt", seed_text("B"), clock())
    write(site.seeds / "2024" / "deep" / "c.txt", seed_text("C"), clock())
    assert cron(site) == 0
    assert cron(site) == 0  # the first build keeps no stats; the second does
    full_scans = len(scans)
    changes: list[tuple[Callable[[Path], object], bool]] = [
        # (change, whether a poll alone can see it)
        (lambda seeds: write(seeds / "d.txt", seed_text("D"), BASE_NS + 10 * 10**9), True),
        (lambda seeds: write(seeds / "a.txt", seed_text("Z"), BASE_NS + 11 * 10**9), True),
        (lambda seeds: os.utime(seeds / "b.txt", ns=(1, BASE_NS + 12 * 10**9)), True),
        (lambda seeds: (seeds / "b.txt").unlink(), False),
        (lambda seeds: (seeds / "a.txt").rename(seeds / "a.md"), False),
        (lambda seeds: write(seeds / "a.txt", seed_text("Twin"), BASE_NS + 13 * 10**9), False),
        (lambda seeds: (seeds / "a.md").unlink(), False),
        (lambda seeds: shutil.rmtree(seeds / "2024" / "deep"), False),
        (lambda seeds: write(seeds / "2025" / "e.md", "date 2025-01-01 E\n\n*e*\n", 10**18), True),
        (lambda seeds: (seeds / "2025").rename(seeds / "2026"), False),
        (lambda seeds: write(seeds / "bad.txt", "no date line\n", BASE_NS + 14 * 10**9), True),
    ]
    for change, poll_sees_it in changes:
        step_against_a_full_scan(site, tmp_path, change)
        full_scans += not poll_sees_it  # a deletion or a twin: the poll hands over to a scan
        assert len(scans) == full_scans, changes.index((change, poll_sees_it))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),
        lambda data: b"feedpub-stats 9\n" + data[16:],
        lambda data: os.urandom(len(data)),
    ],
    ids=["empty", "truncated", "flipped-bit", "other-version", "garbage"],
)
def test_a_damaged_stats_file_is_ignored_and_replaced(
    site: Site, tmp_path: Path, scans: list[Path], damage: Callable[[bytes], bytes]
) -> None:
    clock = Clock()
    write(site.seeds / "a.txt", seed_text("A"), clock())
    assert cron(site) == 0
    assert cron(site) == 0  # the first build keeps no stats; the second does
    stats = site.root / ".publisher" / STATS_FILE
    stats.write_bytes(damage(stats.read_bytes()))
    assert load_snapshot(site.root / ".publisher").generation is None
    step_against_a_full_scan(
        site, tmp_path, lambda seeds: write(seeds / "b.txt", seed_text("B"), BASE_NS)
    )
    assert len(scans) == 3  # the damaged file was not trusted


def test_stats_kept_by_a_build_are_not_trusted_once_another_run_changed_the_index(
    site: Site,
) -> None:
    clock = Clock()
    first = clock()
    write(site.seeds / "a.txt", seed_text("One"), first)
    assert cron(site) == 0
    assert cron(site) == 0  # the first build keeps no stats; the second does
    assert load_snapshot(site.root / ".publisher").generation == index_generation(site)
    write(site.seeds / "a.txt", seed_text("Two"), clock())  # the same size: only the time moves
    assert build_once(site.config(), now=FIXED_NOW).updated == 1  # the daemon, say
    write(site.seeds / "a.txt", seed_text("One"), first)  # back to what the kept stats hold
    # Trusting them would find nothing changed and leave "Two" in the feeds.
    assert cron(site) == 0
    assert [entry.title for entry in site.atom().entries] == ["One"]


def test_stats_that_cannot_be_written_cost_nothing_but_a_scan(
    site: Site, scans: list[Path]
) -> None:
    clock = Clock()
    write(site.seeds / "a.txt", seed_text("A"), clock())
    stats = site.root / ".publisher" / STATS_FILE
    stats.mkdir(parents=True)  # a folder in the way: the rename fails
    assert cron(site) == 0
    write(site.seeds / "b.txt", seed_text("B"), clock())
    assert cron(site) == 0
    assert cron(site) == 0
    assert len(scans) == 3  # every build scans: none could keep its stats
    assert sorted(entry.title for entry in site.atom().entries) == ["A", "B"]
    assert not (site.root / ".publisher" / ".stats.tmp").exists()  # no temporary left


def test_a_temporary_left_by_a_kill_is_removed(site: Site) -> None:
    write(site.seeds / "a.txt", seed_text("A"), BASE_NS)
    assert cron(site) == 0
    assert cron(site) == 0
    temporary = site.root / ".publisher" / ".stats.tmp"
    temporary.write_bytes(b"half a snapshot")
    assert cron(site) == 0  # nothing changed: nothing to keep, the leftover goes
    assert sorted(os.listdir(site.root / ".publisher")) == [
        "lock",
        "state.sqlite3",
        "state.sqlite3-checked",
        "stats",
    ]


@pytest.mark.parametrize("how", ["full scan", "cron with kept stats", "daemon poll", "event"])
def test_renaming_a_seed_to_md_keeps_its_times_and_still_makes_it_markdown(
    site: Site, how: str
) -> None:
    """`mv notes.txt notes.md` keeps the file's size and times: the index must still see it."""
    text = "date 2024-01-02 Notes\n\nSome *emphasis* here.\n"
    write(site.seeds / "notes.txt", text, BASE_NS)
    daemon = DaemonRuns(site)
    run: Callable[[], object] = {
        "full scan": lambda: build_once(site.config(), now=FIXED_NOW),
        "cron with kept stats": lambda: cron(site),
        "daemon poll": daemon.run,
        "event": lambda: daemon.run([site.seeds / "notes.txt", site.seeds / "notes.md"]),
    }[how]
    run()
    run()  # the second keeps stats or a snapshot, where there are any to keep
    [entry] = site.atom().entries
    assert "*emphasis*" in entry.content[0].value
    (site.seeds / "notes.txt").rename(site.seeds / "notes.md")
    assert (site.seeds / "notes.md").stat().st_mtime_ns == BASE_NS
    run()
    [entry] = site.atom().entries
    assert "<em>emphasis</em>" in entry.content[0].value
    assert entry.updated_parsed != entry.published_parsed  # an edit: updated moves, id stays
    run()
    assert [e.id for e in site.atom().entries] == [entry.id]
