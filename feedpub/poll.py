"""A poll: what changed in seeds/ since the last run, walked against the stats it kept.

The daemon's every run, and a cron build from its second on, look here first: a walk that
stats each file relative to its open folder and compares it with a StatIndex, or a stat of
the paths that events named. Anything a full scan would judge (a link, a name that is not
UTF-8, two files of one slug, a folder that cannot be listed) makes it answer None, and the
run scans instead (scan.py).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path

from feedpub.scan import (
    IGNORED_ENDINGS,
    SEED_SUFFIXES,
    Changes,
    SeedFile,
    Stat,
    StatIndex,
)

_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def poll(seeds_dir: Path, index: StatIndex) -> list[SeedFile] | None:
    """The seeds whose stat differs from `index`, if that is all there is to know.

    None when a seed in `index` has no file any more, or anything scan_tree would warn about or
    treat specially is met (a symbolic link, a name that is not UTF-8, a folder that cannot be
    listed, a .txt and a .md with one slug): scan_tree and diff then sort it out. Nothing is kept
    for a seed that did not change, and each stat is relative to its open folder.
    """
    changed: list[SeedFile] = []
    found = _poll(str(seeds_dir), "", index.folders, changed, top=True)
    return changed if found == index.count else None


def _poll(
    folder: str,
    prefix: str,
    folders: dict[str, dict[str, Stat]],
    changed: list[SeedFile],
    *,
    top: bool = False,
) -> int | None:
    """How many seeds of the index this folder and those below hold; None to scan instead.

    The hot loop of every poll: a file the index knows costs a lookup, a stat and a compare, as
    near to a bare walk as Python gets. Everything else (new files, folders, odd entries) goes to
    _other, which is rare.
    """
    try:
        fd = os.open(folder, _OPEN_FOLDER if top else _OPEN_FOLDER | os.O_NOFOLLOW)
    except OSError:
        return None
    known = folders.get(prefix, {}).get
    found = 0
    others: list[os.DirEntry[str]] = []
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                old = known(entry.name)
                if old is None:
                    others.append(entry)
                    continue
                found += 1
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    return None  # deleted since the folder was listed
                # A file swapped for a link, a folder or a FIFO has its own times (and the link
                # is never followed: reads refuse it); only a deliberate copy of the old size and
                # time hides the swap from polls, until the next full scan.
                if old[1] != info.st_mtime_ns or old[0] != info.st_size:
                    if not stat.S_ISREG(info.st_mode):
                        return None  # a link, a folder, a FIFO now: scan_tree says what it is
                    name = entry.name
                    stem = prefix + name[: name.rindex(".")]
                    changed.append(SeedFile(stem, folder + os.sep + name, *_stat(info)))
            subfolders = _other(folder, prefix, others, changed, fd)
    finally:
        os.close(fd)
    if subfolders is None:
        return None
    for name in subfolders:
        below = _poll(folder + os.sep + name, prefix + name + "/", folders, changed)
        if below is None:
            return None
        found += below
    return found


def _stat(info: os.stat_result) -> tuple[int, int]:
    return info.st_size, info.st_mtime_ns


def _other(
    folder: str, prefix: str, entries: list[os.DirEntry[str]], changed: list[SeedFile], fd: int
) -> list[str] | None:
    """Entries the index does not know: the subfolders to walk; None to scan instead."""
    subfolders: list[str] = []
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        if not name.isascii() and not _utf8(name):
            return None
        seed_like = name.endswith(SEED_SUFFIXES)
        if not seed_like and name.endswith(IGNORED_ENDINGS):
            continue
        if entry.is_symlink():
            if seed_like or entry.is_dir():
                return None  # scan_tree says it is not followed
            continue
        if entry.is_dir(follow_symlinks=False):
            subfolders.append(name)
            continue
        if not seed_like:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # deleted since the folder was listed
        if not stat.S_ISREG(info.st_mode):
            return None  # a FIFO, a socket...: scan_tree says it is skipped
        stem = name[: name.rindex(".")]
        twins = (stem + suffix for suffix in SEED_SUFFIXES if not name.endswith(suffix))
        if any(_lexists(twin, fd) for twin in twins):
            return None  # two files, one slug: scan_tree picks one and warns
        changed.append(SeedFile(prefix + stem, folder + os.sep + name, *_stat(info)))
    return subfolders


def _lexists(name: str, fd: int) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return False
    return True


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stat_paths(seeds_dir: Path, paths: Collection[str], index: StatIndex) -> Changes | None:
    """The changes among `paths` alone (files that events named), or None to poll instead.

    None when a path is outside seeds/ or odd, or anything scan_tree would warn about or treat
    specially is met. A path that is not a seed's (hidden, temporary, another suffix) is ignored.
    """
    root = str(seeds_dir) + os.sep
    changed: list[SeedFile] = []
    deleted: set[str] = set()
    for path in paths:
        if not path.startswith(root):
            return None
        parts = path[len(root) :].split(os.sep)
        if any(part in ("", ".", "..") for part in parts) or not _utf8(path):
            return None
        if any(p.startswith(".") or p.endswith(IGNORED_ENDINGS) for p in parts):
            continue
        if not parts[-1].endswith(SEED_SUFFIXES):
            continue
        name = "/".join(parts)
        slug = name.rsplit(".", 1)[0]
        try:
            found = _stat_seed(root, parts)
        except _ScanInstead:
            return None
        if found is None:
            if index.get(name) is not None:
                deleted.add(slug)
        elif index.get(name) != (found.st_size, found.st_mtime_ns):
            changed.append(SeedFile(slug, path, found.st_size, found.st_mtime_ns))
    deleted.difference_update(seed.slug for seed in changed)  # a.txt renamed a.md: an edit
    changed.sort(key=lambda seed: seed.slug)
    return Changes(changed=changed, deleted=sorted(deleted), unsettled=[])


class _ScanInstead(Exception):
    """A path that scan_tree must judge: a link, a file that is not regular, two of one slug."""


def _stat_seed(root: str, parts: list[str]) -> os.stat_result | None:
    """The seed file's stat; None when it is gone; _ScanInstead when a scan must decide."""
    folder = root
    try:
        for part in parts[:-1]:
            folder += part
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise _ScanInstead  # a link to a folder, or a file: not a path scan_tree follows
            folder += os.sep
        name = parts[-1]
        base = folder + name.rsplit(".", 1)[0]
        if any(os.path.lexists(base + s) for s in SEED_SUFFIXES if not name.endswith(s)):
            raise _ScanInstead  # the slug has a file of the other kind too
        info = os.lstat(folder + name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        raise _ScanInstead from None
    if not stat.S_ISREG(info.st_mode):
        raise _ScanInstead
    return info
