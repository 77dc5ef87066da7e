"""Files no longer published leave feeds/, once the feeds no longer link to them.

The pages of entries withdrawn or not due yet (a seed dated anew, in the future), archive pages
past the newest (after a larger `archive_page_size`), and every file of a kind of output the
settings no longer ask for. Nothing else: a file of feeds/ that the publisher did not publish
(a CNAME, an index.html of the site's own) is not its to remove.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from feedpub.config import Config
from feedpub.layout import NAMES, SUFFIXES, archive_name, newest_page, page_path
from feedpub.store import Store

OUTPUTS = "outputs"  # meta key: the folder published to, and the kinds of output, as JSON


class Files(Protocol):
    """What of feeds/ this module needs: names relative to it."""

    def exists(self, name: str) -> bool: ...

    def remove(self, name: str) -> None: ...


def outputs(config: Config) -> list[str]:
    """The kinds of output the settings ask for: each format, the pages, the archives."""
    kinds = [("pages", config.pages), ("archives", config.archives)]
    return [*config.formats, *(kind for kind, wanted in kinds if wanted)]


def withdraw(store: Store, config: Config, files: Files, slugs: set[str], *, now: datetime) -> None:
    """Remove from feeds/ what is no longer published, after the documents that linked to it.

    The pages of `slugs`, archive pages past the newest, and the files of a kind of output the
    settings no longer ask for: only of kinds the index records as published to this folder (an
    index that records none starts recording).
    """
    before, current = _recorded(store, config), outputs(config)
    if config.pages or (before and "pages" in before):
        for slug in sorted(slugs):
            path = page_path(slug)
            if path is not None:
                files.remove(path)
    if config.archives:
        newest = newest_page(store, config)
        for format_ in SUFFIXES.keys() & set(config.formats):
            number = newest + 1
            while files.exists(archive_name(number, format_)):
                files.remove(archive_name(number, format_))
                number += 1
    if before == current:
        return
    gone = set(before or current) - set(current)
    for name in _names(store, files, gone, before or current, now=now):
        files.remove(name)
    store.set_meta(OUTPUTS, json.dumps({"feeds": _folder(config), "kinds": current}))


def _recorded(store: Store, config: Config) -> list[str] | None:
    """The kinds of output the index records as published to this feeds/; None: it records none.

    Published to another folder (a new feeds_dir, a preview with --feeds), they say nothing of
    what this one holds: a file here may be the site's own.
    """
    try:
        recorded = json.loads(store.get_meta(OUTPUTS) or "null")
        kinds = recorded["kinds"] if recorded["feeds"] == _folder(config) else None
    except (ValueError, TypeError, KeyError):  # none, or not as written here
        return None
    return list(kinds) if isinstance(kinds, list) else None


def _folder(config: Config) -> str:
    return str(config.feeds_dir.resolve())


def _names(
    store: Store, files: Files, gone: set[str], before: list[str], *, now: datetime
) -> Iterator[str]:
    """The files that the kinds of output in `gone` published, when `before` were published."""
    archived = [f for f in SUFFIXES if f in before and ("archives" in gone or f in gone)]
    if "archives" in before:
        for format_ in archived:  # every page there is: its number may have changed meanwhile
            number = 0
            while files.exists(name := archive_name(number, format_)):
                yield name
                number += 1
    for format_ in sorted(gone & NAMES.keys()):
        yield NAMES[format_]
        yield from (f"tags/{tag}/{NAMES[format_]}" for tag in store.all_tags())
    if "pages" in gone:
        yield "index.html"
        slugs = [stored.article.slug for stored in store.all_published(now)]
        for slug in slugs + [slug for slug, _ in store.waiting(now)]:  # pages of seeds re-dated
            path = page_path(slug)
            if path is not None:
                yield path
