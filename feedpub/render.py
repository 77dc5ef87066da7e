"""Atom 1.0 and RSS 2.0 bytes from FeedInfo and entries. Pure, and the only importer of feedgen.

Same input, same bytes: every date is set here (feedgen would default them to now), entries are
added in the order given, and the generator carries no version.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedpub.model import EMPTY_FEED_UPDATED, Document, Entry, FeedInfo

GENERATOR = "feedpub"
GENERATOR_URI = "https://pypi.org/project/feedpub/"
ATOM = "http://www.w3.org/2005/Atom"
FH = "http://purl.org/syndication/history/1.0"
AT = "http://purl.org/atompub/tombstones/1.0"
DC = "http://purl.org/dc/elements/1.1/"
_DC_CREATOR = f"{{{DC}}}creator"
_RSS_TITLE = re.compile(rb"<(title)>([^<&]*&[^<]*)</title>")  # only titles with a reference
_RSS_DESCRIPTION = re.compile(rb"<(description)>([^<]*)</description>")
_RSS_TITLE_REFS = {b"&amp;": b"&#x26;", b"&lt;": b"&#x3C;", b"&gt;": b"&#x3E;"}
_RSS_REF = re.compile(rb"&amp;|&lt;|&gt;")


def paragraphs_html(paragraphs: Sequence[str]) -> str | None:
    """Plain-text paragraphs as HTML: every `<`, `>` and `&` shows as that character."""
    if not paragraphs:
        return None
    return "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)


def feed_updated(entries: Sequence[Entry]) -> datetime:
    """The newest entry's `updated`; a fixed value for a feed with no entries."""
    return max((entry.updated for entry in entries), default=EMPTY_FEED_UPDATED)


def render_atom(info: FeedInfo, entries: Sequence[Entry], document: Document) -> bytes:
    return render_feeds(info, entries, {"atom": document})["atom"]


def render_rss(info: FeedInfo, entries: Sequence[Entry], document: Document) -> bytes:
    return render_feeds(info, entries, {"rss": document})["rss"]


def render_feeds(
    info: FeedInfo, entries: Sequence[Entry], documents: Mapping[str, Document]
) -> dict[str, bytes]:
    """Each of "atom" and "rss" in `documents`, from one generator: the entries are added once."""
    generator = _generator(info, entries)
    rendered: dict[str, bytes] = {}
    for format_, document in documents.items():
        _set_document(generator, info, document, format_)
        if format_ == "atom":
            rendered[format_] = generator.atom_str(
                pretty=True, encoding="UTF-8", xml_declaration=True
            )
        else:
            rendered[format_] = _rss_titles(
                generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
            )
    return rendered


def _rss_titles(data: bytes) -> bytes:
    # RSS cannot mark a title as plain text; hex references keep `&` and `<` from looking like
    # markup to readers and validators. Titles hold text only, so this touches nothing else; the
    # channel description (the first one, before any item) is plain text from the config too.
    data = _RSS_TITLE.sub(_hex_refs, data)
    return _RSS_DESCRIPTION.sub(_hex_refs, data, count=1)


def _hex_refs(match: re.Match[bytes]) -> bytes:
    tag, text = match.group(1), match.group(2)
    inner = _RSS_REF.sub(lambda ref: _RSS_TITLE_REFS[ref.group()], text)
    return b"<" + tag + b">" + inner + b"</" + tag + b">"


def _generator(info: FeedInfo, entries: Sequence[Entry]) -> Any:
    fg = FeedGenerator()
    # One extension does all feedgen lacks, dc:creator included: feedgen's own dc extension and
    # its RSS dates (strftime under a switched locale, then replaced) cost a third of a render.
    fg.register_extension("feedpub", _FeedExtension, _EntryExtension, atom=True, rss=True)
    fg.id(info.id)
    fg.title(info.title)
    fg.subtitle(info.description)
    fg.author(_person(info.author, info.author_email))
    fg.language(info.language)
    fg.generator(GENERATOR, uri=GENERATOR_URI)
    updated = feed_updated(entries)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    fg.feedpub.updated = updated
    for entry in entries:
        _add_entry(fg, entry, info)
    return fg


