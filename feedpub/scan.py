"""What is in seeds/ and what changed: stat first, read only the candidates."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from feedpub.store import Known

log = logging.getLogger(__name__)

SEED_SUFFIXES = (".txt", ".md")
SEED_SUFFIX = ".txt"  # the plain-text form
IGNORED_ENDINGS = ("~", ".tmp", ".part", ".swp")


@dataclass(frozen=True, slots=True)
class SeedFile:
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


def scan(seeds_dir: Path) -> dict[str, SeedFile]:
    """Every seed under `seeds_dir`, by slug. Hidden and editor-temporary names are ignored."""
    root = str(seeds_dir)
    if not os.path.isdir(root):
        return {}
    seeds: dict[str, SeedFile] = {}
    for seed in sorted(_walk(root, ""), key=lambda seed: seed.path):
        if seed.slug in seeds:
            log.warning("%s: skipped: %s has the same slug", seed.path, seeds[seed.slug].path)
            continue
        seeds[seed.slug] = seed
    return seeds


def is_markdown(seed: SeedFile) -> bool:
    return seed.path.endswith(".md")


def _walk(folder: str, prefix: str) -> Iterator[SeedFile]:
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        log.warning("%s: cannot list folder: %s", folder, exc.strerror)
        return
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.endswith(IGNORED_ENDINGS):
            continue
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            log.warning("%s: skipped: the file name is not UTF-8", entry.path)
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, prefix + name + "/")
        elif name.endswith(SEED_SUFFIXES):
            seed = _seed_file(entry, prefix + name.rsplit(".", 1)[0])
            if seed is not None:
                yield seed


def _seed_file(entry: os.DirEntry[str], slug: str) -> SeedFile | None:
    if entry.is_symlink():
        log.warning("%s: skipped: seeds may not be symbolic links", entry.path)
        return None
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return None  # deleted since the folder was listed
    if not stat.S_ISREG(info.st_mode):
        log.warning("%s: skipped: not a regular file", entry.path)
        return None
    return SeedFile(slug, entry.path, info.st_size, info.st_mtime_ns)


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
    changed: list[SeedFile] = []
    unsettled: list[SeedFile] = []
    for slug, seed in files.items():
        old = known.get(slug)
        if old is not None and old.size == seed.size and old.mtime_ns == seed.mtime_ns:
            continue
        if settle_ns and now_ns - seed.mtime_ns < settle_ns and seed.path not in ready:
            unsettled.append(seed)
        else:
            changed.append(seed)
    deleted = [slug for slug in known if slug not in files]
    changed.sort(key=lambda seed: seed.slug)
    return Changes(changed=changed, deleted=sorted(deleted), unsettled=unsettled)
