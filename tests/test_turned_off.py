"""Outputs turned off in the settings: their files leave feeds/, and nothing else does."""

from __future__ import annotations

import sqlite3

from feedpub.publish import OUTPUTS
from tests.conftest import Site, feed_files

SEEDS = {
    "a": "date 2024-01-01 A\ntags: red\n\nFirst.\n",
    "b": "date 2024-01-02 B\ntags: red, blue\n\nSecond.\n",
    "c": "date 2024-01-03 C\n\nThird.\n",
}


def built(site: Site, settings: str = "") -> dict[str, bytes]:
    site.configure("archive_page_size = 2\n" + settings)
    report = site.build()
    assert report.errors == []
    return feed_files(site.feeds)


def write_seeds(site: Site) -> None:
    for slug, text in SEEDS.items():
        site.write(slug, text)


def test_a_format_turned_off_leaves_feeds_everywhere(site: Site) -> None:
    write_seeds(site)
    before = built(site)
    assert {"feed.json", "tags/red/feed.json", "tags/blue/feed.json"} <= before.keys()
    after = built(site, 'formats = ["atom", "rss"]\n')
    assert [n for n in after if n.endswith("feed.json")] == []
    assert {n for n in before if not n.endswith("feed.json")} == after.keys()
    assert b"feed.json" not in after["atom.xml"] + after["index.html"]
    site.atom()
    assert site.build().written == []


def test_an_xml_format_turned_off_leaves_its_archive_pages_too(site: Site) -> None:
    write_seeds(site)
    before = built(site)
    after = built(site, 'formats = ["atom", "json"]\n')
    assert [n for n in before if "rss" in n] != []
    assert [n for n in after if "rss" in n] == []
    assert {n for n in before if "rss" not in n} == after.keys()


def test_pages_turned_off_leave_with_their_folders(site: Site) -> None:
    write_seeds(site)
    (site.feeds).mkdir()
    (site.feeds / "CNAME").write_text("feeds.example.org\n", encoding="utf-8")
    before = built(site)
    assert {"index.html", "articles/a.html", "articles/c.html"} <= before.keys()
    after = built(site, "pages = false\n")
    assert {n for n in before if n != "index.html" and not n.startswith("articles/")} == (
        after.keys()
    )
    assert not (site.feeds / "articles").exists()
    assert after["CNAME"] == b"feeds.example.org\n"


def test_archives_turned_off_leave_and_the_feeds_no_longer_link_them(site: Site) -> None:
    write_seeds(site)
    before = built(site)
    assert len([n for n in before if n.startswith("archive/")]) >= 4
    after = built(site, "archives = false\n")
    assert [n for n in after if n.startswith("archive/")] == []
    assert not (site.feeds / "archive").exists()
    assert b"prev-archive" not in after["atom.xml"]


def test_what_was_never_published_is_never_removed(site: Site) -> None:
    write_seeds(site)
    site.feeds.mkdir()
    own = b"<!doctype html><title>The site's own page</title>\n"
    (site.feeds / "index.html").write_bytes(own)
    built(site, 'pages = false\nformats = ["atom", "rss"]\n')
    after = built(site, 'pages = false\nformats = ["atom"]\n')
    assert after["index.html"] == own
    assert "rss.xml" not in after


def test_an_index_that_records_no_outputs_removes_nothing_then_records_them(site: Site) -> None:
    write_seeds(site)
    before = built(site)
    with sqlite3.connect(site.root / ".publisher" / "state.sqlite3") as db:
        db.execute("DELETE FROM meta WHERE key = ?", (OUTPUTS,))  # as an older publisher left it
    db.close()
    kept = built(site, 'formats = ["atom", "rss"]\n')
    assert kept.keys() == before.keys()  # which files were its own, the index cannot tell
    assert built(site, 'formats = ["atom"]\n').keys() == {n for n in kept if "rss" not in n}


def test_an_output_turned_on_again_is_published_again(site: Site) -> None:
    write_seeds(site)
    before = built(site)
    built(site, 'pages = false\narchives = false\nformats = ["atom"]\n')
    assert built(site) == before
