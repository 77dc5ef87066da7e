"""Full history (RFC 5005 archives), tombstones (RFC 6721), tag feeds and WebSub hub pings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from lxml import etree

from feedpub.build import build_once
from feedpub.model import entry_id
from tests.conftest import FEED_ID, FIXED_NOW, Site, read_feed
from tests.test_build import snapshot
from tests.test_cli import run

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
AT = "{http://purl.org/atompub/tombstones/1.0}"
FEED_URL = "https://example.org/feeds/"


def link(root: etree._Element, rel: str, channel: bool = False) -> str | None:
    parent = root.find("channel") if channel else root
    assert parent is not None
    found = parent.find(f"{ATOM}link[@rel='{rel}']")
    return None if found is None else found.get("href")


def follow_chain(feeds: Path, start: str, *, rss: bool = False) -> Iterator[list[str]]:
    """Like a client: from the subscription document, follow prev-archive to the oldest page."""
    url: str | None = FEED_URL + start
    seen: set[str] = set()
    while url:
        assert url.startswith(FEED_URL)
        assert url not in seen, f"a loop at {url}"
        seen.add(url)
        path = feeds / url.removeprefix(FEED_URL)
        root = etree.fromstring(path.read_bytes())
        feed = read_feed(path)
        yield [entry.id for entry in feed.entries]
        url = link(root, "prev-archive", channel=rss)


def many_seeds(site: Site, count: int) -> None:
    for n in range(count):
        day = FIXED_NOW - timedelta(days=count - n)
        site.write(f"s{n:04d}", f"date {day:%Y-%m-%d} Article {n}\ntags: t{n % 7}\n\nBody {n}.\n")


@pytest.mark.parametrize(("start", "rss"), [("atom.xml", False), ("rss.xml", True)])
def test_the_archive_chain_holds_every_entry_exactly_once(
    site: Site, start: str, rss: bool
) -> None:
    site.configure("archive_page_size = 7\nmax_entries = 5\n")
    many_seeds(site, 40)
    site.build()
    documents = list(follow_chain(site.feeds, start, rss=rss))
    subscription, archives = documents[0], documents[1:]
    assert len(subscription) == 5
    archived = [entry for page in archives for entry in page]
    assert len(archived) == len(set(archived)) == 40
    assert set(archived) == {entry_id(FEED_ID, f"s{n:04d}") for n in range(40)}


def test_larger_archive_pages_leave_no_page_past_the_newest(site: Site) -> None:
    site.configure("archive_page_size = 7\nmax_entries = 5\n")
    many_seeds(site, 40)
    site.build()
    assert (site.feeds / "archive" / "6.rss.xml").exists()
    site.configure("archive_page_size = 20\nmax_entries = 5\n")
    site.build()
    pages = sorted(path.name for path in (site.feeds / "archive").iterdir())
    assert pages == [f"{n}.{kind}.xml" for n in (1, 2, 3) for kind in ("atom", "rss")]
    for start, rss in (("atom.xml", False), ("rss.xml", True)):
        archived = [e for page in list(follow_chain(site.feeds, start, rss=rss))[1:] for e in page]
        assert sorted(archived) == sorted({entry_id(FEED_ID, f"s{n:04d}") for n in range(40)})


def test_archive_pages_are_marked_and_linked_both_ways(site: Site) -> None:
    site.configure("archive_page_size = 7\n")
    many_seeds(site, 20)
    site.build()
    pages = sorted(
        (site.feeds / "archive").glob("*.atom.xml"), key=lambda p: int(p.name.split(".")[0])
    )
    assert [p.name for p in pages] == ["1.atom.xml", "2.atom.xml", "3.atom.xml"]
    for number, page in enumerate(pages, 1):
        root = etree.fromstring(page.read_bytes())
        assert root.find(f"{FH}archive") is not None
        assert link(root, "current") == FEED_URL + "atom.xml"
        assert link(root, "self") == FEED_URL + f"archive/{number}.atom.xml"
        assert link(root, "prev-archive") == (
            FEED_URL + f"archive/{number - 1}.atom.xml" if number > 1 else None
        )
        assert link(root, "next-archive") == (
            FEED_URL + f"archive/{number + 1}.atom.xml" if number < 3 else None
        )
    subscription = etree.fromstring((site.feeds / "atom.xml").read_bytes())
    assert subscription.find(f"{FH}archive") is None
    assert link(subscription, "prev-archive") == FEED_URL + "archive/3.atom.xml"


def test_a_young_archive_has_two_linked_pages(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.build()
    first = etree.fromstring((site.feeds / "archive/1.atom.xml").read_bytes())
    second = etree.fromstring((site.feeds / "archive/2.atom.xml").read_bytes())
    assert link(first, "next-archive") == FEED_URL + "archive/2.atom.xml"
    assert link(second, "prev-archive") == FEED_URL + "archive/1.atom.xml"
    assert read_feed(site.feeds / "archive/2.atom.xml").entries == []


def test_adding_one_seed_rewrites_only_what_shows_it(site: Site) -> None:
    many_seeds(site, 1000)
    site.build()
    before = snapshot(site.feeds)
    site.write("new", "date 2026-06-01T11:00Z Fresh\ntags: t3\n\nNew.\n")
    report = site.build()
    after = snapshot(site.feeds)
    changed = {p.relative_to(site.feeds).as_posix() for p in after if after[p] != before.get(p)}
    assert changed == set(report.written)
    assert changed == {
        "atom.xml", "rss.xml", "feed.json", "index.html", "articles/new.html",
        "archive/11.atom.xml", "archive/11.rss.xml",
        "tags/t3/atom.xml", "tags/t3/rss.xml", "tags/t3/feed.json",
    }  # fmt: skip
    # 1,000 entries fill pages 1-10 of 100; the new one starts page 11, empty until now.
    full_pages = [p for p in before if "/archive/" in p.as_posix() and not p.name.startswith("11.")]
    assert len(full_pages) == 20
    assert all(after[p] == before[p] for p in full_pages)


def test_editing_an_old_entry_rewrites_its_page_only(site: Site) -> None:
    site.configure("archive_page_size = 5\n")
    many_seeds(site, 20)
    site.build()
    before = snapshot(site.feeds)
    site.write("s0001", "date 2026-01-01 Edited\n\nChanged.\n")
    site.build(now=FIXED_NOW + timedelta(hours=1))
    after = snapshot(site.feeds)
    changed = {p.relative_to(site.feeds).as_posix() for p in after if after[p] != before.get(p)}
    archive = {name for name in changed if name.startswith("archive/")}
    assert archive == {"archive/1.atom.xml", "archive/1.rss.xml"}


def test_a_deleted_seed_leaves_a_tombstone_for_tombstone_days(site: Site) -> None:
    site.configure("tombstone_days = 2\n")
    site.write("keep", "date 2024-01-01 Keep\n")
    gone = site.write("gone", "date 2024-01-02 Gone\n")
    site.build()
    gone.unlink()
    report = site.build(now=FIXED_NOW + timedelta(hours=1))
    assert "articles/gone.html" in report.written
    assert not (site.feeds / "articles" / "gone.html").exists()
    root = etree.fromstring((site.feeds / "atom.xml").read_bytes())
    (tombstone,) = root.findall(f"{AT}deleted-entry")
    assert tombstone.get("ref") == entry_id(FEED_ID, "gone")
    assert tombstone.get("when") == "2026-06-01T13:00:00+00:00"
    assert [e.title for e in site.atom().entries] == ["Keep"]
    site.build(now=FIXED_NOW + timedelta(days=3))
    root = etree.fromstring((site.feeds / "atom.xml").read_bytes())
    assert root.findall(f"{AT}deleted-entry") == []


def test_a_seed_that_comes_back_loses_its_tombstone(site: Site) -> None:
    path = site.write("x", "date 2024-01-01 X\n")
    site.build()
    path.unlink()
    site.build()
    path.write_text("date 2024-01-01 X again\n", encoding="utf-8")
    site.build()
    root = etree.fromstring((site.feeds / "atom.xml").read_bytes())
    assert root.findall(f"{AT}deleted-entry") == []


def test_tombstones_can_be_turned_off(site: Site) -> None:
    site.configure("tombstones = false\n")
    path = site.write("x", "date 2024-01-01 X\n")
    site.build()
    path.unlink()
    site.build()
    assert b"deleted-entry" not in (site.feeds / "atom.xml").read_bytes()


def test_tag_feeds_hold_the_tagged_entries_with_safe_folder_names(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\ntags: Release Notes, Ünïcode\n")
    site.write("b", "date 2024-01-02 B\ntags: release notes, ../../etc\n")
    site.write("c", "date 2024-01-03 C\n")
    site.build()
    tags = sorted(p.name for p in (site.feeds / "tags").iterdir())
    assert tags == ["etc", "release-notes", "unicode"]
    feed = read_feed(site.feeds / "tags/release-notes/atom.xml")
    assert [e.title for e in feed.entries] == ["B", "A"]
    assert feed.feed.id != site.atom().feed.id
    assert feed.entries[0].id == site.atom().entries[1].id
    for name in ("rss.xml", "feed.json"):
        assert (site.feeds / "tags/release-notes" / name).exists()


def test_a_tag_feed_goes_when_its_last_entry_does(site: Site) -> None:
    path = site.write("a", "date 2024-01-01 A\ntags: lonely\n")
    site.build()
    assert (site.feeds / "tags/lonely/atom.xml").exists()
    path.write_text("date 2024-01-01 A\n", encoding="utf-8")
    site.build()
    assert not (site.feeds / "tags").exists()


def test_formats_choose_the_files(site: Site) -> None:
    site.configure('formats = ["json"]\narchives = false\npages = false\n')
    site.write("a", "date 2024-01-01 A\n")
    report = site.build()
    assert report.written == ["feed.json"]


class _Hub(BaseHTTPRequestHandler):
    received: list[dict[str, list[str]]]
    status = 204

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(parse_qs(self.rfile.read(length).decode()))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    received: list[dict[str, list[str]]] = []
    handler = type("Hub", (_Hub,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_build_pings_the_hub_once_per_changed_feed(
    site: Site, hub: tuple[str, list[dict[str, list[str]]]]
) -> None:
    url, received = hub
    site.configure(f'websub_hub = "{url}"\n')
    site.write("a", "date 2024-01-01 A\ntags: x\n")
    assert run("build", cwd=site.root).returncode == 0
    topics = sorted(form["hub.url"][0] for form in received)
    assert all(form["hub.mode"] == ["publish"] for form in received)
    assert topics == sorted(
        FEED_URL + name
        for name in ("atom.xml", "rss.xml", "feed.json", "tags/x/atom.xml", "tags/x/rss.xml",
                     "tags/x/feed.json")
    )  # fmt: skip
    root = etree.fromstring((site.feeds / "atom.xml").read_bytes())
    assert link(root, "hub") == url
    assert link(root, "self") == FEED_URL + "atom.xml"
    received.clear()
    assert run("build", cwd=site.root).returncode == 0
    assert received == []


def test_a_failing_hub_changes_nothing_else(
    site: Site, hub: tuple[str, list[dict[str, list[str]]]]
) -> None:
    url, received = hub
    _Hub.status = 500
    try:
        site.configure(f'websub_hub = "{url}"\n')
        site.write("a", "date 2024-01-01 A\n")
        result = run("build", cwd=site.root)
    finally:
        _Hub.status = 204
    assert result.returncode == 0
    assert received
    assert [e.title for e in site.atom().entries] == ["A"]


def test_first_build_of_a_big_site_in_one_process(site: Site) -> None:
    many_seeds(site, 300)
    report = build_once(site.config(), now=FIXED_NOW)
    assert report.new == 300
    assert len(list((site.feeds / "articles").iterdir())) == 300


def test_every_entry_link_leads_to_its_page(site: Site) -> None:
    import html5lib

    site.write("2024/launch", "date 2024-01-01 Launch & <more>\n\nBody.\n")
    site.build()
    (entry,) = site.atom().entries
    assert entry.link == FEED_URL + "articles/2024/launch.html"
    page = site.feeds / "articles/2024/launch.html"
    html5lib.HTMLParser(strict=True).parse(page.read_bytes())
    index = (site.feeds / "index.html").read_text(encoding="utf-8")
    assert 'type="application/atom+xml"' in index
    assert 'href="https://example.org/feeds/articles/2024/launch.html"' in index


def test_pages_off_and_link_template_give_entry_urls(site: Site) -> None:
    site.configure('pages = false\nlink_template = "https://example.org/posts/{slug}/"\n')
    site.write("a b", "date 2024-01-01 A\n")
    site.build()
    assert site.atom().entries[0].link == "https://example.org/posts/a%20b/"
    assert not (site.feeds / "articles").exists()
    assert not (site.feeds / "index.html").exists()
