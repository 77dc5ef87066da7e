"""The daemon: the only importer of apscheduler and of the filesystem event watcher."""

from __future__ import annotations

from collections.abc import Callable

from feedpub.config import Config


def run_watch(
    load_config: Callable[[], Config], *, every: float | None, cron: str | None, settle: float
) -> int:
    """Run until SIGTERM or SIGINT; return the exit status."""
    raise NotImplementedError
