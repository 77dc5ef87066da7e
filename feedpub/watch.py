"""The daemon: the only importer of apscheduler.

`publisher watch` runs the pipeline of `build` (build_once) in the scheduler's worker threads:

- once at start, then on an interval or a cron schedule: the safety net for file systems without
  events (network mounts) and for missed events;
- soon after filesystem events in seeds/ (created, closed after writing, moved, deleted),
  debounced: a run starts once events pause for QUIET seconds, or MAX_DELAY after the first one;
- `settle` seconds later when a run left a seed alone because it was still being written;
- at the date of the earliest future-dated seed, so that it goes live on time.

One run at a time: a run asked for while another is going sets a flag, and one more run follows.
No work is done in a signal handler: signal numbers reach a thread of their own through a pipe.
SIGTERM and SIGINT stop the daemon (a run in progress stops between seeds); SIGHUP reloads the
settings before the next run, keeping the old ones when the new ones are bad.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from watchdog.events import FileClosedEvent, FileMovedEvent, FileSystemEvent

from feedpub.build import BuildReport, build_once, now
from feedpub.config import Config
from feedpub.errors import ConfigError, PublisherError
from feedpub.events import SeedWatch, may_be_seed
from feedpub.progress import Progress
from feedpub.signals import RELAYED_SIGNALS, relayed_signals
from feedpub.snapshot import Snapshot
from feedpub.websub import HubNotifier

log = logging.getLogger(__name__)

DEFAULT_EVERY = 30.0  # seconds between polls when neither --every nor --cron is given
QUIET = 0.25  # a burst of events is over when none came for this long...
MAX_DELAY = 1.0  # ...or this long after its first event, whichever comes first
SETTLE_MARGIN = 0.1  # a follow-up for a seed still being written waits this much past `settle`
STOP_GRACE = 1.5  # a run still going this long after SIGTERM is abandoned: SIGTERM exits in 2 s
HUB_GRACE = 0.3  # ...and WebSub notices still queued after that much more are given up
STOP_JOB = "stop"  # its submission shuts the scheduler down


def run_watch(
    load_config: Callable[[], Config],
    *,
    every: float | None,
    cron: str | None,
    settle: float,
    settings_file: Path | None = None,
) -> int:
    """Run until SIGTERM or SIGINT; return the exit status.

    `settings_file` is the publisher.toml that `load_config` reads: a run after it changed reads
    it again, as after SIGHUP.
    """
    config = load_config()
    trigger = poll_trigger(every=every, cron=cron, timezone=config.tz)
    for chatty in ("apscheduler", "watchdog"):  # "Running job ...", "in-event ..." on every run
        logging.getLogger(chatty).setLevel(logging.WARNING)
    scheduler = BlockingScheduler(
        timezone=UTC, job_defaults={"coalesce": True, "misfire_grace_time": None}
    )
    daemon = Daemon(scheduler, load_config, config, settle=settle, settings_file=settings_file)
    scheduler.add_listener(daemon.on_submitted, EVENT_JOB_SUBMITTED)
    with relayed_signals(daemon.on_signal):
        daemon.watch(config.seeds_dir)
        scheduler.add_job(daemon.run, trigger, id="poll", max_instances=1)
        log.info(
            "polling %s", f"on cron {cron!r}" if cron else f"every {every or DEFAULT_EVERY:g} s"
        )
        daemon.request_run()
        scheduler.start()  # returns once a stop signal shut the scheduler down
        daemon.finish()
    return 0


def poll_trigger(*, every: float | None, cron: str | None, timezone: tzinfo) -> Any:
    """The schedule of the safety-net polls; cron fields are read in the site's time zone."""
    if cron is None:
        return IntervalTrigger(seconds=every or DEFAULT_EVERY, timezone=UTC)
    try:
        return CronTrigger.from_crontab(cron, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"--cron: not a cron expression {cron!r} ({exc})") from None


