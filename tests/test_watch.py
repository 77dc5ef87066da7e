"""`publisher watch`: a real daemon in a subprocess, its feeds read back while it runs.

Every wait has a deadline (`wait_for`), never a bare sleep. Daemons run with `-v`, so that each
run leaves one line in the log ("no change" at DEBUG), which the tests count. A few in-process
tests drive `Daemon.run` with a fake build, for what a subprocess cannot show.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler
from watchdog.events import FileClosedEvent

from feedpub.build import BuildReport
from feedpub.errors import OutputError
from feedpub.events import SeedWatch
from feedpub.model import entry_id
from feedpub.output import TEMP_PREFIX, site_lock
from feedpub.watch import Daemon
from tests.conftest import FEED_ID, ROOT, Site, read_feed

PUBLISHER = str(ROOT / "publisher.py")
FEED_FILES = ("atom.xml", "rss.xml")
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
DEADLINE = 10.0  # seconds; generous for a loaded machine: the benchmark measures latency
RUN_LINE = re.compile(r" (?:DEBUG no change|INFO published [^:]+:|INFO feeds unchanged:)")
NEW_COUNT = re.compile(r"(\d+) new, \d+ updated, \d+ removed")
FEEDS_ONLY = "pages = false\narchives = false\n"  # for many seeds: no page per seed to write
T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None], *, what: str, timeout: float = DEADLINE, every: float = 0.05
) -> T:
    """Poll `condition` until it returns something true; fail, saying `what`, at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:g} s for {what}")
        time.sleep(every)


class Watch:
    """`publisher watch` on a site; its log goes to a file. Always reaped at the end."""

    def __init__(self, site: Site, number: int, *args: str) -> None:
        self.log_path = site.root / f"watch-{number}.log"
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    PUBLISHER,
                    "--config",
                    str(site.config_path),
                    "watch",
                    "-v",
                    *args,
                ],
                cwd=site.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=ENV,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def runs(self) -> int:
        """How many runs have finished, as the log tells."""
        return len(RUN_LINE.findall(self.log()))

    def new_seeds(self) -> int:
        return sum(int(count) for count in NEW_COUNT.findall(self.log()))

    def stop(self, number: int = signal.SIGTERM) -> tuple[int, float]:
        """Send a signal; the exit status and how long the daemon took to exit."""
        started = time.monotonic()
        self.process.send_signal(number)
        status = self.process.wait(timeout=DEADLINE)
        return status, time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def start(site: Site) -> Iterator[Callable[..., Watch]]:
    """Start a daemon and wait for its first run; every daemon started is killed at the end."""
    started: list[Watch] = []

    def start_watch(*args: str) -> Watch:
        watch = Watch(site, len(started), *args)
        started.append(watch)
        wait_for(
            lambda: (
                ("watching " in watch.log() and watch.runs() > 0)
                or watch.process.poll() is not None
            ),
            what="the daemon's first run",
        )
        assert watch.process.poll() is None, watch.log()
        return watch

    yield start_watch
    for watch in started:
        watch.close()


def cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, PUBLISHER, "--config", str(site.config_path), *args],
        cwd=site.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=ENV,
    )


def both(site: Site, slug: str, text: str = "") -> tuple[Any, Any] | None:
    """The seed's entry in atom.xml and in rss.xml, when both have it (with `text` in it)."""
    wanted = entry_id(FEED_ID, slug)
    found = [
        [entry for entry in feed.entries if entry.id == wanted and text in entry.content[0].value]
        for feed in (site.atom(), site.rss())
    ]
    return (found[0][0], found[1][0]) if all(found) else None


def neither(site: Site, slug: str) -> bool:
    """Whether both feeds have done without the seed's entry."""
    wanted = entry_id(FEED_ID, slug)
    return wanted not in ids(site.atom()) and wanted not in ids(site.rss())


def ids(feed: Any) -> list[str]:
    return [entry.id for entry in feed.entries]


def seed_text(title: str, body: str, date: str = "2024-03-01T10:00:00Z") -> str:
    return f"date {date} {title}\n\n{body}\n"


