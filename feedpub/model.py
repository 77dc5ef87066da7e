"""The shared vocabulary: frozen values that flow through the pipeline."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

#: What a feed cannot carry: the C0 controls but tab, LF and CR (XML 1.0 forbids them), DEL and
#: the C1 controls (the validator refuses them), U+FFFE and U+FFFF, and surrogates.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")

#: The feed's `updated` when it has no entries at all: fixed, so that an empty feed never churns.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)  # validators flag dates before 1990


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one seed, as `path:line: reason`."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True, slots=True, eq=False)
class Article:
    """One parsed seed: what its text says, nothing about when it was seen.

    Two articles are equal when readers would see the same: a text seed's paragraphs are
    compared, not how its lines were wrapped.
    """

    slug: str
    title: str
    published: datetime  # aware, UTC
    body: str = ""  # the body of a text seed as written; `paragraphs` are split from it
    markdown: str | None = None  # the body of a Markdown seed, as written
    author: str | None = None  # None: the feed's author
    author_email: str | None = None
    tags: tuple[str, ...] = ()
    summary_text: str | None = None  # from a `summary:` header
    link: str | None = None  # from a `link:` header: the article's canonical URL
    language: str | None = None
    pinned_id: str | None = None  # from an `id:` header: keeps a migrated site's ids
    warnings: tuple[Problem, ...] = ()  # not compared
    #: `body` as the seed file's UTF-8 bytes, when they are exactly that (most seeds): the index
    #: stores them as they are instead of encoding the text again. Not compared.
    body_utf8: bytes | None = field(default=None, repr=False)

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """A text seed's paragraphs, split when asked: indexing a seed does not need them."""
        return split_paragraphs(self.body)

    @property
    def summary(self) -> str | None:
        """The `summary:` header, or the first paragraph cut at about 300 characters."""
        if self.summary_text is not None:
            return self.summary_text
        return first_paragraph_summary(self.paragraphs)

    def _key(self) -> tuple[object, ...]:
        return (
            self.slug, self.title, self.published, self.paragraphs, self.markdown, self.author,
            self.author_email, self.tags, self.summary_text, self.link, self.language,
            self.pinned_id,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Article):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def split_paragraphs(body: str) -> tuple[str, ...]:
    """Paragraphs separated by blank lines; the lines of one paragraph joined with a space.

    A blank line holds nothing but spaces and tabs. A line of other blanks (U+3000, say) is
    stripped to nothing and left out, and does not end its paragraph.
    """
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in body.split("\n"):
        stripped = line.strip()
        if stripped:
            lines.append(stripped)
        elif lines and not line.strip(" \t"):
            paragraphs.append(" ".join(lines))
            lines = []
    if lines:
        paragraphs.append(" ".join(lines))
    return tuple(paragraphs)


def first_paragraph_summary(paragraphs: tuple[str, ...]) -> str | None:
    """A summary made of the first paragraph, cut at about 300 characters."""
    return shorten(paragraphs[0], 300) if paragraphs else None


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


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A withdrawn entry, for RFC 6721 `at:deleted-entry`."""

    id: str
    when: datetime


@dataclass(frozen=True, slots=True)
class Document:
    """One feed document: where it lives and how it links to the others (RFC 5005)."""

    self_url: str
    prev_archive: str | None = None
    next_archive: str | None = None
    current: str | None = None  # an archive page's link to the subscription document
    archive: bool = False  # marked with fh:archive
    tombstones: tuple[Tombstone, ...] = ()


def shorten(text: str, limit: int) -> str:
    """Cut `text` on a word boundary to fit in about `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip() + "\u2026"


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def is_language_tag(value: str) -> bool:
    """A language tag as feeds carry it (`en`, `de-AT`): the config's and a seed's `lang`."""
    return _LANGUAGE_TAG.fullmatch(value) is not None


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL that can stand in an XML attribute as it is."""
    try:
        parts = urlsplit(value)
    except ValueError:  # a bracketed host that is not an IPv6 address
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not any(c in value for c in ' <>"')
    )


def tag_slug(tag: str) -> str:
    """A tag as a safe path segment: ASCII letters, digits and dashes, never empty.

    Accents are dropped (`Ünïcode` -> `unicode`); a tag with no ASCII letter or digit at all gets
    `tag-` and a hash of it, so every file name and URL stays plain ASCII.
    """
    decomposed = unicodedata.normalize("NFKD", tag.casefold())
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60].strip("-")
    if not slug:
        slug = "tag-" + hashlib.sha256(tag.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return slug


def entry_id(feed_id: str, slug: str) -> str:
    """The entry's id: `urn:uuid:` + UUIDv5(feed identity, slug). Nothing else goes in."""
    namespace = uuid.UUID(feed_id.removeprefix("urn:uuid:"))
    return f"urn:uuid:{uuid.uuid5(namespace, slug)}"


def article_id(feed_id: str, article: Article) -> str:
    """The entry's id: the one its `id:` header pins, or the one made from its slug."""
    return article.pinned_id or entry_id(feed_id, article.slug)


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
