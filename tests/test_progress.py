"""The first build's progress: a bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import io
import logging

import pytest

from feedpub.progress import MIN_SEEDS, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_terminal_gets_a_bar_redrawn_in_place() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, terminal=True, clock=clock)
    for done in range(1, 1001):
        clock.now = done * 0.01
        progress(done, 1000)
    text = stream.getvalue()
    assert text.count("\r") > 50
    assert text.endswith("\rreading seeds [##############################] 1000/1000\n")
    assert "\n" not in text[:-1]


def test_not_a_terminal_gets_periodic_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, terminal=False, every=5.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="feedpub.progress"):
        for done in range(1, 2001):
            clock.now = done * 0.01  # 20 s in all: one line every 5 s
            progress(done, 2000)
    assert [r.getMessage() for r in caplog.records] == [
        "read 500 of 2000 seeds",
        "read 1000 of 2000 seeds",
        "read 1500 of 2000 seeds",
    ]
    assert stream.getvalue() == ""


def test_small_builds_show_nothing() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, terminal=True, clock=clock)
    for done in range(1, MIN_SEEDS):
        clock.now = done
        progress(done, MIN_SEEDS - 1)
    assert stream.getvalue() == ""