def test_a_seed_dropped_edited_moved_and_deleted_shows_in_both_feeds(
    site: Site, start: Callable[..., Watch]
) -> None:
    start()
    site.write("2024/hello", seed_text("Hello", "First body."))  # in a folder new to the watch
    atom, rss = wait_for(lambda: both(site, "2024/hello"), what="the new seed in both feeds")
    assert (atom.title, rss.title) == ("Hello", "Hello")
    assert atom.content[0].value == "<p>First body.</p>"

    site.write("2024/hello", seed_text("Hello", "Second body."))
    edited = wait_for(lambda: both(site, "2024/hello", "Second body."), what="the edit")
    assert edited[0].updated != atom.updated
    assert edited[0].published == atom.published

    draft = site.seeds / ".draft.txt.tmp"  # an editor's atomic save: write, close, rename
    draft.write_text(seed_text("Draft", "Saved atomically."), encoding="utf-8")
    draft.replace(site.seeds / "draft.txt")
    wait_for(lambda: both(site, "draft"), what="a seed renamed into place")
    (site.seeds / "draft.txt").replace(site.root / "draft.txt")
    wait_for(lambda: neither(site, "draft"), what="a seed moved out to leave the feeds")
    (site.seeds / "2024" / "hello.txt").unlink()
    wait_for(lambda: neither(site, "2024/hello"), what="a deleted seed to leave the feeds")
    assert site.atom().entries == site.rss().entries == []


def test_a_seeds_folder_replaced_while_the_daemon_runs_is_watched_again(
    site: Site, start: Callable[..., Watch]
) -> None:
    watch = start("--every", "0.3")
    site.seeds.rename(site.root / "old-seeds")
    site.seeds.mkdir()
    wait_for(lambda: "watch was lost" in watch.log(), what="the lost watch noticed by a poll")
    # "watching" is logged once the new watch is in place, a moment after the loss is
    wait_for(lambda: watch.log().count("INFO watching ") == 2, what="the folder watched again")
    site.write("new", seed_text("New", "In the new folder."))
    wait_for(lambda: both(site, "new"), what="a seed in the new folder")
    assert watch.log().count("INFO watching ") == 2  # once at the start, once again: no more


def test_a_burst_of_1000_seeds_gives_a_few_runs(site: Site, start: Callable[..., Watch]) -> None:
    site.configure(FEEDS_ONLY)
    watch = start()
    runs_before = watch.runs()
    for number in range(1000):
        site.write(f"burst/{number:04d}", seed_text(f"Burst {number}", "Body."))
    wait_for(lambda: watch.new_seeds() == 1000, what="1000 new seeds in the log")
    assert watch.runs() - runs_before <= 5, watch.log()
    newest = [entry_id(FEED_ID, f"burst/{number:04d}") for number in range(50)]  # ties: by slug
    assert ids(site.atom()) == newest
    assert ids(site.rss()) == newest


def test_a_seed_written_slowly_never_shows_truncated(
    site: Site, start: Callable[..., Watch]
) -> None:
    start("--every", "0.5")  # polls keep coming while the file grows; settle is 2 s
    chunks = [seed_text("Slow", "The first part")[:-1], " and the second part", " and the end.\n"]
    whole = "<p>The first part and the second part and the end.</p>"
    seen: list[str] = []
    with (site.seeds / "slow.txt").open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(chunk)
            out.flush()
            paused_until = time.monotonic() + 1.2
            while time.monotonic() < paused_until:  # the writer pauses; the feeds are sampled
                if found := both(site, "slow"):
                    seen += [entry.content[0].value for entry in found]
                time.sleep(0.05)
    assert seen == [], "published before the writer closed the file"
    found = wait_for(lambda: both(site, "slow"), what="the seed once closed")
    assert [entry.content[0].value for entry in found] == [whole, whole]


def test_a_future_seed_goes_live_within_a_second_of_its_date_and_not_before(
    site: Site, start: Callable[..., Watch]
) -> None:
    start()
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)  # 3 to 4 s ahead
    site.write("soon", seed_text("Soon", "On time.", date=f"{due:%Y-%m-%dT%H:%M:%SZ}"))
    first_seen = None
    while time.time() < due.timestamp() + 3:
        started = time.time()
        found = both(site, "soon")
        if found:
            assert time.time() >= due.timestamp(), "published before its date"
            first_seen = started
            break
        time.sleep(0.02)
    assert first_seen is not None, "not published within 3 s of its date"
    assert first_seen - due.timestamp() < 1.0


