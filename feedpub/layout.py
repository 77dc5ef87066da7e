"""Where each published document lives under feeds/: its name, and its URL."""

from __future__ import annotations

from feedpub import pages
from feedpub.config import Config
from feedpub.store import Store

SUFFIXES = {"atom": ".atom.xml", "rss": ".rss.xml"}  # of archive pages
NAMES = {"atom": "atom.xml", "rss": "rss.xml", "json": "feed.json"}  # of subscription documents


def newest_page(store: Store, config: Config) -> int:
    """The newest archive page: never full, possibly empty.

    It is the page the next archived entry goes to, except at the start: the first page then
    already links to an empty second one, because validators take an archive page with neither a
    prev-archive nor a next-archive link for an incomplete archive.
    """
    return max(store.archive_end() // config.archive_page_size, 1)


def archive_url(config: Config, page: int, format_: str) -> str:
    return config.feed_url + archive_name(page, format_)


def archive_name(page: int, format_: str) -> str:
    return f"archive/{page + 1}{SUFFIXES[format_]}"


def page_path(slug: str) -> str | None:
    """The article page's path; None for a slug that makes no safe one (build refuses those)."""
    try:
        return pages.article_path(slug)
    except ValueError:
        return None
