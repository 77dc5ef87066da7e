"""A fork server for the kill -9 tests: import the publisher once, then run each command in a
fresh child process and kill it with SIGKILL at a chosen instant.

    python tests/fault_driver.py NOW

NOW (ISO 8601) is the clock of every run, as `feedpub.build.now` gives it, so that a run that
was killed and one that was not give the same bytes. Then, one request a line on stdin:

    <delay in ms> <argv as JSON>

The driver forks; the child runs `feedpub.cli.main(argv)` and exits with its status. The driver
waits until the child exits or `delay` ms pass (a negative delay: until it exits), sends SIGKILL
if it is still running, reaps it and answers one line on stdout:

    <1 if SIGKILL ended it, else 0> <exit status or -signal> <milliseconds it ran>

The child is killed by its parent, before it is reaped: its pid cannot have been reused.
Importing costs about 0.2 s; a fork costs a few milliseconds, so hundreds of kills fit in a test.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from datetime import datetime

import feedpub.build
from feedpub.cli import main


def serve(now: datetime) -> None:
    feedpub.build.now = lambda: now
    for line in sys.stdin:
        delay_text, argv_text = line.split(" ", 1)
        killed, status, elapsed = run(json.loads(argv_text), float(delay_text) / 1000)
        print(f"{int(killed)} {status} {elapsed * 1000:.1f}", flush=True)


def run(argv: list[str], delay: float) -> tuple[bool, int, float]:
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(argv)
    pidfd = os.pidfd_open(pid)
    try:
        exited = select.select([pidfd], [], [], None if delay < 0 else delay)[0]
        if not exited:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(pidfd)
    _, wait_status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    if os.WIFSIGNALED(wait_status):
        number = os.WTERMSIG(wait_status)
        return number == signal.SIGKILL, -number, elapsed
    return False, os.WEXITSTATUS(wait_status), elapsed


def _child(argv: list[str]) -> None:
    code = 70
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # stdout is the driver's answer channel
        code = main(argv)
    finally:
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve(datetime.fromisoformat(sys.argv[1]))
