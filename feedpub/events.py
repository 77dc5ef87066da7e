"""Filesystem events in seeds/: the daemon's watch on the folder, and which events are of seeds.

A watch tells the daemon of seeds created, closed after writing, moved and deleted, so that it
republishes within about a second. Polls stay the safety net: where there are no events (a
network mount, a platform without them) or when some were missed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from feedpub.scan import SEED_SUFFIXES

log = logging.getLogger(__name__)

SEED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileClosedEvent,  # closed after writing: IN_CLOSE_WRITE
    FileMovedEvent,  # moved within seeds/; moved in or out arrive as created or deleted
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]  # not opened, read or modified: reading seeds must not wake the daemon, nor every write()


class SeedWatch:
    """The watch on one seeds folder and below, handing its events to `on_event`.

    One observer at a time, and none once closed. A run's end (watching again a folder that was
    replaced), a reload and the daemon's stop may call it from different threads.
    """

    def __init__(self, on_event: Callable[[FileSystemEvent], None]) -> None:
        self._on_event = on_event
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._watched = (0, 0)  # device and inode of the folder watched: replaced, it is not
        self._closed = False

    @property
    def watching(self) -> bool:
        return self._observer is not None

    def start(self, seeds_dir: Path) -> None:
        """Watch `seeds_dir` instead; when that cannot start, say so: polls go on."""
        self.stop()
        try:
            watched = _identity(seeds_dir)
            observer = start_observer(seeds_dir, _Handler(self._on_event))
        except OSError as exc:
            log.warning("%s: cannot watch for changes (%s); polling only", seeds_dir, exc)
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._observer, self._watched = observer, watched
        if closed:  # close() came meanwhile, on another thread
            _end(observer)
            return
        log.info("watching %s for changes", seeds_dir)

    def stop(self) -> None:
        """Stop watching, for now. Of two threads that get here at once, one takes the observer."""
        with self._lock:
            observer, self._observer = self._observer, None
        if observer is not None:
            _end(observer)

    def close(self) -> None:
        """Stop watching for good: a start() after this, or still under way, watches nothing."""
        with self._lock:
            self._closed = True
        self.stop()

    def lost(self, seeds_dir: Path) -> bool:
        """Whether the watch sees nothing any more: `seeds_dir` was replaced, or its watch died.

        Not when there is no watch (never started, stopped, or closed), nor while `seeds_dir`
        is gone: the next run fails and says so.
        """
        with self._lock:
            observer, watched = self._observer, self._watched
        if observer is None:
            return False
        try:
            current = _identity(seeds_dir)
        except OSError:
            return False
        return current != watched or not any(e.is_alive() for e in observer.emitters)


def may_be_seed(root: str, path: str, *, is_directory: bool) -> bool:
    """Whether `path`, under the seeds folder `root`, is or may hold a seed: as scan.py sees it."""
    parts = os.path.relpath(path, root).split(os.sep)
    if any(part.startswith(".") for part in parts):  # hidden, the root itself, or outside
        return False
    return is_directory or parts[-1].endswith(SEED_SUFFIXES)


def start_observer(seeds_dir: Path, handler: FileSystemEventHandler) -> BaseObserver:
    """Start watching `seeds_dir` and below; OSError when the platform or the system refuses."""
    if Observer is PollingObserver:  # stat() every file every second: not events, and not cheap
        raise OSError("no filesystem events on this platform")
    observer = Observer()
    try:
        observer.schedule(handler, str(seeds_dir), recursive=True, event_filter=SEED_EVENTS)
        observer.start()
    except BaseException:
        observer.stop()
        raise
    return observer


def _end(observer: BaseObserver) -> None:
    observer.stop()
    observer.join()


def _identity(folder: Path) -> tuple[int, int]:
    info = os.stat(folder)
    return info.st_dev, info.st_ino


class _Handler(FileSystemEventHandler):
    def __init__(self, on_event: Callable[[FileSystemEvent], None]) -> None:
        self._on_event = on_event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._on_event(event)
