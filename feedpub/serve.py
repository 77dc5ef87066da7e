"""`publisher serve`: feeds/ over HTTP with conditional GET, for previews and small sites.

A ThreadingHTTPServer whose handler serves regular files under feeds/ and nothing else. Each
file is opened once and read whole (builds swap files in with os.replace, so a read sees the old
bytes or the new), and fstat on that descriptor keys a small cache of ETags and gzip bodies: a
reader that already has the newest feed costs an open and an fstat, and gets 304 Not Modified.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import re
import signal
import socket
import socketserver
import stat
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import FileIO
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import Any, TypeAlias
from urllib.parse import unquote

from feedpub import __version__
from feedpub.errors import ConfigError
from feedpub.headers import (
    COMPRESSIBLE,
    accepts_gzip,
    cache_control,
    content_type,
    is_not_modified,
)

log = logging.getLogger(__name__)

INDEX = "index.html"
CLIENT_TIMEOUT = 30.0  # seconds a connection may stay silent before its thread gives up
SHUTDOWN_POLL = 0.1  # seconds between the listener's checks for shutdown()
BACKLOG = 128  # connections waiting to be accepted: 5, the default, drops a burst of readers
CACHE_BYTES = 64 << 20  # gzip bodies kept in memory, at most
CACHE_ENTRIES = 4096

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_HEADERS = {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}

_Key: TypeAlias = tuple[str, int, int, int, int]  # path, device, inode, size, mtime_ns


class _Refusal(Exception):
    """A request answered with a short text instead of a file."""

    def __init__(self, status: HTTPStatus, reason: str, **headers: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.headers = headers


@dataclass
class _Found:
    """An open regular file under feeds/, its fstat, and the path it was asked for."""

    file: FileIO
    stat: os.stat_result
    rel: PurePosixPath
    path: Path
    _data: bytes | None = field(default=None, repr=False)

    @property
    def key(self) -> _Key:
        st = self.stat
        return (str(self.path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def data(self) -> bytes:
        if self._data is None:
            self._data = self.file.read()
        return self._data


@contextlib.contextmanager
def _open_target(root: Path, target: str) -> Iterator[_Found]:
    """Open the regular file under `root` that a request target names, or raise _Refusal.

    `root` is resolved. The path is split before it is percent-decoded, so an encoded slash
    stays inside one segment and is refused there; symlinks are followed only within `root`.
    """
    segments, wants_folder = _segments(target)
    path = _contained(root, segments)
    if wants_folder:
        path, segments = path / INDEX, [*segments, INDEX]
    try:
        file = FileIO(path, "rb", opener=_open_no_follow)
    except IsADirectoryError:
        if wants_folder:
            raise _Refusal(HTTPStatus.NOT_FOUND, "no such file") from None
        raise _Refusal(
            HTTPStatus.MOVED_PERMANENTLY, "a folder", Location=_slashed(target)
        ) from None
    except OSError as exc:
        log.debug("%s: %s", path, exc.strerror)
        raise _Refusal(HTTPStatus.NOT_FOUND, "no such file") from None
    with file:
        st = os.fstat(file.fileno())
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device: never read from those
            raise _Refusal(HTTPStatus.NOT_FOUND, "no such file")
        yield _Found(file, st, PurePosixPath(*segments), path)


def _open_no_follow(path: str, flags: int) -> int:
    # The path is real already: a symlink in its place now is a swap, not a link to follow.
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)


def _segments(target: str) -> tuple[list[str], bool]:
    """The decoded segments of a request target's path, and whether it ends with a slash."""
    path = target.partition("?")[0].partition("#")[0]
    if not path.startswith("/") or "\\" in path or _CONTROL.search(path):
        raise _Refusal(HTTPStatus.BAD_REQUEST, "malformed path")
    parts = path[1:].split("/")
    wants_folder = parts[-1] == ""
    return [_segment(part) for part in (parts[:-1] if wants_folder else parts)], wants_folder


def _segment(part: str) -> str:
    try:
        name = unquote(part, errors="strict")
    except UnicodeDecodeError:
        raise _Refusal(HTTPStatus.BAD_REQUEST, "malformed path") from None
    if name in ("", ".", "..") or "/" in name or "\\" in name or _CONTROL.search(name):
        raise _Refusal(HTTPStatus.BAD_REQUEST, "malformed path")
    if name.startswith("."):
        raise _Refusal(HTTPStatus.NOT_FOUND, "no such file")
    return name


def _contained(root: Path, segments: list[str]) -> Path:
    """The real path that `segments` name under `root`; 404 if it leaves root or is hidden."""
    real = Path(os.path.realpath(root.joinpath(*segments)))
    if real == root:
        return real
    if not real.is_relative_to(root) or any(
        part.startswith(".") for part in real.relative_to(root).parts
    ):
        raise _Refusal(HTTPStatus.NOT_FOUND, "no such file")
    return real


def _slashed(target: str) -> str:
    path, mark, query = target.partition("?")
    return f"{path}/{mark}{query}"


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


@dataclass(frozen=True)
class _Variants:
    digest: str
    gzipped: bytes | None = None


