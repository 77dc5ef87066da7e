"""Article and index pages: strict HTML5, everything from seeds and config shown as text."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import html5lib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedpub import pages
from feedpub.model import Entry, FeedInfo
from feedpub.pages import (
    ATOM_TYPE,
    JSON_FEED_TYPE,
    RSS_TYPE,
    FeedLink,
    article_page,
    article_path,
    article_url,
    index_page,
)
from feedpub.render import paragraphs_html

FEEDS = "https://example.org/feeds/"
HOME = FEEDS + "index.html"
INFO = FeedInfo(
    id="urn:uuid:8f7c8f36-3c5d-4e0b-9a47-3d7a1f1d2b10",
    title="Example Notes",
    description="Short notes from an example site.",
    site_url="https://example.org/",
    feed_url=FEEDS,
    author="Ada Example",
)
ENTRY = Entry(
    id="urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    title="Launch day",
    published=datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC),
    updated=datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC),
    summary="We launched.",
    content_html="<p>We launched.</p>\n<p>More to come.</p>",
    link=FEEDS + "articles/2024/launch.html",
    slug="2024/launch",
)
FEED_LINKS = (
    FeedLink("Example Notes (Atom)", ATOM_TYPE, FEEDS + "atom.xml"),
    FeedLink("Example Notes (RSS)", RSS_TYPE, FEEDS + "rss.xml"),
    FeedLink("Example Notes (JSON Feed)", JSON_FEED_TYPE, FEEDS + "feed.json"),
)
HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "]]>",
    "&amp; &lt; &#60;",
    "quotes: 'single' \"double\" `back`",
    "emoji \U0001f389 \U0001f469\u200d\U0001f4bb",
    "\u05e2\u05d1\u05e8\u05d9\u05ea and \u0627\u0644\u0639\u0631\u0628\u064a\u0629"
    " \u202eright-to-left override",
    "</title></head><body onload=alert(1)>",
)
# Any text a parser reads back as itself: no surrogates, controls or unassigned code points.
PLAIN_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")))
ANY_TEXT = st.text(st.characters(exclude_categories=()))


def parse(page: bytes) -> Element:
    """The page's tree; html5lib in strict mode raises on the first parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    root: Element = parser.parse(page)
    return root


def find(element: Element, path: str) -> Element:
    found = element.find(path)
    assert found is not None, path
    return found


def text(element: Element) -> str:
    return "".join(element.itertext())


def entry(**changes: Any) -> Entry:
    return dataclasses.replace(ENTRY, **changes)


def article(item: Entry = ENTRY, info: FeedInfo = INFO) -> bytes:
    return article_page(info, item, feed_links=FEED_LINKS, home_url=HOME)


def index(items: tuple[Entry, ...] = (ENTRY,), info: FeedInfo = INFO) -> bytes:
    return index_page(info, items, feed_links=FEED_LINKS)


def assert_inert(root: Element) -> None:
    """Nothing that runs or loads: no script or embedded element, no handler, no resource URL."""
    for element in root.iter():
        assert element.tag not in {"script", "img", "svg", "iframe", "object", "embed", "math"}
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            assert name not in {"src", "srcset", "style", "action", "formaction", "poster"}
            if "http" in value:
                assert (element.tag, name) in {("a", "href"), ("link", "href")}, element.tag
        if element.tag == "link":
            assert element.get("rel") == "alternate"


# Valid HTML5


@pytest.mark.parametrize("render", [article, index], ids=["article", "index"])
def test_page_is_strict_html5_with_lang_charset_viewport_and_title(render: Any) -> None:
    page = render()
    root = parse(page)

    assert page.startswith(b"<!DOCTYPE html>\n<html lang=")
    assert root.get("lang") == "en"
    head = root.find("head")
    assert head is not None
    assert head[0].tag == "meta"
    assert head[0].get("charset") == "utf-8"
    viewports = [m for m in head.iter("meta") if m.get("name") == "viewport"]
    assert [m.get("content") for m in viewports] == ["width=device-width, initial-scale=1"]
    assert text(find(head, "title")).strip()


@pytest.mark.parametrize("render", [article, index], ids=["article", "index"])
def test_page_has_one_inline_stylesheet_and_loads_nothing(render: Any) -> None:
    page = render()
    root = parse(page)

    assert b"<script" not in page.lower()
    styles = list(root.iter("style"))
    assert len(styles) == 1
    assert styles[0] in list(find(root, "head"))
    css = text(styles[0])
    assert "url(" not in css
    assert "@import" not in css
    assert "prefers-color-scheme" in css
    assert_inert(root)