def _set_document(fg: Any, info: FeedInfo, document: Document, format_: str) -> None:
    """The links and extras of one document (self, archives, tombstones) on a built generator."""
    links = _links(info, document)
    fg.link(
        [
            {"href": document.self_url, "rel": "self"},
            *({"href": href, "rel": rel} for rel, href in links),
            {"href": info.site_url, "rel": "alternate"},  # last: feedgen makes it the RSS <link>
        ],
        replace=True,
    )
    fg.feedpub.document = document
    fg.feedpub.links = links
    fg.feedpub.format = format_


def _links(info: FeedInfo, document: Document) -> list[tuple[str, str]]:
    links = [("hub", hub) for hub in info.hubs]
    for rel, href in (
        ("current", document.current),
        ("prev-archive", document.prev_archive),
        ("next-archive", document.next_archive),
    ):
        if href:
            links.append((rel, href))
    return links


def _add_entry(fg: Any, entry: Entry, info: FeedInfo) -> None:
    fe = fg.add_entry(order="append")
    fe.id(entry.id)
    fe.guid(entry.id, permalink=entry.id == entry.link)  # the id, never a URL that can move
    fe.title(entry.title)
    fe.updated(entry.updated)
    name = entry.author or info.author
    email = entry.author_email if entry.author else info.author_email
    fe.author(_person(name, email))
    if entry.link:
        fe.link(href=entry.link, rel="alternate")
    for tag in entry.tags:
        fe.category(term=tag)
    content = entry.content_html
    if content is None:
        # A title-only seed: readers and validators want textual content, so the title stands in.
        content = f"<p>{html.escape(entry.title, quote=False)}</p>"
    if entry.summary is not None:
        fe.summary(html.escape(entry.summary, quote=False), type="html")
    fe.content(content, type="html")
    fe.feedpub.published = entry.published
    fe.feedpub.creator = None if email else name
    fe.feedpub.language = entry.language if entry.language != info.language else None


def _person(name: str, email: str | None) -> dict[str, str]:
    return {"name": name, "email": email} if email else {"name": name}


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Adds what feedgen lacks (RFC 5005 and 6721, WebSub hubs in RSS) and fixes its dates."""

    updated: datetime = EMPTY_FEED_UPDATED
    document: Document = Document(self_url="")
    links: list[tuple[str, str]] = []  # noqa: RUF012  (set per instance before rendering)
    format: str = "atom"

    def extend_ns(self) -> dict[str, str]:
        spaces = {}
        if self.document.archive:
            spaces["fh"] = FH
        if self.document.tombstones:
            spaces["at"] = AT
        if self.format == "rss":
            spaces["dc"] = DC
        return spaces

    def extend_atom(self, feed: Any) -> Any:
        _as_html(feed.find("title"))
        _as_html(feed.find("subtitle"))
        if self.document.archive:
            etree.SubElement(feed, f"{{{FH}}}archive")
        for tombstone in self.document.tombstones:
            etree.SubElement(
                feed, f"{{{AT}}}deleted-entry", ref=tombstone.id, when=tombstone.when.isoformat()
            )
        return feed

    def extend_rss(self, feed: Any) -> Any:
        channel = feed.find("channel")
        # feedgen formats dates with strftime, which drops the leading zeros of years before 1000.
        channel.find("lastBuildDate").text = format_datetime(self.updated)
        for rel, href in self.links:
            etree.SubElement(channel, f"{{{ATOM}}}link", href=href, rel=rel)
        if self.document.archive:
            etree.SubElement(channel, f"{{{FH}}}archive")
        return feed


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """The entry's dates, its language and its dc:creator, where feedgen would put them."""

    published: datetime = EMPTY_FEED_UPDATED
    language: str | None = None
    creator: str | None = None  # the author's name, in RSS when there is no email to show

    def extend_atom(self, entry: Any) -> Any:
        _as_html(entry.find("title"))
        etree.SubElement(entry, "published").text = self.published.isoformat()
        if self.language:
            entry.set("{http://www.w3.org/XML/1998/namespace}lang", self.language)
        return entry

    def extend_rss(self, entry: Any) -> Any:
        # format_datetime, not strftime: years before 1000 keep their leading zeros.
        etree.SubElement(entry, "pubDate").text = format_datetime(self.published)
        if self.creator is not None:
            etree.SubElement(entry, _DC_CREATOR).text = self.creator
        return entry


def _as_html(element: Any) -> None:
    """Mark a text element as escaped HTML, so that markup-like text shows as that text."""
    if element is not None and element.text:
        element.text = html.escape(element.text, quote=False)
        element.set("type", "html")
