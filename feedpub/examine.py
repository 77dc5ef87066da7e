"""Read, hash and parse the changed seeds: everything a run does to a seed before the index.

Nothing here reads or writes the index: the run passes the content hash the index has of each
seed, and stores what comes back.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from typing import NamedTuple

import xxhash

from feedpub.config import Config
from feedpub.errors import SeedError
from feedpub.model import Article
from feedpub.reading import OpenFolder, folder_prefix, read_seed
from feedpub.scan import MARKDOWN_HASH, SeedFile, is_markdown
from feedpub.seeds import parse_seed
from feedpub.store import Known

Job = tuple[SeedFile, str | None]  # a changed seed, and the content hash the index has of it


class Examined(NamedTuple):  # a tuple: built for every seed read
    """One changed seed as read: its stat and content hash, and its article or why it has none.

    `known` is None when the file is gone since the scan. With a `known` and neither an article
    nor an error, its content is the one the index has (only its times changed).
    """

    seed: SeedFile
    known: Known | None
    article: Article | None = None
    error: str | None = None


def examine(config: Config, seed: SeedFile, old_hash: str | None, folder: OpenFolder) -> Examined:
    """Read one seed safely, hash it, and parse it unless its content is `old_hash`."""
    source = display_path(config, seed.path)
    markdown = is_markdown(seed)
    try:
        data, info = read_seed(config, seed, source, folder)
    except FileNotFoundError:
        return Examined(seed, None)  # deleted since the scan: the next run removes it
    except SeedError as exc:
        return Examined(seed, Known(seed.size, seed.mtime_ns, _kind(markdown)), error=str(exc))
    digest = _kind(markdown) + xxhash.xxh3_128_hexdigest(data)  # 32 hex digits, as sha256 cut was
    known = Known(info.st_size, info.st_mtime_ns, digest)  # what was read, not what was scanned
    if digest == old_hash:
        return Examined(seed, known)
    try:
        article = parse_seed(
            data, source=source, slug=seed.slug, timezone=config.tz, markdown=markdown
        )
    except SeedError as exc:
        return Examined(seed, known, error=str(exc))
    return Examined(seed, known, article)


def _kind(markdown: bool) -> str:
    """The same bytes read as Markdown are another article: their hash says which."""
    return MARKDOWN_HASH if markdown else ""


def display_path(config: Config, path: str) -> str:
    """A seed's path as messages show it: relative to the site when it is inside it."""
    root = folder_prefix(config.root)
    if path.startswith(root):  # the usual case, without relpath's work per seed
        return path[len(root) :]
    relative = os.path.relpath(path, config.root)
    return path if relative.startswith("..") else relative


def examine_all(config: Config, jobs: Iterable[Job]) -> Generator[Examined, None, None]:
    """Examine `jobs` in order, one at a time (the folder of the last one stays open)."""
    folder = OpenFolder()
    try:
        for seed, old_hash in jobs:
            yield examine(config, seed, old_hash, folder)
    finally:
        folder.close()
