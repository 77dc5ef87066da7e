"""The exception hierarchy: expected failures, told to the user.

Anything that is not a PublisherError is a bug and propagates.
"""

from __future__ import annotations

from pathlib import Path


class PublisherError(Exception):
    """Root of every failure the publisher expects and explains."""

    exit_code = 3


class ConfigError(PublisherError):
    """A bad publisher.toml or bad flags."""

    exit_code = 2


class SeedError(PublisherError):
    """One seed cannot be published; the rest of the build goes on."""

    exit_code = 1

    def __init__(self, path: str | Path, line: int, reason: str) -> None:
        super().__init__(path, line, reason)
        self.path = str(path)
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class StoreError(PublisherError):
    """The state database cannot be opened, read or written."""

    exit_code = 4


class OutputError(PublisherError):
    """feeds/ cannot be written: not writable, disk full."""

    exit_code = 3