def test_sigterm_exits_0_quickly_and_a_restart_changes_nothing(
    site: Site, start: Callable[..., Watch]
) -> None:
    for number in range(3):
        site.write(f"s{number}", seed_text(f"Seed {number}", f"Body {number}.", "2024-02-01"))
    first = start()
    paths = [site.feeds / name for name in FEED_FILES]
    wait_for(lambda: len(site.atom().entries) == len(site.rss().entries) == 3, what="3 entries")
    before = [(path.read_bytes(), path.stat().st_mtime_ns) for path in paths]
    status, seconds = first.stop(signal.SIGTERM)
    assert (status, seconds < 2) == (0, True), (seconds, first.log())

    second = start()
    assert [(path.read_bytes(), path.stat().st_mtime_ns) for path in paths] == before
    assert " INFO published " not in second.log()
    assert " INFO feeds unchanged" not in second.log()
    assert len(set(ids(site.atom()))) == len(ids(site.atom())) == 3
    status, seconds = second.stop(signal.SIGINT)
    assert (status, seconds < 2) == (0, True), (seconds, second.log())


def move_in(site: Site, folder: str, count: int, body: str = "Body.") -> list[str]:
    """Write `count` seeds outside seeds/, then move their folder in: one event, one run."""
    staging = site.root / "staging"
    staging.mkdir()
    for number in range(count):
        path = staging / f"{number:04d}.txt"
        path.write_text(seed_text(f"Seed {number}", body), encoding="utf-8")
        os.utime(path, (1e9, 1e9))  # long settled
    staging.replace(site.seeds / folder)
    return [f"{folder}/{number:04d}" for number in range(count)]


def test_sigterm_while_a_run_waits_for_the_site_lock_exits_within_2_s(
    site: Site, start: Callable[..., Watch]
) -> None:
    watch = start()
    lock = site.root / ".publisher" / "lock"
    with site_lock(lock.parent):  # a `build` from cron holds it, say
        runs = watch.runs()
        site.write("a", seed_text("A", "Body."))
        wait_for(lambda: has_open(watch.process, lock), what="a run waiting for the lock")
        assert watch.runs() == runs
        status, seconds = watch.stop(signal.SIGTERM)
    assert (status, seconds < 2) == (0, True), (seconds, watch.log())
    assert "a run did not stop within 1.5 s; exiting without it" in watch.log()


def has_open(process: subprocess.Popen[bytes], path: Path) -> bool:
    """Whether `process` holds a descriptor on `path` (Linux)."""
    folder = Path(f"/proc/{process.pid}/fd")
    return any(_link(folder / name) == str(path) for name in os.listdir(folder))


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except FileNotFoundError:  # closed since the folder was listed
        return ""


def bytes_read(process: subprocess.Popen[bytes]) -> int:
    """All the bytes `process` has read so far (Linux)."""
    for line in Path(f"/proc/{process.pid}/io").read_text(encoding="ascii").splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/PID/io")


def test_sigterm_during_a_run_exits_quickly_and_the_next_start_finishes_it(
    site: Site, start: Callable[..., Watch]
) -> None:
    site.configure(FEEDS_ONLY)
    watch = start()
    idle = bytes_read(watch.process)
    slugs = move_in(site, "many", 6000)
    wait_for(
        lambda: bytes_read(watch.process) > idle + 50_000,
        what="the daemon reading seeds",
        every=0.01,
    )
    status, seconds = watch.stop(signal.SIGTERM)
    assert (status, seconds < 2) == (0, True), (seconds, watch.log())
    assert "run stopped between seeds" in watch.log()

    start()
    newest = [entry_id(FEED_ID, slug) for slug in slugs[:50]]
    assert ids(site.atom()) == newest == ids(site.rss())