# Escaping


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_on_article_page_shows_as_text(hostile: str) -> None:
    info = dataclasses.replace(INFO, title=hostile, author=hostile)
    item = entry(title=hostile, content_html=paragraphs_html([hostile]), tags=(hostile, "x"))
    links = (FeedLink(hostile, ATOM_TYPE, FEEDS + "atom.xml"),)
    page = article_page(info, item, feed_links=links, home_url=HOME)
    root = parse(page)

    assert_inert(root)
    assert b"<script" not in page.lower()
    assert text(find(root, "body/main/article/h1")) == hostile
    assert text(find(root, "body/header/a")) == hostile
    assert text(find(root, "body/main/article/p/span")) == hostile
    assert text(find(root, "body/main/article/div/p")) == hostile
    assert [text(li) for li in root.iter("li")] == [hostile, "x"]
    assert text(find(root, "head/title")) == f"{hostile} \u2013 {hostile}"
    assert [link.get("title") for link in root.iter("link")] == [hostile]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_on_index_page_shows_as_text(hostile: str) -> None:
    info = dataclasses.replace(INFO, title=hostile, description=hostile, language=hostile)
    item = entry(title=hostile, summary=hostile, language=hostile + "x")
    page = index((item,), info)
    root = parse(page)

    assert_inert(root)
    assert root.get("lang") == hostile
    assert text(find(root, "body/header/h1")) == hostile
    assert text(find(root, "body/header/p")) == hostile
    listed = root.find("body/main/article")
    assert listed is not None
    assert listed.get("lang") == hostile + "x"
    assert text(find(listed, "h2/a")) == hostile
    assert text(listed.findall("p")[-1]) == hostile


def test_literal_entity_text_is_escaped_once_more() -> None:
    page = article(entry(title="&amp;"))

    assert b'<h1 dir="auto">&amp;amp;</h1>' in page


def test_hostile_url_stays_inside_its_attribute() -> None:
    url = FEEDS + "a.html?q=\"><img src=x onerror=alert(1)>&b='"
    links = (FeedLink("Atom", ATOM_TYPE, url),)
    pages = [
        article_page(INFO, entry(link=url), feed_links=links, home_url=url),
        index_page(INFO, [entry(link=url)], feed_links=links),
    ]
    for page in pages:
        root = parse(page)
        assert_inert(root)
        hrefs = [e.get("href") for e in root.iter() if e.get("href") is not None]
        assert hrefs
        assert set(hrefs) == {url}


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "\x01javascript:alert(1)",
        "java\x01script:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
    ],
)
def test_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        index((entry(link=url),))
    with pytest.raises(ValueError, match="not an http"):
        article_page(INFO, ENTRY, feed_links=FEED_LINKS, home_url=url)


def test_characters_html_forbids_are_dropped() -> None:
    bad = "a\x00b\x07c\x0bd\x7fe\x85f\ufdd0g\ufffeh\U0001fffei\ud800j"
    info = dataclasses.replace(INFO, title=bad, description=bad, author=bad)
    item = entry(title=bad, summary=bad, tags=(bad,), content_html=f"<p>{bad}</p>")
    for page in (article(item, info), index((item,), info)):
        root = parse(page)
        assert "abcdefghij" in {text(h) for h in [*root.iter("h1"), *root.iter("h2")]}


NONCHARACTERS = [
    chr(plane + low) for plane in range(0, 0x110000, 0x10000) for low in (0xFFFE, 0xFFFF)
]


@pytest.mark.parametrize("bad", ["\x01", "\x9f", "\udfff", "\ufdef", *NONCHARACTERS])
def test_each_character_html_forbids_is_dropped_alone(bad: str) -> None:
    item = entry(title=f"a{bad}b", content_html=f"<p>c{bad}d</p>")
    root = parse(article(item, INFO))
    assert text(find(root, "body/main/article/h1")) == "ab"
    assert "cd" in {text(p) for p in root.iter("p")}


def test_the_quick_look_for_forbidden_characters_misses_none() -> None:
    exact, quick = pages._UNPARSABLE, pages._MAYBE_UNPARSABLE  # _clean skips `exact` unless `quick`
    missed = [c for c in map(chr, range(0x110000)) if exact.match(c) and not quick.match(c)]
    assert missed == []


def test_text_beyond_the_first_plane_is_kept() -> None:
    kept = "a\U0001f642b\U0001fffdc\U00020000d\U0010fffde"  # emoji, CJK, last private use
    root = parse(article(entry(title=kept, content_html=f"<p>{kept}</p>"), INFO))
    assert text(find(root, "body/main/article/h1")) == kept
    assert kept in {text(p) for p in root.iter("p")}


