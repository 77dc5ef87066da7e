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