def test_kill_9_while_publishing_leaves_valid_feeds_and_the_next_start_converges(
    site: Site, start: Callable[..., Watch]
) -> None:
    site.configure(FEEDS_ONLY + "max_entries = 2000\n")  # big feeds: writing them takes a while
    watch = start()
    atom = site.feeds / "atom.xml"
    before = atom.stat()

    def publishing() -> bool:
        names = os.listdir(site.feeds)
        replaced = atom.stat().st_mtime_ns != before.st_mtime_ns
        return replaced or any(name.startswith(TEMP_PREFIX) for name in names)

    slugs = move_in(site, "k", 1500, body="word " * 80)  # indexed whole before the writing
    wait_for(publishing, what="the daemon writing the feeds", every=0.0005)
    watch.process.kill()
    assert watch.process.wait() == -signal.SIGKILL
    for name in FEED_FILES:
        read_feed(site.feeds / name)  # each file whole and valid: the old or the new

    start()
    expected = sorted(entry_id(FEED_ID, slug) for slug in slugs)
    wait_for(
        lambda: sorted(ids(site.atom())) == expected == sorted(ids(site.rss())),
        what="the feeds to converge after the restart",
    )
    assert not [name for name in os.listdir(site.feeds) if name.startswith(TEMP_PREFIX)]


def test_a_bad_seed_is_logged_once_and_fixing_it_publishes_it(
    site: Site, start: Callable[..., Watch]
) -> None:
    watch = start("--every", "0.3")
    problem = "seeds/bad.txt:1: bad date '2024-02-30'"
    site.write("bad", seed_text("Bad", "Body.", date="2024-02-30"))
    wait_for(lambda: problem in watch.log(), what="the bad seed in the log")
    runs = watch.runs()
    site.write("bad", seed_text("Bad", "Body.", date="2024-02-30"))  # same bytes, new mtime
    wait_for(lambda: watch.runs() >= runs + 4, what="four more runs")
    assert watch.log().count(problem) == 1
    watch.stop()

    again = start("--every", "0.3")  # after a restart, told once more
    wait_for(lambda: again.runs() >= 4, what="four runs")
    assert again.log().count(problem) == 1
    site.write("bad", seed_text("Good now", "Body.", date="2024-02-28"))
    wait_for(lambda: both(site, "bad"), what="the fixed seed in both feeds")
    assert again.log().count(problem) == 1


def test_build_in_another_process_while_the_daemon_runs(
    site: Site, start: Callable[..., Watch]
) -> None:
    site.configure(FEEDS_ONLY)
    watch = start()
    for number in range(600):
        site.write(f"many/{number:04d}", seed_text(f"Many {number}", "Body."))
    result = cli(site, "build")
    assert result.returncode == 0, result.stderr
    built = sum(int(count) for count in NEW_COUNT.findall(result.stderr))
    wait_for(lambda: watch.new_seeds() + built == 600, what="each seed indexed once, by either")
    newest = [entry_id(FEED_ID, f"many/{number:04d}") for number in range(50)]
    assert ids(site.atom()) == newest == ids(site.rss())
    assert watch.process.poll() is None
    assert " ERROR " not in watch.log()
    assert "Traceback" not in watch.log()


def test_sighup_keeps_the_old_settings_when_the_new_are_bad_and_applies_good_ones(
    site: Site, start: Callable[..., Watch]
) -> None:
    watch = start()
    good = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(good + "title = 5\n", encoding="utf-8")
    watch.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "settings not reloaded" in watch.log(), what="the bad config reported")
    site.write("after", seed_text("After", "Still publishing."))
    wait_for(lambda: both(site, "after"), what="a seed published with the old settings")
    assert site.atom().feed.title == "Test site"

    site.config_path.write_text(good.replace("Test site", "Renamed site"), encoding="utf-8")
    watch.process.send_signal(signal.SIGHUP)
    wait_for(
        lambda: site.atom().feed.title == "Renamed site" == site.rss().feed.title,
        what="the new title in both feeds",
    )
    assert watch.process.poll() is None


def test_a_changed_settings_file_is_read_again_without_sighup(
    site: Site, start: Callable[..., Watch]
) -> None:
    watch = start("--every", "0.3")
    site.write("a", seed_text("A", "Body."))
    wait_for(lambda: both(site, "a"), what="the seed published")
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(text.replace("Test site", "Renamed site"), encoding="utf-8")
    wait_for(
        lambda: site.atom().feed.title == "Renamed site" == site.rss().feed.title,
        what="the new title in both feeds, by the next poll",
    )
    assert watch.log().count("publisher.toml changed: reloading the settings") == 1
    assert watch.process.poll() is None


