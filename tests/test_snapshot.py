"""The daemon's quick runs: a snapshot of the index's stats between runs, and event-named paths.

Whatever a run looks at, what it leaves must be what a run that reads everything would leave:
after every run the index's stats equal the files', and the feeds a fresh build would write.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from feedpub.build import STATE_FILE, BuildReport, build_once
from feedpub.scan import scan_tree
from feedpub.snapshot import Snapshot
from feedpub.store import open_store
from feedpub.watch import Daemon
from tests.conftest import FIXED_NOW, Site

FEEDS_ONLY = "pages = false\narchives = false\n"
BASE_NS = 1_700_000_000 * 10**9


class Clock:
    """Distinct file times, whatever the file system's timestamp granularity."""

    def __init__(self) -> None:
        self.ns = BASE_NS

    def __call__(self) -> int:
        self.ns += 10**9
        return self.ns


def seed_text(title: str) -> str:
    return f"date 2024-01-02 {title}\n\nBody of {title}.\n"


def index_stats(site: Site) -> dict[str, tuple[int, int]]:
    with open_store(site.root / ".publisher" / STATE_FILE) as store:
        return {slug: (known.size, known.mtime_ns) for slug, known in store.known().items()}


def file_stats(site: Site) -> dict[str, tuple[int, int]]:
    return {s.slug: (s.size, s.mtime_ns) for s in scan_tree(site.seeds).files.values()}


def snapshot_stats(snapshot: Snapshot) -> dict[str, tuple[int, int]]:
    folders = snapshot.index.folders
    return {
        prefix + name.rsplit(".", 1)[0]: stat
        for prefix, names in folders.items()
        for name, stat in names.items()
    }


def titles(site: Site) -> list[str]:
    return sorted(entry.title for entry in site.atom().entries)