@given(title=PLAIN_TEXT, summary=PLAIN_TEXT, tag=PLAIN_TEXT)
def test_any_text_reads_back_as_itself(title: str, summary: str, tag: str) -> None:
    item = entry(title=title, summary=summary, tags=(tag,), content_html=None)
    links = (FeedLink(title, ATOM_TYPE, FEEDS + "atom.xml"),)
    article_root = parse(article_page(INFO, item, feed_links=links, home_url=HOME))
    index_root = parse(index_page(INFO, [item], feed_links=links))

    assert text(find(article_root, "body/main/article/h1")) == title
    assert [text(li) for li in article_root.iter("li")] == [tag]
    assert [link.get("title") for link in article_root.iter("link")] == [title]
    assert text(find(index_root, "body/main/article/h2/a")) == title
    assert text(index_root.findall("body/main/article/p")[-1]) == summary


@given(title=ANY_TEXT, author=ANY_TEXT, language=ANY_TEXT)
def test_any_text_at_all_makes_a_page_that_parses(title: str, author: str, language: str) -> None:
    info = dataclasses.replace(INFO, title=title, description=title, author=author)
    item = entry(title=title, summary=title, tags=(title,), language=language)

    assert_inert(parse(article(item, info)))
    assert_inert(parse(index((item,), info)))


# Language


def test_article_lang_comes_from_the_entry_then_the_feed() -> None:
    assert parse(article(entry(language="he"))).get("lang") == "he"
    assert parse(article(entry(language=None))).get("lang") == "en"
    assert parse(article(info=dataclasses.replace(INFO, language="fr-CA"))).get("lang") == "fr-CA"


def test_index_marks_only_entries_in_another_language() -> None:
    items = (entry(language="de"), entry(language="en"), entry(language=None))
    root = parse(index(items))

    assert [a.get("lang") for a in root.iter("article")] == ["de", None, None]


# Feed autodiscovery


@pytest.mark.parametrize("render", [article, index], ids=["article", "index"])
def test_autodiscovery_links_announce_each_feed_format(render: Any) -> None:
    root = parse(render())
    head = root.find("head")
    assert head is not None

    found = [
        (e.get("rel"), e.get("type"), e.get("title"), e.get("href")) for e in head.iter("link")
    ]
    assert found == [("alternate", f.type, f.title, f.href) for f in FEED_LINKS]
    footer = root.find("body/footer")
    assert footer is not None
    visible = {(text(a), a.get("href")) for a in footer.iter("a")}
    assert {(f.title, f.href) for f in FEED_LINKS} <= visible


def test_no_feed_links_means_no_autodiscovery_and_no_subscribe_line() -> None:
    for page in (
        article_page(INFO, ENTRY, feed_links=(), home_url=HOME),
        index_page(INFO, [ENTRY], feed_links=()),
    ):
        root = parse(page)
        assert list(root.iter("link")) == []
        assert b"Subscribe" not in page


# Determinism


def test_same_input_gives_same_bytes() -> None:
    twin = dataclasses.replace(ENTRY)
    assert article(ENTRY) == article(twin)
    assert index((ENTRY, ENTRY)) == index((twin, twin))
    assert article(ENTRY).endswith(b"</html>\n")


# Content


def test_article_page_shows_title_dates_author_content_tags_and_home_link() -> None:
    root = parse(article(entry(tags=("news", "launch"))))
    main = root.find("body/main/article")
    assert main is not None

    assert text(find(main, "h1")) == "Launch day"
    assert "Ada Example" in text(find(main, "p"))
    assert [text(p) for p in main.findall("div/p")] == ["We launched.", "More to come."]
    assert [text(li) for li in main.iter("li")] == ["news", "launch"]
    home_links = [a for a in root.iter("a") if a.get("href") == HOME]
    assert len(home_links) == 2  # the site name on top, "All articles" at the foot
    assert text(find(root, "head/title")) == "Launch day \u2013 Example Notes"


def test_entry_author_replaces_the_feed_author() -> None:
    page = article(entry(author="Grace Guest"))

    assert b"Grace Guest" in page
    assert b"Ada Example" not in page


