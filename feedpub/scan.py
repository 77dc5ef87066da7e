"""What is in seeds/ and what changed: stat first, read only the candidates."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from feedpub.errors import ConfigError
from feedpub.store import Known

log = logging.getLogger(__name__)

SEED_SUFFIXES = (".txt", ".md")
SEED_SUFFIX = ".txt"  # the plain-text form
IGNORED_ENDINGS = ("~", ".tmp", ".part", ".swp")
#: What the index's content hash of a Markdown seed starts with: renaming notes.txt to notes.md
#: (which keeps the file's times) changes what the seed is, and the index must see it.
MARKDOWN_HASH = "md:"
_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class SeedFile(NamedTuple):  # a tuple: built for every seed of a walk, faster than a dataclass
    """A seed file as a stat sees it."""

    slug: str
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Changes:
    """The difference between seeds/ now and the index."""

    changed: list[SeedFile]  # new, or size or mtime differ from the index
    deleted: list[str]  # slugs in the index with no file any more
    unsettled: list[SeedFile]  # changed too recently to be read yet


@dataclass(frozen=True, slots=True)
class Tree:
    """A scan of seeds/: the seeds found, and the folders that could not be listed."""

    files: dict[str, SeedFile]
    unlisted: tuple[str, ...] = ()  # slug prefixes ("sub/"): what the index has there stays
    stats: StatIndex | None = None  # the same files' stats as a StatIndex, when asked for

    def hides(self, slug: str) -> bool:
        """Whether `slug` is under a folder that could not be listed (so not known deleted)."""
        return slug.startswith(self.unlisted)


def scan(seeds_dir: Path) -> dict[str, SeedFile]:
    """Every seed under `seeds_dir`, by slug. Hidden and editor-temporary names are ignored."""
    try:
        return scan_tree(seeds_dir).files
    except ConfigError:
        return {}


def scan_tree(seeds_dir: Path, *, stats: bool = False) -> Tree:
    """Every seed under `seeds_dir`, and the subfolders that could not be listed.

    Symbolic links are never followed, and nothing but regular files is a seed. A seeds folder
    that is missing or cannot be listed is a ConfigError: taking it for an empty one would
    withdraw every entry. With `stats`, the tree also has its seeds' stats as a StatIndex, built
    as the walk meets each file (a third of the time it takes from the seeds afterwards).
    """
    root = str(seeds_dir)
    try:
        entries = _list(root)
    except OSError as exc:
        what = "does not exist" if isinstance(exc, FileNotFoundError) else "cannot be listed"
        if isinstance(exc, NotADirectoryError):
            what = "is not a folder"
        raise ConfigError(f"{seeds_dir}: the seeds folder {what}") from exc
    found: list[SeedFile] = []
    unlisted: list[str] = []
    stat_folders: dict[str, dict[str, Stat]] = {}
    folders: list[tuple[str, list[os.DirEntry[str]]]] = [("", entries)]
    while folders:  # a loop, not recursion: any depth of folders
        prefix, entries = folders.pop()
        names = stat_folders.setdefault(prefix, {}) if stats else None
        for entry in entries:
            sub = _visit(entry, prefix, found, names)
            if sub is None:
                continue
            try:
                folders.append((sub, _list(entry.path)))
            except (FileNotFoundError, NotADirectoryError):
                continue  # gone since its parent was listed: its seeds are deleted
            except OSError as exc:
                log.warning("%s: cannot list folder: %s", entry.path, exc.strerror)
                unlisted.append(sub)
    seeds: dict[str, SeedFile] = {}
    for seed in sorted(found, key=lambda seed: seed.path):
        if seed.slug in seeds:
            log.warning("%s: skipped: %s has the same slug", seed.path, seeds[seed.slug].path)
            if stats:
                prefix = seed.slug[: seed.slug.rfind("/") + 1]
                del stat_folders[prefix][os.path.basename(seed.path)]
            continue
        seeds[seed.slug] = seed
    index = StatIndex({p: names for p, names in stat_folders.items() if names}) if stats else None
    return Tree(seeds, tuple(sorted(unlisted)), index)


def is_markdown(seed: SeedFile) -> bool:
    return seed.path.endswith(".md")


def _list(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as listing:
        return list(listing)


def _visit(
    entry: os.DirEntry[str],
    prefix: str,
    found: list[SeedFile],
    names: dict[str, Stat] | None,
) -> str | None:
    """A seed goes to `found`, and its stat to `names`; a folder's slug prefix is returned."""
    name = entry.name
    if name.startswith(".") or name.endswith(IGNORED_ENDINGS):
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        log.warning("%s: skipped: the file name is not UTF-8", entry.path)
        return None
    if entry.is_symlink():
        if name.endswith(SEED_SUFFIXES) or entry.is_dir():  # a stat of the target, no more
            log.warning("%s: skipped: symbolic links in seeds/ are not followed", entry.path)
        return None
    if entry.is_dir(follow_symlinks=False):
        return prefix + name + "/"
    if name.endswith(SEED_SUFFIXES):
        seed = _seed_file(entry, prefix + name.rsplit(".", 1)[0])
        if seed is not None:
            found.append(seed)
            if names is not None:
                names[name] = (seed.size, seed.mtime_ns)
    return None