class DaemonRuns:
    """build_once as the daemon calls it: the last report's snapshot handed to the next run."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.snapshot = Snapshot()

    def run(self, paths: list[Path] | None = None) -> BuildReport:
        named = None if paths is None else {str(path) for path in paths}
        report = build_once(self.site.config(), now=FIXED_NOW, snapshot=self.snapshot, paths=named)
        assert report.snapshot is not None
        self.snapshot = report.snapshot
        assert snapshot_stats(self.snapshot) == index_stats(self.site)
        return report


@pytest.fixture
def feeds_only(site: Site) -> Site:
    site.configure(FEEDS_ONLY)
    return site


def test_a_poll_with_a_snapshot_sees_additions_edits_renames_and_deletions(
    feeds_only: Site,
) -> None:
    site, clock = feeds_only, Clock()
    site.write("a", seed_text("A"), mtime_ns=clock())
    site.write("b", seed_text("B"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    assert daemon.run().new == 2
    assert daemon.run().written == []  # nothing changed: nothing written
    site.write("c", seed_text("C"), mtime_ns=clock())
    assert daemon.run().new == 1
    site.write("a", seed_text("A2"), mtime_ns=clock())
    assert daemon.run().updated == 1
    (site.seeds / "b.txt").rename(site.seeds / "b2.txt")
    report = daemon.run()
    assert (report.new, report.removed) == (1, 1)
    (site.seeds / "c.txt").unlink()
    assert daemon.run().removed == 1
    assert titles(site) == ["A2", "B"]
    assert index_stats(site) == file_stats(site)


def test_a_poll_with_a_snapshot_sees_folders_added_and_removed(feeds_only: Site) -> None:
    site, clock = feeds_only, Clock()
    site.write("top", seed_text("Top"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    site.write("2024/one", seed_text("One"), mtime_ns=clock())
    site.write("2024/deep/two", seed_text("Two"), mtime_ns=clock())
    assert daemon.run().new == 2
    shutil.rmtree(site.seeds / "2024" / "deep")
    assert daemon.run().removed == 1
    (site.seeds / "2024").rename(site.seeds / "2025")
    report = daemon.run()
    assert (report.new, report.removed) == (1, 1)
    assert titles(site) == ["One", "Top"]
    assert index_stats(site) == file_stats(site)


def test_a_cron_build_between_two_daemon_runs_makes_the_snapshot_stale(feeds_only: Site) -> None:
    site, clock = feeds_only, Clock()
    first = clock()
    site.write("a", seed_text("One"), mtime_ns=first)
    daemon = DaemonRuns(site)
    daemon.run()
    site.write("a", seed_text("Two"), mtime_ns=clock())  # the same size: only the time differs
    assert build_once(site.config(), now=FIXED_NOW).updated == 1  # cron, in another process
    assert titles(site) == ["Two"]
    site.write("a", seed_text("One"), mtime_ns=first)  # back to what the snapshot holds
    # Trusting the snapshot would find nothing changed and leave "Two" in the feeds.
    assert daemon.run().updated == 1
    assert titles(site) == ["One"]


def test_a_cron_build_that_removes_a_seed_is_seen_by_the_next_daemon_run(feeds_only: Site) -> None:
    site, clock = feeds_only, Clock()
    stamp = clock()
    site.write("a", seed_text("A"), mtime_ns=stamp)
    site.write("b", seed_text("B"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    (site.seeds / "a.txt").unlink()
    assert build_once(site.config(), now=FIXED_NOW).removed == 1
    site.write("a", seed_text("A"), mtime_ns=stamp)  # the same file again, the same stat
    assert daemon.run().new == 1
    assert titles(site) == ["A", "B"]


def test_an_event_run_looks_only_at_the_paths_named(feeds_only: Site) -> None:
    site, clock = feeds_only, Clock()
    site.write("a", seed_text("A"), mtime_ns=clock())
    site.write("b", seed_text("B"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    new = site.write("c", seed_text("C"), mtime_ns=clock())
    site.write("a", seed_text("A2"), mtime_ns=clock())  # no event named it (yet)
    report = daemon.run([new])
    assert (report.new, report.updated) == (1, 0)
    assert titles(site) == ["A", "B", "C"]
    report = daemon.run()  # the poll, the safety net for missed events, sees the rest
    assert report.updated == 1
    assert titles(site) == ["A2", "B", "C"]


def test_a_seed_deleted_while_an_event_run_named_another_is_removed_by_the_next_poll(
    feeds_only: Site,
) -> None:
    site, clock = feeds_only, Clock()
    site.write("a", seed_text("A"), mtime_ns=clock())
    site.write("b", seed_text("B"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    (site.seeds / "b.txt").unlink()
    new = site.write("c", seed_text("C"), mtime_ns=clock())
    report = daemon.run([new])
    assert (report.new, report.removed) == (1, 0)
    assert daemon.run().removed == 1  # the poll finds one seed fewer than it knows: a scan
    assert titles(site) == ["A", "C"]
    assert index_stats(site) == file_stats(site)


def test_an_event_run_naming_a_deleted_or_renamed_seed_removes_it(feeds_only: Site) -> None:
    site, clock = feeds_only, Clock()
    site.write("a", seed_text("A"), mtime_ns=clock())
    site.write("sub/b", seed_text("B"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    old, new = site.seeds / "sub" / "b.txt", site.seeds / "sub" / "b2.txt"
    old.rename(new)
    report = daemon.run([old, new])
    assert (report.new, report.removed) == (1, 1)
    (site.seeds / "a.txt").unlink()
    assert daemon.run([site.seeds / "a.txt"]).removed == 1
    assert titles(site) == ["B"]


@pytest.mark.parametrize(
    "odd",
    [
        "outside",  # not under seeds/: the run walks instead
        "twin",  # a.md beside a.txt: which one wins is scan_tree's to say
        "link",  # a symbolic link: scan_tree refuses it, with a warning
    ],
)
def test_an_event_run_hands_odd_paths_to_a_full_walk(feeds_only: Site, odd: str) -> None:
    site, clock = feeds_only, Clock()
    site.write("a", seed_text("A"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    site.write("b", seed_text("B"), mtime_ns=clock())  # no event named it: only a walk sees it
    named: Path
    if odd == "outside":
        named = site.root / "elsewhere.txt"
    elif odd == "twin":
        named = site.seeds / "a.md"
        named.write_text("date 2024-01-02 A in Markdown\n\nBody.\n", encoding="utf-8")
    else:
        named = site.seeds / "l.txt"
        named.symlink_to(site.seeds / "a.txt")
    daemon.run([named])
    assert "B" in titles(site)
    assert index_stats(site) == file_stats(site)
    assert build_once(site.config(), now=FIXED_NOW).written == []  # a full run: nothing left


def test_hidden_and_temporary_paths_named_by_events_are_ignored(feeds_only: Site) -> None:
    site, clock = feeds_only, Clock()
    site.write("a", seed_text("A"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    hidden = site.write(".draft", seed_text("Draft"), mtime_ns=clock())
    inside = site.write(".git/x", seed_text("X"), mtime_ns=clock())
    report = daemon.run([hidden, inside, site.seeds / "a.txt.swp"])
    assert (report.new, report.removed, report.written) == (0, 0, [])


def test_churn_with_snapshots_events_and_cron_builds_matches_the_files(feeds_only: Site) -> None:
    site, clock = feeds_only, Clock()
    rng = random.Random(7)  # noqa: S311 - test data from a seeded generator
    daemon = DaemonRuns(site)
    names = [f"s{i}" for i in range(12)] + [f"f{j}/s{i}" for j in range(3) for i in range(4)]
    for step in range(80):
        slug = rng.choice(names)
        path = site.seeds / f"{slug}.txt"
        action = rng.choice(["write", "write", "delete", "rmdir", "rename", "cron"])
        named: list[Path] = [path]
        if action == "write":
            site.write(slug, seed_text(f"T{step}"), mtime_ns=clock())
        elif action == "delete":
            path.unlink(missing_ok=True)
        elif action == "rmdir" and "/" in slug:
            shutil.rmtree(path.parent, ignore_errors=True)
            named = []  # a folder event: the daemon walks
        elif action == "rename" and path.exists():
            target = site.seeds / f"{rng.choice(names)}.txt"
            target.parent.mkdir(exist_ok=True)
            path.rename(target)
            named = [path, target]
        elif action == "cron":
            build_once(site.config(), now=FIXED_NOW)
        daemon.run(named if named and rng.random() < 0.6 else None)
        if rng.random() < 0.3:
            daemon.run()  # an interval poll
        daemon.run()
        assert index_stats(site) == file_stats(site), f"step {step}: {action} {slug}"


# The daemon's side: which runs get paths, and which snapshot.


def make_daemon(site: Site, calls: list[dict[str, Any]]) -> Daemon:
    from apscheduler.schedulers.blocking import BlockingScheduler

    def build(config: Any, **options: Any) -> BuildReport:
        calls.append(options)
        return BuildReport(snapshot=Snapshot(generation=f"g{len(calls)}"))

    return Daemon(BlockingScheduler(), site.config, site.config(), settle=2.0, build=build)


def test_the_daemon_passes_event_paths_and_its_last_snapshot(site: Site) -> None:
    from watchdog.events import DirCreatedEvent, FileCreatedEvent, FileDeletedEvent

    calls: list[dict[str, Any]] = []
    daemon = make_daemon(site, calls)
    daemon.run(events=True)  # the start: a whole walk
    assert calls[0]["paths"] is None
    assert calls[0]["snapshot"].generation is None
    new, gone = str(site.seeds / "n.txt"), str(site.seeds / "sub" / "g.md")
    daemon.on_event(FileCreatedEvent(new))
    daemon.on_event(FileDeletedEvent(gone))
    daemon.on_event(FileCreatedEvent(str(site.seeds / "notes.html")))
    daemon.run(events=True)
    assert calls[1]["paths"] == {new, gone}
    assert calls[1]["snapshot"].generation == "g1"
    daemon.run()  # the interval poll
    assert calls[2]["paths"] is None
    daemon.on_event(FileCreatedEvent(new))
    daemon.on_event(DirCreatedEvent(str(site.seeds / "2024")))
    daemon.run(events=True)
    assert calls[3]["paths"] is None  # a folder came: its files had no events of their own


def test_a_trusted_snapshot_spares_the_scan_and_a_stale_one_does_not(
    feeds_only: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedpub.build

    site, clock = feeds_only, Clock()
    site.write("a", seed_text("A"), mtime_ns=clock())
    daemon = DaemonRuns(site)
    daemon.run()
    scans: list[Path] = []
    real = scan_tree

    def counted(seeds_dir: Path, *, stats: bool = False) -> Any:
        scans.append(seeds_dir)
        return real(seeds_dir, stats=stats)

    monkeypatch.setattr(feedpub.build, "scan_tree", counted)
    site.write("b", seed_text("B"), mtime_ns=clock())
    daemon.run()
    daemon.run([site.seeds / "c.txt"])
    assert scans == []
    build_once(site.config(), now=FIXED_NOW)  # cron, nothing to change: the snapshot holds
    daemon.run()
    assert len(scans) == 1
    site.write("c", seed_text("C"), mtime_ns=clock())
    build_once(site.config(), now=FIXED_NOW)  # cron, indexing c: the snapshot is stale
    daemon.run()
    assert len(scans) == 3


def test_a_full_scans_snapshot_has_the_index_stats_of_seeds_it_did_not_read_as_scanned(
    feeds_only: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run with a full scan takes its snapshot from the scan's stats. Where the index has other
    # stats than the scan saw, the snapshot must have the index's: a seed edited or deleted
    # between the scan and its read, and seeds left unsettled (known or new).
    import time

    import feedpub.build

    site, clock = feeds_only, Clock()
    for slug in ("same", "edited", "gone", "young"):
        site.write(slug, seed_text(slug.title()), mtime_ns=clock())
    build_once(site.config(), now=FIXED_NOW)
    site.write("edited", seed_text("Edited once"), mtime_ns=clock())
    site.write("new-gone", seed_text("New and gone"), mtime_ns=clock())
    site.write("gone", seed_text("Gone"), mtime_ns=clock())  # changed, then deleted after the scan
    site.write("young", seed_text("Young again"), mtime_ns=time.time_ns())  # unsettled, known
    site.write("newborn", seed_text("Newborn"), mtime_ns=time.time_ns())  # unsettled, new
    scanned: dict[str, Any] = {}
    real = scan_tree

    def scan_then_meddle(seeds_dir: Path, *, stats: bool = False) -> Any:
        tree = real(seeds_dir, stats=stats)
        scanned.update(tree.files)
        site.write("edited", seed_text("Edited twice"), mtime_ns=clock())
        (site.seeds / "gone.txt").unlink()
        (site.seeds / "new-gone.txt").unlink()
        return tree

    monkeypatch.setattr(feedpub.build, "scan_tree", scan_then_meddle)
    report = build_once(site.config(), now=FIXED_NOW, snapshot=Snapshot(), settle=3600)
    assert report.snapshot is not None
    assert report.unsettled == 2
    indexed = {slug: stat for slug, stat in index_stats(site).items() if slug in scanned}
    assert sorted(indexed) == ["edited", "gone", "same", "young"]
    assert snapshot_stats(report.snapshot) == indexed
    assert indexed["edited"] != (scanned["edited"].size, scanned["edited"].mtime_ns)
