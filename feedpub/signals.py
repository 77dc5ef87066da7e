"""Signals for the daemon: SIGTERM, SIGINT and SIGHUP handed to a thread of their own.

Python runs a signal handler in the main thread between two bytecodes, perhaps while that thread
holds a lock the handler would need. So the handlers here do nothing; the signal's number reaches
the daemon through the wakeup pipe, which the interpreter writes to at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

RELAYED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_END_RELAY = 0  # written to the signal pipe to end the relay thread; no signal has number 0


@contextlib.contextmanager
def relayed_signals(handle: Callable[[int], None]) -> Iterator[None]:
    """Deliver SIGTERM, SIGINT and SIGHUP to `handle`, called on a thread of its own.

    The wakeup pipe carries every signal the process gets: `handle` may see other numbers too.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    old_wakeup_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    old_handlers = {number: signal.signal(number, _ignore) for number in RELAYED_SIGNALS}
    relay = threading.Thread(target=_relay, args=(read_fd, handle), name="signals", daemon=True)
    relay.start()
    try:
        yield
    finally:
        for number, old in old_handlers.items():
            signal.signal(number, signal.SIG_DFL if old is None else old)
        signal.set_wakeup_fd(old_wakeup_fd)
        os.write(write_fd, bytes([_END_RELAY]))
        relay.join()
        os.close(read_fd)
        os.close(write_fd)


def _ignore(number: int, frame: FrameType | None) -> None:
    """The handler proper does nothing: the wakeup pipe has the signal's number already."""


def _relay(read_fd: int, handle: Callable[[int], None]) -> None:
    while data := os.read(read_fd, 64):
        for number in data:
            if number == _END_RELAY:
                return
            handle(number)