def test_title_only_entry_renders_on_both_pages() -> None:
    bare = entry(content_html=None, summary=None, link=None, tags=())
    article_root = parse(article(bare))
    index_root = parse(index((bare,)))

    body = article_root.find("body/main/article")
    assert body is not None
    assert [child.tag for child in body] == ["h1", "p"]
    listed = index_root.find("body/main/article")
    assert listed is not None
    assert [child.tag for child in listed] == ["h2", "p"]
    assert text(find(listed, "h2")) == "Launch day"
    assert listed.find("h2/a") is None


def test_index_lists_entries_in_the_order_given_with_links_and_summaries() -> None:
    older = entry(title="Older", link=FEEDS + "articles/older.html", summary="Old & <b>")
    newer = entry(title="Newer", link=FEEDS + "articles/newer.html", summary="New")
    root = parse(index((newer, older)))

    links = [(text(a), a.get("href")) for a in root.iter("a") if "/articles/" in a.get("href", "")]
    assert links == [("Newer", newer.link), ("Older", older.link)]
    summaries = [text(a.findall("p")[-1]) for a in root.iter("article")]
    assert summaries == ["New", "Old & <b>"]
    assert text(find(root, "body/header/p")) == INFO.description


def test_empty_index_says_nothing_is_published() -> None:
    root = parse(index(()))

    assert list(root.iter("article")) == []
    assert "Nothing published yet." in text(root)


# Dates


def test_dates_show_in_utc_to_the_second_for_machines_and_the_minute_for_people() -> None:
    local = timezone(timedelta(hours=2))
    moment = datetime(2024, 3, 5, 0, 20, 30, 999999, tzinfo=local)
    for page in (
        article(entry(published=moment, updated=moment)),
        index((entry(published=moment),)),
    ):
        times = list(parse(page).iter("time"))
        assert [(t.get("datetime"), text(t)) for t in times] == [
            ("2024-03-04T22:20:30Z", "2024-03-04 22:20 UTC")
        ]


def test_updated_shows_only_when_it_differs_to_the_second() -> None:
    same = entry(updated=ENTRY.published + timedelta(microseconds=1))
    later = entry(updated=datetime(2024, 4, 1, 8, 0, tzinfo=UTC))

    assert len(list(parse(article(same)).iter("time"))) == 1
    meta = parse(article(later)).find("body/main/article/p")
    assert meta is not None
    assert [t.get("datetime") for t in meta.iter("time")] == [
        "2024-03-05T10:20:30Z",
        "2024-04-01T08:00:00Z",
    ]
    assert "updated 2024-04-01 08:00 UTC" in text(meta)


def test_years_before_1000_keep_four_digits() -> None:
    old = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    page = article(entry(published=old, updated=old))

    assert b'<time datetime="0999-01-02T03:04:05Z">0999-01-02 03:04 UTC</time>' in page


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        article(entry(published=datetime(2024, 1, 1)))  # noqa: DTZ001 - the bug under test


# Paths and URLs


def test_nested_slug_gives_nested_path_and_encoded_url() -> None:
    slug = "2024/caf\u00e9 launch?#\u05e9"

    assert article_path("launch") == "articles/launch.html"
    assert article_path(slug) == f"articles/{slug}.html"
    url = article_url(FEEDS, slug)
    assert url == FEEDS + "articles/2024/caf%C3%A9%20launch%3F%23%D7%A9.html"
    assert urlsplit(url).path == "/feeds/articles/2024/caf%C3%A9%20launch%3F%23%D7%A9.html"


def test_nested_article_page_links_only_by_absolute_url() -> None:
    item = entry(slug="2024/03/launch", link=article_url(FEEDS, "2024/03/launch"))
    root = parse(article(item))

    hrefs = [e.get("href", "") for e in root.iter() if e.get("href") is not None]
    assert hrefs
    assert all(urlsplit(href).scheme == "https" for href in hrefs)


@pytest.mark.parametrize(
    "slug", ["", "/etc/passwd", "../up", "a/../../b", "a//b", "a/./b", "a/", "a\\b"]
)
def test_slug_that_makes_no_safe_path_is_refused(slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        article_path(slug)


@given(st.text(alphabet="a./\\\n", max_size=12))
def test_slug_is_refused_exactly_when_a_part_is_empty_or_dots(slug: str) -> None:
    parts = slug.split("/")
    unsafe = any(part in ("", ".", "..") for part in parts) or "\\" in slug
    try:
        path = article_path(slug)
    except ValueError:
        assert unsafe
    else:
        assert not unsafe
        assert path == f"articles/{slug}.html"


def test_base_url_must_end_in_a_slash() -> None:
    with pytest.raises(ValueError, match="base URL"):
        article_url("https://example.org/feeds", "launch")