def test_a_settings_file_removed_or_emptied_keeps_the_settings_and_the_feed_id(
    site: Site, start: Callable[..., Watch]
) -> None:
    watch = start("--every", "0.3")
    site.write("a", seed_text("A", "Body."))
    wait_for(lambda: both(site, "a"), what="the seed published")
    before = site.atom().feed.id
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.unlink()
    wait_for(lambda: "no such config file" in watch.log(), what="the missing file reported")
    assert not site.config_path.exists()  # not created anew, with another feed_id
    site.config_path.write_text("", encoding="utf-8")
    wait_for(lambda: "feed_id is not" in watch.log(), what="the empty file refused")
    assert site.config_path.read_text(encoding="utf-8") == ""
    site.write("b", seed_text("B", "Still published."))
    wait_for(lambda: both(site, "b"), what="a seed published with the old settings")
    assert site.atom().feed.id == before
    site.config_path.write_text(text.replace("Test site", "Renamed site"), encoding="utf-8")
    wait_for(lambda: site.atom().feed.title == "Renamed site", what="good settings read again")
    assert site.atom().feed.id == before
    assert watch.process.poll() is None


def test_sighup_with_a_new_timezone_moves_the_dates_written_without_one(
    site: Site, start: Callable[..., Watch]
) -> None:
    site.write("local", seed_text("Local", "Written at six.", date="2024-03-01T18:00"))
    site.write("fixed", seed_text("Fixed", "With its offset."))
    watch = start()
    wait_for(lambda: both(site, "local") and both(site, "fixed"), what="both seeds published")
    published = {e.title: e.published for e in site.atom().entries}
    assert published["Local"].startswith("2024-03-01T18:00:00")
    site.configure('timezone = "Asia/Tokyo"\n')
    watch.process.send_signal(signal.SIGHUP)
    wait_for(
        lambda: (
            {e.title: e.published[:19] for e in site.atom().entries}
            == {"Local": "2024-03-01T09:00:00", "Fixed": published["Fixed"][:19]}
        ),
        what="the offset-less date read again in the new zone",
    )
    assert "reading every seed again: timezone changed" in watch.log()
    assert watch.process.poll() is None


def hub_server(received: list[str]) -> ThreadingHTTPServer:
    """A WebSub hub on 127.0.0.1 that records the feed URL of every publish notice."""

    class Hub(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append(parse_qs(body)["hub.url"][0])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Hub)


def test_each_changed_feed_is_announced_to_the_websub_hub_once(
    site: Site, start: Callable[..., Watch]
) -> None:
    received: list[str] = []
    feeds = [f"https://example.org/feeds/{name}" for name in ("atom.xml", "rss.xml", "feed.json")]
    with hub_server(received) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        site.configure(f'websub_hub = "http://127.0.0.1:{server.server_port}/"\n')
        watch = start()  # its first run writes the feeds
        wait_for(lambda: sorted(received) == sorted(feeds), what="a notice for each feed")
        site.write("one", seed_text("One", "Body."))
        wait_for(lambda: both(site, "one"), what="the first seed in both feeds")
        site.write("two", seed_text("Two", "Body."))
        wait_for(lambda: len(received) >= 3 * len(feeds), what="the notices of three runs")
        watch.stop()
        server.shutdown()
    assert sorted(received) == sorted(feeds * 3)


