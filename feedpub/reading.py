"""Reading a seed's bytes safely: no symbolic link followed at any depth, no blocking open.

A seed swapped since the scan for a link, a FIFO, a socket or a folder is refused with a
SeedError that names it; one that is gone is FileNotFoundError (the next run removes it).
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from feedpub import pages
from feedpub.config import Config
from feedpub.errors import SeedError
from feedpub.scan import SeedFile

NAME_MAX = 255  # bytes in one file name, on every common file system
_OPEN_SEED = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def read_seed(
    config: Config, seed: SeedFile, source: str, folder: OpenFolder | None = None
) -> tuple[bytes, os.stat_result]:
    """A publishable seed's bytes: SeedError for a file name with no page, or a bad file."""
    problem = _slug_problem(seed.slug)
    if problem:
        raise SeedError(source, 1, problem)
    return _read(seed, config.seeds_dir, source, limit=config.max_seed_bytes, folder=folder)


def _slug_problem(slug: str) -> str | None:
    """Why a seed's file name cannot be published, if it cannot: its page needs a safe path."""
    try:
        path = pages.article_path(slug)
    except ValueError:
        return f"file name cannot be published: no safe page path for {slug!r}"
    if len(path) > NAME_MAX // 4 and any(  # 4 bytes a character at most: the usual path is short
        len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in path.split("/")
    ):
        return f"file name cannot be published: too long for its page ({NAME_MAX} bytes at most)"
    return None


def _read(
    seed: SeedFile, root: Path, source: str, *, limit: int, folder: OpenFolder | None = None
) -> tuple[bytes, os.stat_result]:
    """A seed's bytes and the fstat taken before reading them.

    FileNotFoundError when it is gone. A file swapped since the scan for a symbolic link (at any
    depth below `root`), a FIFO, a socket or a folder is refused, never followed or waited on.
    """
    if seed.size > limit:
        raise SeedError(source, 1, f"too large: {seed.size} bytes, the limit is {limit}")
    try:
        fd = _open_beneath(root, seed.path, folder)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(seed.path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SeedError(source, 1, "a symbolic link: not followed") from None
        if exc.errno == errno.ENXIO:
            raise SeedError(source, 1, "not a regular file") from None
        raise SeedError(source, 1, f"cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SeedError(source, 1, "not a regular file")
        if info.st_size > limit:
            raise SeedError(source, 1, f"too large: {info.st_size} bytes, the limit is {limit}")
        data = _read_at_most(fd, limit + 1, expected=info.st_size)
    except OSError as exc:
        raise SeedError(source, 1, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise SeedError(source, 1, f"too large: over {limit} bytes")
    return data, info


def _open_beneath(root: Path, path: str, folder: OpenFolder | None = None) -> int:
    """Open `path` for reading, following no symbolic link below `root` and never blocking.

    With `folder`, the seed's folder is opened through it: kept open for the next seed there.
    """
    prefix = folder_prefix(root)
    relative = path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, root)
    *folders, name = relative.split(os.sep)
    if folder is None:
        fd = _open_folders(root, folders)
        try:
            return os.open(name, _OPEN_SEED, dir_fd=fd)
        finally:
            os.close(fd)
    try:
        return os.open(name, _OPEN_SEED, dir_fd=folder.get(root, tuple(folders)))
    except FileNotFoundError:  # perhaps its folder was replaced since it was opened: look again
        folder.close()
        return os.open(name, _OPEN_SEED, dir_fd=folder.get(root, tuple(folders)))


def _open_folders(root: Path, folders: Sequence[str]) -> int:
    """A descriptor of the folder at `root`/`folders`, reached without following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for folder in folders:
            try:
                inner = os.open(folder, _OPEN_FOLDER, dir_fd=fd)
            except NotADirectoryError:  # what O_DIRECTORY says of a link, before O_NOFOLLOW can
                if stat.S_ISLNK(os.stat(folder, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), folder) from None
                raise
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


class OpenFolder:
    """The folder of the last seed read, kept open for the next one.

    Seeds are read in slug order, so a run opens each folder about once instead of every folder
    on the way for every seed. One descriptor at a time, whatever the number of folders.
    """

    def __init__(self) -> None:
        self._key: tuple[str, ...] | None = None
        self._fd = -1

    def get(self, root: Path, folders: tuple[str, ...]) -> int:
        if folders != self._key:
            self.close()
            self._fd = _open_folders(root, folders)
            self._key = folders
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._key = -1, None


def _read_at_most(fd: int, size: int, *, expected: int) -> bytes:
    """Up to `size` bytes; the first read asks for the `expected` size and one byte more.

    Asking for `size` at once would have os.read allocate the whole limit (a megabyte) for
    every seed, which cost more than the read itself. Exactly the `expected` bytes is the whole
    file as its fstat saw it (growth since then changes its times: the next run reads it again).
    A file that grew or shrank is read on, in chunks, to its end.
    """
    chunks: list[bytes] = []
    ask = min(size, expected + 1)
    while size > 0:
        chunk = os.read(fd, ask)
        if not chunk:
            break
        if not chunks and len(chunk) == expected < ask:
            return chunk
        chunks.append(chunk)
        size -= len(chunk)
        ask = min(size, 1 << 16)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@functools.lru_cache(maxsize=8)
def folder_prefix(folder: Path) -> str:
    """`folder` with a separator at the end: what a path inside it starts with (once a run)."""
    return os.path.join(folder, "")
