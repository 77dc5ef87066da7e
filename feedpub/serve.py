"""`publisher serve`: feeds/ over HTTP with conditional GET, for previews and small sites."""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from pathlib import Path


def start_server(feeds_dir: Path, *, host: str, port: int) -> ThreadingHTTPServer:
    """Serve `feeds_dir` from a background thread; the caller shuts it down."""
    raise NotImplementedError


def run_serve(feeds_dir: Path, *, host: str, port: int) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status."""
    raise NotImplementedError
