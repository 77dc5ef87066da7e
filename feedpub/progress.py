"""Progress of a long first build: a bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TextIO

log = logging.getLogger(__name__)

MIN_SEEDS = 500  # fewer than this is over before a bar would help
BAR_WIDTH = 30


class Progress:
    """Called as progress(done, total) after each seed read; cheap when nothing is shown."""

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._terminal = terminal
        self._every = 0.1 if terminal else every
        self._clock = clock
        self._next = clock() + self._every
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if total < MIN_SEEDS:
            return
        if done == total:
            self._finish(done, total)
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._every
        if self._terminal:
            filled = BAR_WIDTH * done // total
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self._stream.write(f"\rreading seeds [{bar}] {done}/{total}")
            self._stream.flush()
            self._drawn = True
        else:
            log.info("read %d of %d seeds", done, total)

    def _finish(self, done: int, total: int) -> None:
        if self._drawn:
            self._stream.write(f"\rreading seeds [{'#' * BAR_WIDTH}] {done}/{total}\n")
            self._stream.flush()
