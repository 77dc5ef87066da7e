"""The index's seed stats as of one generation: kept by the daemon, and in a file between builds.

A poll with a trusted snapshot walks seeds/ without reading the index. It is trusted only while
the index's generation (a meta value that every run changing the seed table renews, in the same
transaction) is still the snapshot's: a snapshot can be old, never wrong for its generation.
A run makes the next one from the trusted snapshot and what it indexed, or, after a full scan,
from the scan's own stats and the few seeds the index has other stats of.

The file (`.publisher/stats`) is a cache: written whole under a temporary name and renamed, and
checked with a digest when read. Anything unexpected in it (damage, another version, a kill
mid-write) makes it no snapshot at all, and the run reads the index as it would without one.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import marshal
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from feedpub.scan import SeedFile, StatIndex, seed_name
from feedpub.store import Known

STATS_FILE = "stats"
_MAGIC = b"feedpub-stats 1\n"
_DIGEST = 32  # blake2b digest bytes, after the magic line and before the payload


@dataclass
class Snapshot:
    """The index's stats after a run, for the next run.

    Trusted only while the index's generation is still `generation`: a run of another process (a
    cron build, the daemon) that changed the index since makes the next run read the index and
    walk again. A Snapshot() is a request for one: `build_once` returns it in
    `BuildReport.snapshot`.
    """

    generation: str | None = None  # None: not taken yet, never trusted
    index: StatIndex = field(default_factory=StatIndex)


#: Seeds a run examined, with what the index then holds of each file (None: not indexed).
Kept = list[tuple[SeedFile, Known | None]]


def indexed_seeds(seed: SeedFile, stored: Known | None) -> bool:
    """What a trusted snapshot's update needs of a run: every seed it indexed."""
    return stored is not None


def stat_differs(seed: SeedFile, stored: Known | None) -> bool:
    """What a full scan's snapshot needs: seeds whose stat in the index is not the scan's, or none.

    That is, read at other stats than the scan saw (edited since), or not indexed at all.
    """
    return stored is None or stored.mtime_ns != seed.mtime_ns or stored.size != seed.size


def scanned_snapshot(
    scanned: StatIndex,
    differing: Kept,
    unsettled: list[SeedFile],
    known: Mapping[str, Known],
    generation: str | None,
) -> Snapshot:
    """The index's stats after a run, under the file names that its full scan found.

    They are the scan's, but for the seeds read at other stats than the scan's (`differing`) and
    those left for a later run (`unsettled`), of which the index has what it had (`known`), or
    nothing. A seed of the index with no file in the scan (under a folder that could not be
    listed) is left out: the next poll cannot list that folder either, and hands over to a scan.
    """
    for seed, stored in [*differing, *((seed, None) for seed in unsettled)]:
        stat = stored if stored is not None else known.get(seed.slug)
        if stat is None:
            scanned.drop_slug(seed.slug)
        else:
            scanned.set(seed_name(seed), (stat.size, stat.mtime_ns))
    return Snapshot(generation, scanned)


def updated_snapshot(
    trusted: Snapshot, indexed: Kept, deleted: list[str], generation: str | None
) -> Snapshot:
    """The trusted snapshot with what a run read and deleted; updated in place."""
    for slug in deleted:
        trusted.index.drop_slug(slug)
    for seed, known in indexed:
        if known is None:  # not indexed: the index has what it had, and so has the snapshot
            continue
        trusted.index.drop_slug(seed.slug)  # a.txt that became a.md keeps its slug
        trusted.index.set(seed_name(seed), (known.size, known.mtime_ns))
    trusted.generation = generation
    return trusted


def load_snapshot(state_dir: Path) -> Snapshot:
    """The snapshot a last build left in `state_dir`, or Snapshot() when there is none to trust."""
    try:
        with open(state_dir / STATS_FILE, "rb") as file:
            data = file.read()
    except OSError:
        return Snapshot()
    head, payload = data[: len(_MAGIC) + _DIGEST], data[len(_MAGIC) + _DIGEST :]
    digest = hashlib.blake2b(payload, digest_size=_DIGEST).digest()
    if head != _MAGIC + digest:
        return Snapshot()
    collecting = gc.isenabled()
    gc.disable()  # 100,000 tuples would set off a collection every 700: a third of the load
    try:
        generation, folders = marshal.loads(payload)  # noqa: S302 (ours: the digest matched)
    except (EOFError, ValueError, TypeError):
        return Snapshot()
    finally:
        if collecting:
            gc.enable()
    if not isinstance(generation, str) or not isinstance(folders, dict):
        return Snapshot()  # the digest vouches for the rest: save_snapshot wrote it
    return Snapshot(generation, StatIndex(folders))


def keep_snapshot(state_dir: Path, snapshot: Snapshot | None) -> None:
    """Keep `snapshot` for the next build (None: keep what is kept). Call under the site lock.

    Best effort: a snapshot not kept costs the next build one full read. A temporary that a kill
    left behind is replaced or removed.
    """
    path = state_dir / STATS_FILE
    temporary = state_dir / f".{STATS_FILE}.tmp"
    try:
        if snapshot is None or snapshot.generation is None:
            temporary.unlink(missing_ok=True)
            return
        payload = marshal.dumps((snapshot.generation, snapshot.index.folders))
        digest = hashlib.blake2b(payload, digest_size=_DIGEST).digest()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with open(fd, "wb") as file:
            file.write(_MAGIC + digest + payload)
        os.replace(temporary, path)  # no fsync: a file lost or torn by a crash fails its digest
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