def _seed_file(entry: os.DirEntry[str], slug: str) -> SeedFile | None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return None  # deleted since the folder was listed
    if not stat.S_ISREG(info.st_mode):
        log.warning("%s: skipped: not a regular file", entry.path)
        return None
    return SeedFile(slug, entry.path, info.st_size, info.st_mtime_ns)


Stat = tuple[int, int]  # (size, mtime_ns): all a poll compares


class StatIndex:
    """What the index knows of each seed file, by folder, as a walk meets them.

    folder prefix ("" or "2024/") -> file name ("launch.txt") -> (size, mtime_ns). Keyed so that
    a walk looks a file up by its folder and the name scandir gives, building nothing per file.
    """

    def __init__(self, folders: dict[str, dict[str, Stat]] | None = None) -> None:
        self.folders = folders if folders is not None else {}
        self.count = sum(len(names) for names in self.folders.values())

    def get(self, name: str) -> Stat | None:
        folder, _, base = name.rpartition("/")
        return self.folders.get(folder + "/" if folder else "", {}).get(base)

    def set(self, name: str, found: Stat) -> None:
        folder, _, base = name.rpartition("/")
        names = self.folders.setdefault(folder + "/" if folder else "", {})
        self.count += base not in names
        names[base] = found

    def drop_slug(self, slug: str) -> None:
        """Forget the seed file of `slug`, whichever suffix it has."""
        folder, _, stem = slug.rpartition("/")
        names = self.folders.get(folder + "/" if folder else "", {})
        for suffix in SEED_SUFFIXES:
            if names.pop(stem + suffix, None) is not None:
                self.count -= 1


def seed_name(seed: SeedFile) -> str:
    """The seed's file path relative to seeds/, as StatIndex keys it."""
    return seed.slug + seed.path[seed.path.rindex(".") :]


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


def settled(
    changed: Iterable[SeedFile], *, now_ns: int, settle_ns: int, ready: Collection[str]
) -> tuple[list[SeedFile], list[SeedFile]]:
    """(ready to read, modified too recently): a file closed after writing is always ready."""
    done: list[SeedFile] = []
    unsettled: list[SeedFile] = []
    for seed in changed:
        if settle_ns and now_ns - seed.mtime_ns < settle_ns and seed.path not in ready:
            unsettled.append(seed)
        else:
            done.append(seed)
    return done, unsettled


def diff(
    files: Mapping[str, SeedFile],
    known: Mapping[str, Known],
    *,
    now_ns: int,
    settle_ns: int = 0,
    ready: Collection[str] = (),
) -> Changes:
    """Compare a scan with the index.

    A file modified less than `settle_ns` ago waits, unless its path is in `ready` (a file known
    to be closed after writing).
    """
    candidates: list[SeedFile] = []
    for slug, seed in files.items():
        old = known.get(slug)
        if (
            old is not None
            and old.size == seed.size
            and old.mtime_ns == seed.mtime_ns
            and old.hash.startswith(MARKDOWN_HASH) == seed.path.endswith(".md")
        ):
            continue
        candidates.append(seed)
    changed, unsettled = settled(candidates, now_ns=now_ns, settle_ns=settle_ns, ready=ready)
    deleted = [slug for slug in known if slug not in files]
    changed.sort(key=lambda seed: seed.slug)
    return Changes(changed=changed, deleted=sorted(deleted), unsettled=unsettled)
