"""What readers see: text survives exactly, and the documents follow the validator's rules."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime

import feedparser
from lxml import etree

from feedpub.model import Document, Entry, FeedInfo, Tombstone
from feedpub.render import paragraphs_html, render_atom, render_rss

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = (
    'Tom & Jerry <b>bold</b> "quoted" \u2019 ]]> &amp; &#0; \U0001f389 \u05e9\u05dc\u05d5\u05dd'
)
INFO = FeedInfo(
    id="urn:uuid:00000000-0000-4000-8000-000000000001",
    title="Site & <friends>",
    description="About </b> & more",
    site_url="https://example.org/",
    feed_url="https://example.org/feeds/",
    author="Ann Author",
)


def entry(title: str = HOSTILE, *, body: tuple[str, ...] = (HOSTILE,), **kwargs: object) -> Entry:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    fields: dict[str, object] = {
        "id": "urn:uuid:00000000-0000-5000-8000-000000000002",
        "title": title,
        "published": moment,
        "updated": moment,
        "summary": body[0] if body else None,
        "content_html": paragraphs_html(body),
    }
    fields.update(kwargs)
    return Entry(**fields)  # type: ignore[arg-type]


def atom(*entries: Entry, info: FeedInfo = INFO, document: Document | None = None) -> bytes:
    return render_atom(info, entries, document or Document(self_url=info.feed_url + "atom.xml"))


def rss(*entries: Entry, info: FeedInfo = INFO, document: Document | None = None) -> bytes:
    return render_rss(info, entries, document or Document(self_url=info.feed_url + "rss.xml"))


def shown(detail: dict[str, str]) -> str:
    """The text a reader shows for a feedparser text construct."""
    value = detail["value"]
    return html.unescape(value) if detail["type"] == "text/html" else value


def test_hostile_title_is_shown_exactly_in_both_feeds() -> None:
    atom_feed, rss_feed = feedparser.parse(atom(entry())), feedparser.parse(rss(entry()))
    assert not atom_feed.bozo
    assert not rss_feed.bozo
    # Atom marks the title as escaped HTML; an RSS title is the text itself.
    assert shown(atom_feed.entries[0].title_detail) == HOSTILE
    assert rss_feed.entries[0].title == HOSTILE
    for feed in (atom_feed, rss_feed):
        assert feed.entries[0].id == "urn:uuid:00000000-0000-5000-8000-000000000002"


def test_body_markup_is_text_in_the_content() -> None:
    for data in (atom(entry()), rss(entry())):
        (item,) = feedparser.parse(data).entries
        content = item.content[0].value
        assert "<b>" not in content
        assert html.unescape(re.sub(r"</?p>", "", content)) == HOSTILE


def test_feed_title_and_description_are_text() -> None:
    parsed = feedparser.parse(atom(entry()))
    assert shown(parsed.feed.title_detail) == "Site & <friends>"
    assert shown(parsed.feed.subtitle_detail) == "About </b> & more"


def test_rss_titles_use_hex_references_for_markup_characters() -> None:
    data = rss(entry())
    titles = re.findall(rb"<title>([^<]*)</title>", data)
    assert b"Tom &#x26; Jerry &#x3C;b&#x3E;" in titles[1]
    assert all(b"&amp;" not in title and b"&lt;" not in title for title in titles)


def test_atom_title_is_escaped_html() -> None:
    root = etree.fromstring(atom(entry()))
    title = root.find(f"{ATOM}entry/{ATOM}title")
    assert title is not None
    assert title.get("type") == "html"
    assert html.unescape(title.text or "") == HOSTILE


def test_rss_guid_is_the_id_and_not_a_permalink() -> None:
    data = rss(entry(link="https://example.org/a.html"))
    root = etree.fromstring(data)
    guid = root.find("channel/item/guid")
    assert guid is not None
    assert guid.text == "urn:uuid:00000000-0000-5000-8000-000000000002"
    assert guid.get("isPermaLink") == "false"
    assert root.findtext("channel/link") == "https://example.org/"
    assert root.findtext("channel/item/link") == "https://example.org/a.html"


def test_self_links_are_the_absolute_feed_urls() -> None:
    atom_root = etree.fromstring(atom(entry()))
    rss_root = etree.fromstring(rss(entry()))
    atom_self = atom_root.find(f"{ATOM}link[@rel='self']")
    rss_self = rss_root.find(f"channel/{ATOM}link[@rel='self']")
    assert atom_self is not None
    assert rss_self is not None
    assert atom_self.get("href") == "https://example.org/feeds/atom.xml"
    assert rss_self.get("href") == "https://example.org/feeds/rss.xml"


def test_dates_come_from_the_entries_never_the_clock() -> None:
    first = (atom(entry()), rss(entry()))
    assert first == (atom(entry()), rss(entry()))
    assert b"2024-01-02T03:04:05.678000+00:00" in first[0]
    assert b"<lastBuildDate>Tue, 02 Jan 2024 03:04:05 +0000</lastBuildDate>" in first[1]


def test_channel_description_uses_hex_references() -> None:
    assert b"<description>About &#x3C;/b&#x3E; &#x26; more</description>" in rss(entry())


def test_years_before_1000_keep_four_digits_in_rss() -> None:
    old = datetime(5, 1, 2, tzinfo=UTC)
    data = rss(entry(published=old, updated=old))
    assert b"<pubDate>Sun, 02 Jan 0005 00:00:00 +0000</pubDate>" in data


def test_title_only_entry_carries_its_title_as_content() -> None:
    for link in (None, "https://example.org/t.html"):
        item = entry("Just <a> title", body=(), link=link)
        root = etree.fromstring(atom(item))
        content = root.find(f"{ATOM}entry/{ATOM}content")
        assert content is not None
        assert content.text == "<p>Just &lt;a&gt; title</p>"
        assert root.find(f"{ATOM}entry/{ATOM}summary") is None
        rss_root = etree.fromstring(rss(item))
        assert rss_root.findtext("channel/item/description") == "<p>Just &lt;a&gt; title</p>"


def test_author_email_goes_to_rss_author_otherwise_dc_creator() -> None:
    with_email = dataclasses.replace(INFO, author_email="ann@example.org")
    data = rss(entry(), info=with_email)
    assert b"<author>ann@example.org (Ann Author)</author>" in data
    assert b"dc:creator" not in data
    assert b"<dc:creator>Ann Author</dc:creator>" in rss(entry())


def test_entries_keep_the_given_order() -> None:
    items = [
        entry(f"t{i}", id=f"urn:uuid:00000000-0000-5000-8000-00000000000{i}") for i in range(5)
    ]
    for data in (atom(*items), rss(*items)):
        assert [e.title for e in feedparser.parse(data).entries] == [f"t{i}" for i in range(5)]


def test_archive_document_links_and_marker() -> None:
    document = Document(
        self_url="https://example.org/feeds/archive/2.atom.xml",
        prev_archive="https://example.org/feeds/archive/1.atom.xml",
        next_archive="https://example.org/feeds/archive/3.atom.xml",
        current="https://example.org/feeds/atom.xml",
        archive=True,
    )
    atom_root = etree.fromstring(atom(entry(), document=document))
    assert atom_root.find("{http://purl.org/syndication/history/1.0}archive") is not None
    rels = {link.get("rel"): link.get("href") for link in atom_root.findall(f"{ATOM}link")}
    assert rels["prev-archive"] == "https://example.org/feeds/archive/1.atom.xml"
    assert rels["next-archive"] == "https://example.org/feeds/archive/3.atom.xml"
    assert rels["current"] == "https://example.org/feeds/atom.xml"
    rss_root = etree.fromstring(rss(entry(), document=document))
    channel = rss_root.find("channel")
    assert channel is not None
    assert channel.find("{http://purl.org/syndication/history/1.0}archive") is not None
    rss_rels = {link.get("rel") for link in channel.findall(f"{ATOM}link")}
    assert {"self", "prev-archive", "next-archive", "current"} <= rss_rels
    assert rss_root.findtext("channel/link") == "https://example.org/"


def test_hubs_are_linked_in_atom_and_rss() -> None:
    info = dataclasses.replace(INFO, hubs=("https://hub.example/",))
    atom_root = etree.fromstring(atom(entry(), info=info))
    assert atom_root.find(f"{ATOM}link[@rel='hub']") is not None
    rss_root = etree.fromstring(rss(entry(), info=info))
    assert rss_root.find(f"channel/{ATOM}link[@rel='hub']") is not None


def test_tombstones_in_atom() -> None:
    when = datetime(2024, 2, 3, tzinfo=UTC)
    document = Document(
        self_url="https://example.org/feeds/atom.xml",
        tombstones=(Tombstone("urn:uuid:00000000-0000-5000-8000-000000000009", when),),
    )
    root = etree.fromstring(atom(entry(), document=document))
    (gone,) = root.findall("{http://purl.org/atompub/tombstones/1.0}deleted-entry")
    assert gone.get("ref") == "urn:uuid:00000000-0000-5000-8000-000000000009"
    assert gone.get("when") == "2024-02-03T00:00:00+00:00"


def test_entry_author_tags_and_language() -> None:
    item = entry(author="Bea", author_email="bea@example.org", tags=("x", "y"), language="de")
    parsed = feedparser.parse(atom(item))
    (got,) = parsed.entries
    assert got.author_detail.name == "Bea"
    assert [t.term for t in got.tags] == ["x", "y"]
    assert b"<author>bea@example.org (Bea)</author>" in rss(item)