class Daemon:
    """What the scheduler's jobs, the event watcher and the signal relay share.

    `_lock` guards the fields that change after start; it is taken before the scheduler's own
    locks, never after, and is never held during a run.
    """

    def __init__(
        self,
        scheduler: Any,
        load_config: Callable[[], Config],
        config: Config,
        *,
        settle: float,
        build: Callable[..., BuildReport] = build_once,
        settings_file: Path | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._load_config = load_config
        self._config = config
        self._settle = settle
        self._build = build
        self._stop = threading.Event()  # set from the relay thread; runs read it between seeds
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = False
        self._again = False  # a run was asked for while one was going
        self._reload = False  # SIGHUP: read the settings before the next run
        self._closed: set[str] = set()  # paths closed after writing since the last run began
        self._named: set[str] = set()  # seed paths that events named since the last run began
        self._full = True  # the next run walks all of seeds/ (not only the paths named)
        self._snapshot = Snapshot()  # the index's stats after the last run, for the next
        self._burst_start: float | None = None  # monotonic time of the first event not yet run
        self._last_event = 0.0
        self.seeds_watch = SeedWatch(self.on_event)
        self._root = str(config.seeds_dir)
        self._told_all_errors = False  # after a start, every bad seed is told once
        self._failure: str | None = None  # the last run's failure, told once
        self._due: datetime | None = None  # the date of the next future-dated seed
        self._hubs: HubNotifier | None = None  # WebSub: started with the first notice
        self._settings_file = settings_file
        self._settings_stat = _file_stat(settings_file)  # as the settings in use were read

    # -- runs -------------------------------------------------------------------------------

    def run(self, *, events: bool = False) -> None:
        """The job: one build. It never raises, so a failing run never stops the daemon.

        A run for `events` looks only at the seed paths they named, unless something asked for a
        whole walk since (a folder event, a start, a reload, a seed left to settle, a failure);
        polls and the other scheduled runs walk all of seeds/.
        """
        begun = self._begin_run(events=events)
        if begun is None:
            return
        ready, paths = begun
        report: BuildReport | None = None
        try:
            report = self._run_once(ready, paths)
        except PublisherError as exc:
            self._tell_failure(str(exc))
        except Exception:
            log.exception("run failed with an unexpected error; the next run goes ahead")
        finally:
            self._end_run(report, ready)

    def _begin_run(self, *, events: bool) -> tuple[set[str], set[str] | None] | None:
        """Take the run slot, the paths known to be ready and the paths to look at (None: all).

        None when a run is going.
        """
        with self._lock:
            if self._running:
                self._again = True
                return None
            self._running = True
            self._again = False
            self._burst_start = None
            ready, self._closed = self._closed, set()
            named, self._named = self._named, set()
            paths = None if self._full or not events else named
            self._full = False
            return ready, paths

    def _run_once(self, ready: set[str], paths: set[str] | None) -> BuildReport:
        if self._reload_if_asked():
            paths = None
        report = self._build(
            self._config,
            now=now(),
            settle=self._settle,
            should_stop=self._stop.is_set,
            ready=ready,
            progress=Progress(sys.stderr, terminal=False),
            snapshot=self._snapshot,
            paths=paths,
        )
        self._snapshot = report.snapshot or Snapshot()
        self._tell(report)
        self._notify_hubs(report)
        self._rewatch_if_lost()
        if self._failure is not None:
            log.info("runs succeed again")
            self._failure = None
        return report

    def _end_run(self, report: BuildReport | None, ready: set[str]) -> None:
        """Release the run slot and schedule what the run asks for."""
        with self._lock:
            self._running = False
            self._idle.notify_all()
            if self._stop.is_set():
                return
            if report is None:
                self._closed |= ready  # still closed after writing, for the next run
                self._snapshot = Snapshot()  # perhaps updated by the failed run: read the index
            if report is None or report.stopped or report.unsettled:
                self._full = True  # what this run left for later is in no event to come
            if self._again or self._reload:
                self._burst_start = time.monotonic()
                self._schedule_soon(QUIET)
            elif report is not None and report.unsettled:
                self._schedule_soon(self._settle + SETTLE_MARGIN)
            if report is not None and not report.stopped:
                self._schedule_due(report)

    def _tell(self, report: BuildReport) -> None:
        """Log a run: problems once per version of a seed, one INFO line if anything changed."""
        errors = report.fresh_errors if self._told_all_errors else report.errors
        self._told_all_errors = True
        for warning in report.warnings:
            log.warning("%s", warning)
        for error in errors:
            log.error("%s", error)
        counts = (
            f"{report.new} new, {report.updated} updated, {report.removed} removed"
            f" ({report.seconds * 1000:.0f} ms)"
        )
        if report.stopped:
            log.info("run stopped between seeds; the next start picks up the rest")
        elif report.written:
            log.info("published %s: %s", _files(report.written), counts)
        elif report.new or report.updated or report.removed:
            log.info("feeds unchanged: %s", counts)
        else:
            log.debug("no change (%.0f ms)", report.seconds * 1000)

    def _notify_hubs(self, report: BuildReport) -> None:
        """Tell the WebSub hubs which feeds changed; notices go out in the background."""
        hubs = self._config.websub_hub
        if self._hubs is not None and self._hubs.hubs != tuple(dict.fromkeys(hubs)):
            self._hubs.close(timeout=0.0)  # the settings were reloaded with other hubs
            self._hubs = None
        changed = report.changed_feeds(self._config)
        if hubs and changed:
            if self._hubs is None:
                self._hubs = HubNotifier(hubs)
            self._hubs.notify(changed)

    def _tell_failure(self, message: str) -> None:
        if message == self._failure:
            log.debug("run failed again: %s", message)
            return
        self._failure = message
        log.error("run failed: %s", message)

    def _reload_if_asked(self) -> bool:
        """Read the settings again if SIGHUP asked for it, or their file changed; whether it did.

        A daemon that went on with settings a cron build no longer has would undo that build's
        work at every run, and the build the daemon's.
        """
        current = _file_stat(self._settings_file)
        with self._lock:
            if current != self._settings_stat and not self._reload:
                log.info("%s changed: reloading the settings", self._settings_file)
                self._reload = True
            self._settings_stat = current
            asked, self._reload = self._reload, False
        if not asked:
            return False
        self._snapshot = Snapshot()  # the seeds or the index may be other ones now
        try:
            config = self._load_config()
        except ConfigError as exc:
            log.error("settings not reloaded, the old ones stay in use: %s", exc)
            return True
        if config.feed_id != self._config.feed_id:  # a file emptied or half written, most likely
            log.error(
                "settings not reloaded, the old ones stay in use: %s: feed_id is not %s,"
                " the feed's identity: restart the daemon to change it",
                self._settings_file,
                self._config.feed_id,
            )
            return True
        old, self._config = self._config, config
        log.info("settings reloaded%s", "" if config != old else ": no change")
        if config.seeds_dir != old.seeds_dir:
            self.watch(config.seeds_dir)
        return True

    # -- scheduling -------------------------------------------------------------------------

    def request_run(self) -> None:
        """Ask for a run of all of seeds/ as soon as possible."""
        with self._lock:
            self._full = True
            if self._running:
                self._again = True
            else:
                self._schedule_soon(0.0)

    def _soon(self) -> None:
        """The job of start, event and follow-up runs: it waits out a burst of events first."""
        with self._lock:
            if self._burst_start is not None:
                due = min(self._last_event + QUIET, self._burst_start + MAX_DELAY)
                wait = due - time.monotonic()
                if wait > 0.01:
                    self._schedule_soon(wait)
                    return
        self.run(events=True)

    def _schedule_soon(self, delay: float) -> None:
        """Run `_soon` in `delay` seconds, unless it is due earlier already. Hold `_lock`."""
        at = now() + timedelta(seconds=delay)
        job = self._scheduler.get_job("soon")
        if job is not None:
            scheduled = getattr(job, "next_run_time", None)  # unset until the scheduler starts
            if scheduled is None or scheduled <= at:
                return
        self._scheduler.add_job(
            self._soon,
            DateTrigger(at, timezone=UTC),
            id="soon",
            replace_existing=True,
            max_instances=2,  # a job may schedule its successor; the run slot keeps runs single
        )

    def _schedule_due(self, report: BuildReport) -> None:
        """A run at the date of the earliest future-dated seed. Hold `_lock`."""
        if report.next_due != self._due and report.next_due is not None:
            log.debug("a run at %s, the date of the next seed", report.next_due.isoformat())
        self._due = report.next_due
        if report.next_due is None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job("due")
            return
        self._scheduler.add_job(
            self.run,
            DateTrigger(report.next_due, timezone=UTC),
            id="due",
            replace_existing=True,
            max_instances=2,
        )

    # -- events -----------------------------------------------------------------------------

    def watch(self, seeds_dir: Path) -> None:
        """Watch `seeds_dir` for events instead; when that cannot start, polls go on."""
        with self._lock:
            self._root = str(seeds_dir)
        self.seeds_watch.start(seeds_dir)

    def _rewatch_if_lost(self) -> None:
        """Watch again when seeds/ was replaced since, or its watch died: it sees nothing.

        Not while the daemon stops: finish() closes the watch, which is then not lost.
        """
        seeds_dir = self._config.seeds_dir
        if not self._stop.is_set() and self.seeds_watch.lost(seeds_dir):
            log.warning("%s: the watch was lost (folder replaced?); watching again", seeds_dir)
            self.watch(seeds_dir)

    def on_event(self, event: FileSystemEvent) -> None:
        """Called on the watcher's thread for every event in seeds/."""
        source, destination = os.fsdecode(event.src_path), os.fsdecode(event.dest_path)
        with self._lock:
            if isinstance(event, FileClosedEvent):
                self._closed.add(source)
            elif isinstance(event, FileMovedEvent) and source in self._closed:
                self._closed.add(destination)  # written, closed, renamed: an atomic save
            paths = [path for path in (source, destination) if path]
            directory = event.is_directory
            seeds = [p for p in paths if may_be_seed(self._root, p, is_directory=directory)]
            if not seeds:
                return
            if event.is_directory:
                self._full = True  # what the folder holds came with it, or went: walk it all
            self._named.update(seeds)
            self._last_event = time.monotonic()
            if self._running:
                self._again = True
            elif self._burst_start is None:
                self._burst_start = self._last_event
                self._schedule_soon(QUIET)

    # -- stopping ---------------------------------------------------------------------------

    def on_signal(self, number: int) -> None:
        """Called on the relay thread for every SIGTERM, SIGINT and SIGHUP."""
        if number not in RELAYED_SIGNALS:
            return  # another handler's signal: the wakeup pipe carries every one
        if number == signal.SIGHUP:
            log.info("SIGHUP: reloading the settings")
            with self._lock:
                self._reload = True
            self.request_run()
            return
        if self._stop.is_set():
            return
        log.info("stopping (%s)", signal.Signals(number).name)
        self._stop.set()
        # The scheduler is shut down on its own thread, by on_submitted: a shutdown from another
        # thread can break its loop, which removes spent jobs unlocked (APScheduler 3.11), and
        # before the scheduler has started it would fail and the scheduler would then run on.
        self._scheduler.add_job(self._stop.set, id=STOP_JOB, replace_existing=True)

    def on_submitted(self, event: Any) -> None:
        """Called on the scheduler's thread when it has handed a job to a worker."""
        if event.job_id == STOP_JOB:
            self._scheduler.shutdown(wait=False)

    def finish(self) -> None:
        """After the scheduler stopped: stop watching, give a run in progress time to stop."""
        self._stop.set()
        self.seeds_watch.close()
        with self._lock:
            stopped = self._idle.wait_for(lambda: not self._running, timeout=STOP_GRACE)
        if stopped and self._hubs is not None:
            self._hubs.close(timeout=HUB_GRACE)
        if not stopped:
            # Waiting for the site lock, most likely. Leaving now is safe: feeds are replaced
            # atomically and the index commits whole seeds, so the next start picks up the rest.
            log.warning("a run did not stop within %g s; exiting without it", STOP_GRACE)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os._exit(0)


def _file_stat(path: Path | None) -> tuple[int, int, int] | None:
    """What tells a file's change: its inode, size and modification time; None if it has none."""
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _files(names: list[str]) -> str:
    """Files written, for the log: those at the top of feeds/ by name, the others counted."""
    top = [name for name in names if "/" not in name]
    rest = len(names) - len(top)
    files = "file" if rest == 1 else "files"
    if not top:
        return f"{rest} {files}"
    return " ".join(top) + (f" and {rest} more {files}" if rest else "")
