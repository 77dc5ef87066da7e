"""The floors: the least work that does what each benchmark case does, written plainly.

Each is what the publisher is measured against in the same run, so noise from a busy machine
falls on both sides of a ratio. None of them handles errors, options or edge cases.
"""

from __future__ import annotations

import html
import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from feedgen.feed import FeedGenerator
from lxml import etree

from feedpub.model import Entry, FeedInfo

ATOM = "http://www.w3.org/2005/Atom"
_RSS_NAMESPACES = {
    "atom": ATOM,
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}

#: target 4's floor: a bare Python process (site imported, as for any console script) that
#: walks and stats the seeds tree. Run as `python -c PROCESS_FLOOR <seeds folder>`.
PROCESS_FLOOR = """\
import os, sys
def walk(folder):
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            walk(entry.path)
        else:
            entry.stat(follow_symlinks=False)
walk(sys.argv[1])
"""


def scan_floor(folder: str) -> int:
    """A bare os.scandir + stat walk of the tree; the number of files."""
    count = 0
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            count += scan_floor(entry.path)
        else:
            entry.stat(follow_symlinks=False)
            count += 1
    return count


def cold_floor(
    seeds: Path, database: Path, *, newest: int = 50, page_size: int | None = None
) -> list[bytes]:
    """Read and parse every seed, index all in one transaction, render the newest with feedgen.

    SQLite's defaults, as a plain script has them; with `page_size`, pages of that size.
    """
    database.unlink(missing_ok=True)
    with sqlite3.connect(database) as db:
        if page_size:
            db.execute(f"PRAGMA page_size = {page_size}")
        db.execute(
            "CREATE TABLE seed (slug TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
            " published INTEGER, title TEXT, body TEXT) WITHOUT ROWID"
        )
        db.execute("CREATE INDEX seed_by_date ON seed (published DESC, slug)")
        db.executemany("INSERT INTO seed VALUES (?, ?, ?, ?, ?, ?)", _rows(str(seeds), ""))
        rows = db.execute(
            "SELECT slug, published, title, body FROM seed ORDER BY published DESC, slug LIMIT ?",
            (newest,),
        ).fetchall()
    db.close()
    return _feedgen_feeds(rows)


Row = tuple[str, int, int, int, str, str]


def _rows(folder: str, prefix: str) -> Iterator[Row]:
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            yield from _rows(entry.path, prefix + entry.name + "/")
            continue
        info = entry.stat(follow_symlinks=False)
        with open(entry.path, "rb") as file:
            text = file.read().decode("utf-8")
        first, _, body = text.partition("\n")
        published, title = parse_date_line(first)
        micros = int(published.timestamp() * 1_000_000)
        slug = prefix + entry.name[:-4]
        yield slug, info.st_size, info.st_mtime_ns, micros, title, body


def parse_date_line(line: str) -> tuple[datetime, str]:
    """`date <DATE> <TITLE>`: fromisoformat on the token, email.utils for RFC 2822."""
    _, token, title = line.split(" ", 2)
    if token[0].isdigit():
        moment = datetime.fromisoformat(token)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment, title
    parts = line.split(" ", 7)  # date Dow, DD Mon YYYY HH:MM:SS +ZZZZ title
    return parsedate_to_datetime(" ".join(parts[1:7])), parts[7]


def _feedgen_feeds(rows: Sequence[tuple[str, int, str, str]]) -> list[bytes]:
    fg = FeedGenerator()
    fg.id("urn:uuid:00000000-0000-4000-8000-000000000001")
    fg.title("Benchmark desk")
    fg.subtitle("A floor")
    fg.author({"name": "Benchmark Desk"})
    fg.link(href="https://bench.example.org/", rel="alternate")
    updated = datetime.fromtimestamp(rows[0][1] / 1e6, UTC) if rows else datetime.now(UTC)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    for slug, published, title, body in rows:
        moment = datetime.fromtimestamp(published / 1e6, UTC)
        fe = fg.add_entry(order="append")
        fe.id("urn:x:" + slug)
        fe.title(title)
        fe.published(moment)
        fe.updated(moment)
        paragraphs = [p for p in body.split("\n\n") if p.strip()]
        fe.summary(html.escape(paragraphs[0][:300] if paragraphs else title), type="html")
        fe.content("".join(f"<p>{html.escape(p)}</p>" for p in paragraphs), type="html")
    return [fg.atom_str(pretty=True), fg.rss_str(pretty=True)]


