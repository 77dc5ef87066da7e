"""The shared vocabulary: frozen values that flow through the pipeline."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: The feed's `updated` when it has no entries at all: fixed, so that an empty feed never churns.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one seed, as `path:line: reason`."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Article:
    """One parsed seed: what its text says, nothing about when it was seen."""

    slug: str
    title: str
    published: datetime  # aware, UTC
    paragraphs: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = field(default=(), compare=False)

    @property
    def summary(self) -> str | None:
        """The first paragraph as plain text, cut at about 300 characters on a word boundary."""
        if not self.paragraphs:
            return None
        return shorten(self.paragraphs[0], 300)


@dataclass(frozen=True, slots=True)
class Entry:
    """An article as a feed shows it: identity, times and rendered text."""

    id: str
    title: str
    published: datetime
    updated: datetime
    summary: str | None
    content_html: str | None
    link: str | None = None
    slug: str = ""
    author: str | None = None  # None: the feed's author
    author_email: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None  # None: the feed's language


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a feed document says about itself."""

    id: str
    title: str
    description: str
    site_url: str
    feed_url: str
    author: str
    author_email: str | None = None
    language: str = "en"
    hubs: tuple[str, ...] = ()  # WebSub hubs


def shorten(text: str, limit: int) -> str:
    """Cut `text` on a word boundary to fit in about `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip() + "\u2026"


def entry_id(feed_id: str, slug: str) -> str:
    """The entry's id: `urn:uuid:` + UUIDv5(feed identity, slug). Nothing else goes in."""
    namespace = uuid.UUID(feed_id.removeprefix("urn:uuid:"))
    return f"urn:uuid:{uuid.uuid5(namespace, slug)}"


def stable_instant(moment: datetime, slug: str) -> datetime:
    """`moment` with a sub-second part derived from the slug, when it has none of its own.

    Date-only seeds often share a day, and two Atom entries with the same `updated` text draw a
    validator warning. The fraction depends on the slug alone, so it never changes when other seeds
    are added, and it never moves a time across a whole second.
    """
    if moment.microsecond:
        return moment
    digest = hashlib.sha256(slug.encode("utf-8", "surrogatepass")).digest()
    micros = int.from_bytes(digest[:4], "big") % 1_000_000 or 1
    try:
        return moment + timedelta(microseconds=micros)
    except OverflowError:
        return moment