class _Representations:
    """Digests and gzip bodies of files, keyed by fstat: nothing is hashed twice. Bounded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Key, _Variants] = OrderedDict()
        self._bytes = 0

    def digest(self, found: _Found) -> str:
        variants = self._get(found.key)
        if variants is None:
            data = found.data()
            variants = _Variants(hashlib.blake2b(data, digest_size=16).hexdigest())
            if len(data) == found.stat.st_size:  # else written in place while we read
                self._put(found.key, variants)
        return variants.digest

    def gzipped(self, found: _Found) -> bytes:
        variants = self._get(found.key)
        if variants is not None and variants.gzipped is not None:
            return variants.gzipped
        body = gzip.compress(found.data(), compresslevel=9, mtime=0)
        if variants is not None:
            self._put(found.key, replace(variants, gzipped=body))
        return body

    def _get(self, key: _Key) -> _Variants | None:
        with self._lock:
            variants = self._entries.get(key)
            if variants is not None:
                self._entries.move_to_end(key)
            return variants

    def _put(self, key: _Key, variants: _Variants) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.gzipped or b"")
            self._entries[key] = variants
            self._bytes += len(variants.gzipped or b"")
            while self._bytes > CACHE_BYTES or len(self._entries) > CACHE_ENTRIES:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.gzipped or b"")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a reader polls several feeds on one connection
    default_request_version = "HTTP/1.0"  # no HTTP/0.9: every answer starts with a status line
    server_version = f"feedpub/{__version__}"
    sys_version = ""
    timeout = CLIENT_TIMEOUT
    disable_nagle_algorithm = True  # headers then body: Nagle would hold the body for an ACK

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.command in ("GET", "HEAD"):
            return True
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) <= 1 << 16:  # read it: closing unread data resets
            self.rfile.read(int(length))
        self._send_text(
            HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD", close=True, Allow="GET, HEAD"
        )
        return False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's protocol errors (400, 414, 431, 505...), as short plain text."""
        self.log_error("code %d, message %s", code, message)
        status = HTTPStatus(code)
        self._send_text(status, message or status.phrase, close=True)

    def log_message(self, format: str, *args: Any) -> None:
        text = _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", format % args)
        log.debug("%s %s", self.address_string(), text)

    def _answer(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        try:
            with _open_target(server.root, self.path) as found:
                self._send_file(found, server.representations)
        except _Refusal as refusal:
            close = refusal.status == HTTPStatus.BAD_REQUEST
            self._send_text(refusal.status, refusal.reason, close=close, **refusal.headers)

    def _send_file(self, found: _Found, representations: _Representations) -> None:
        kind = content_type(found.rel.name)
        compressible = kind in COMPRESSIBLE
        zipped = compressible and accepts_gzip(self._header("Accept-Encoding"))
        digest = representations.digest(found)
        etag = f'"{digest}-gz"' if zipped else f'"{digest}"'
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(found.stat.st_mtime, usegmt=True),
            "Cache-Control": cache_control(found.rel, lambda: _names(found.path.parent)),
        }
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        validators = self._header("If-None-Match"), self._header("If-Modified-Since")
        if is_not_modified(*validators, etag=etag, mtime=found.stat.st_mtime):
            self._send(HTTPStatus.NOT_MODIFIED, headers, b"")
            return
        body = representations.gzipped(found) if zipped else found.data()
        headers |= {"Content-Type": kind, "Content-Length": str(len(body))}
        headers["X-Content-Type-Options"] = "nosniff"
        if zipped:
            headers["Content-Encoding"] = "gzip"
        self._send(HTTPStatus.OK, headers, body)

    def _send_text(self, status: HTTPStatus, text: str, *, close: bool, **headers: str) -> None:
        body = f"{status.value} {status.phrase}: {text}\n".encode()
        headers = {**_TEXT_HEADERS, "Content-Length": str(len(body)), **headers}
        if close:
            headers["Connection"] = "close"
        self._send(status, headers, body)

    def _send(self, status: HTTPStatus, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _header(self, name: str) -> str | None:
        values = self.headers.get_all(name)
        return None if values is None else ", ".join(values)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled client never keeps the process alive
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], root: Path) -> None:
        self.root = root
        self.representations = _Representations()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name: a wait for nothing here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("%s: %s", client_address[0], error)
        else:
            log.exception("serve: failed to answer %s", client_address[0])


def start_server(feeds_dir: Path, *, host: str, port: int) -> ThreadingHTTPServer:
    """Serve `feeds_dir` from a background thread; the caller shuts it down."""
    root = feeds_dir.resolve()
    if not root.is_dir():
        log.warning("%s: no feeds folder yet; a build creates it", feeds_dir)
    try:
        server = _Server((host, port), root)
    except OSError as exc:
        raise ConfigError(f"serve: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL,), name="feedpub-serve", daemon=True
    ).start()
    name = f"[{host}]" if ":" in host else host
    log.info("serving %s on http://%s:%d/", feeds_dir, name, server.server_port)
    return server


def run_serve(feeds_dir: Path, *, host: str, port: int) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server = start_server(feeds_dir, host=host, port=port)
        try:
            stop.wait()
        finally:
            server.shutdown()
            server.server_close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.debug("stopped serving %s", feeds_dir)
    return 0