def render_floor(info: FeedInfo, entries: Sequence[Entry]) -> list[bytes]:
    """The same Atom and RSS documents built directly with lxml.etree and serialized."""
    return [_atom(info, entries), _rss(info, entries)]


def _atom(info: FeedInfo, entries: Sequence[Entry]) -> bytes:
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})  # type: ignore[dict-item]
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", info.language)
    sub = etree.SubElement
    sub(feed, f"{{{ATOM}}}id").text = info.id
    sub(feed, f"{{{ATOM}}}title", type="html").text = html.escape(info.title, quote=False)
    subtitle = sub(feed, f"{{{ATOM}}}subtitle", type="html")
    subtitle.text = html.escape(info.description, quote=False)
    updated = max((entry.updated for entry in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    sub(feed, f"{{{ATOM}}}updated").text = updated.isoformat()
    author = sub(feed, f"{{{ATOM}}}author")
    sub(author, f"{{{ATOM}}}name").text = info.author
    sub(feed, f"{{{ATOM}}}link", href=info.feed_url + "atom.xml", rel="self")
    sub(feed, f"{{{ATOM}}}link", href=info.site_url, rel="alternate")
    sub(feed, f"{{{ATOM}}}generator", uri="https://pypi.org/project/feedpub/").text = "feedpub"
    for entry in entries:
        item = sub(feed, f"{{{ATOM}}}entry")
        sub(item, f"{{{ATOM}}}id").text = entry.id
        sub(item, f"{{{ATOM}}}title", type="html").text = html.escape(entry.title, quote=False)
        sub(item, f"{{{ATOM}}}published").text = entry.published.isoformat()
        sub(item, f"{{{ATOM}}}updated").text = entry.updated.isoformat()
        sub(sub(item, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = info.author
        if entry.link:
            sub(item, f"{{{ATOM}}}link", href=entry.link, rel="alternate")
        if entry.summary is not None:
            summary = sub(item, f"{{{ATOM}}}summary", type="html")
            summary.text = html.escape(entry.summary, quote=False)
        if entry.content_html is not None:
            sub(item, f"{{{ATOM}}}content", type="html").text = entry.content_html
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _rss(info: FeedInfo, entries: Sequence[Entry]) -> bytes:
    rss = etree.Element("rss", nsmap=_RSS_NAMESPACES, version="2.0")
    sub = etree.SubElement
    channel = sub(rss, "channel")
    sub(channel, "title").text = info.title
    sub(channel, "link").text = info.site_url
    sub(channel, "description").text = info.description
    self_link = sub(channel, f"{{{ATOM}}}link", href=info.feed_url + "rss.xml", rel="self")
    self_link.set("type", "application/rss+xml")
    sub(channel, "docs").text = "http://www.rssboard.org/rss-specification"
    sub(channel, "generator").text = "feedpub"
    sub(channel, "language").text = info.language
    updated = max((entry.updated for entry in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    sub(channel, "lastBuildDate").text = format_datetime(updated)
    content = f"{{{_RSS_NAMESPACES['content']}}}encoded"
    creator = f"{{{_RSS_NAMESPACES['dc']}}}creator"
    for entry in entries:
        item = sub(channel, "item")
        sub(item, "title").text = entry.title
        if entry.link:
            sub(item, "link").text = entry.link
        sub(item, "guid", isPermaLink="true" if entry.link else "false").text = (
            entry.link or entry.id
        )
        sub(item, "pubDate").text = format_datetime(entry.published)
        sub(item, creator).text = info.author
        if entry.summary is not None:
            sub(item, "description").text = entry.summary
        if entry.content_html is not None:
            sub(item, content).text = entry.content_html
    return bytes(etree.tostring(rss, xml_declaration=True, encoding="UTF-8", pretty_print=True))