def test_status_json_reads_the_index_while_the_daemon_runs(
    site: Site, start: Callable[..., Watch]
) -> None:
    site.write("a", seed_text("A", "Body."))
    site.write("later", seed_text("Later", "Body.", date="2999-01-01"))
    site.write("x", seed_text("X", "Body.", date="2024-02-30"))
    watch = start("--every", "0.2", "--settle", "0")  # runs keep writing while status reads
    result = cli(site, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert (status["seeds_indexed"], status["entries_published"]) == (3, 1)
    assert status["waiting"] == [{"slug": "later", "date": "2999-01-01T00:00:00+00:00"}]
    assert [problem.split(": ")[0] for problem in status["skipped"]] == ["seeds/x.txt:1"]
    assert status["last_run"]["result"] == "skipped seeds"
    assert watch.process.poll() is None


def test_check_exits_0_when_every_seed_is_good_and_1_naming_each_problem(site: Site) -> None:
    site.write("a", seed_text("A", "Body."))
    result = cli(site, "check")
    assert (result.returncode, result.stdout) == (0, "")
    site.write("x", seed_text("X", "Body.", date="2024-02-30"))
    result = cli(site, "check")
    assert result.returncode == 1
    assert result.stdout.startswith("seeds/x.txt:1: bad date '2024-02-30'")
    assert not site.feeds.exists()
    assert not (site.root / ".publisher").exists()


def test_a_bad_cron_expression_is_a_usage_error(site: Site) -> None:
    result = cli(site, "watch", "--cron", "61 * * * *")
    assert result.returncode == 2
    assert result.stderr.startswith("publisher: error: --cron: not a cron expression '61 * * * *'")


# In-process: Daemon.run with a fake build, on a scheduler that is never started.


def make_daemon(site: Site, build: Callable[..., BuildReport]) -> Daemon:
    scheduler = BlockingScheduler(timezone=UTC)
    return Daemon(scheduler, site.config, site.config(), settle=2.0, build=build)


def test_a_run_that_ends_while_the_daemon_stops_does_not_watch_again(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    daemons: list[Daemon] = []

    def build(config: Any, **options: Any) -> BuildReport:
        # SIGTERM meanwhile: finish(), on the main thread, has stopped the observer.
        daemon = daemons[0]
        daemon._stop.set()
        observer = daemon.seeds_watch._observer
        assert observer is not None
        observer.stop()
        observer.join()
        return BuildReport()

    daemons.append(make_daemon(site, build))
    daemon = daemons[0]
    for name in ("feedpub.watch", "feedpub.events"):
        caplog.set_level(logging.INFO, logger=name)
    daemon.watch(site.seeds)
    daemon.run()
    daemon.finish()
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "watch was lost" in m]
    assert [m for m in messages if m.startswith("watching")] == [
        f"watching {site.seeds} for changes"
    ]
    assert not daemon.seeds_watch.watching
    assert not daemon.seeds_watch.lost(site.seeds)


def test_a_closed_watch_never_watches_again(site: Site) -> None:
    seeds_watch = SeedWatch(lambda event: None)
    threads = threading.active_count()
    seeds_watch.start(site.seeds)
    assert seeds_watch.watching
    assert not seeds_watch.lost(site.seeds)
    seeds_watch.close()
    seeds_watch.start(site.seeds)
    assert not seeds_watch.watching
    assert threading.active_count() == threads


def test_a_bug_in_a_run_is_logged_with_its_traceback_and_the_next_run_goes_ahead(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[dict[str, Any]] = []

    def build(config: Any, **options: Any) -> BuildReport:
        calls.append(options)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return BuildReport()

    daemon = make_daemon(site, build)
    closed = str(site.seeds / "a.txt")
    daemon.on_event(FileClosedEvent(closed))
    daemon.run()
    daemon.run()
    assert len(calls) == 2
    assert calls[1]["ready"] == {closed}  # still known closed after writing
    [record] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "a bug"


def test_a_failing_run_is_logged_once_until_runs_succeed_again(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[Exception | None] = [OutputError("feeds: cannot write: disk full")] * 3
    outcomes.append(None)

    def build(config: Any, **options: Any) -> BuildReport:
        failure = outcomes.pop(0)
        if failure is not None:
            raise failure
        return BuildReport()

    daemon = make_daemon(site, build)
    caplog.set_level(logging.INFO, logger="feedpub.watch")
    for _ in range(4):
        daemon.run()
    messages = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert messages == [
        ("ERROR", "run failed: feeds: cannot write: disk full"),
        ("INFO", "runs succeed again"),
    ]


def test_without_events_the_daemon_says_so_once_and_keeps_polling(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = make_daemon(site, lambda config, **options: BuildReport())
    threads = threading.active_count()
    daemon.watch(site.root / "missing")
    [warning] = [record.getMessage() for record in caplog.records]
    assert "cannot watch for changes" in warning
    assert threading.active_count() == threads
