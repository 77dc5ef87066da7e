"""Files no longer published leave feeds/: outputs turned off in the settings, a tag's feeds
once it has no entry, a page whose seed is dated anew in the future. Nothing else leaves."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from feedpub.withdrawal import OUTPUTS
from tests.conftest import FIXED_NOW, Site, feed_files

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


def write_seeds(site: Site, more: int = 0) -> None:
    for slug, text in SEEDS.items():
        site.write(slug, text)
    for number in range(more):
        site.write(f"more/{number}", f"date 2023-05-{number + 1:02d} More {number}\n")


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


def test_a_format_turned_off_with_a_new_page_size_leaves_every_page_of_it(site: Site) -> None:
    write_seeds(site, more=6)
    built(site)  # pages of two entries
    assert (site.feeds / "archive" / "5.rss.xml").exists()
    site.configure('archive_page_size = 100\nformats = ["atom"]\n')
    site.build()
    assert [n for n in feed_files(site.feeds) if "rss" in n] == []


def test_archives_turned_off_with_a_new_page_size_leave_every_page(site: Site) -> None:
    write_seeds(site, more=6)
    built(site)
    assert (site.feeds / "archive" / "5.rss.xml").exists()
    site.configure("archive_page_size = 100\narchives = false\n")
    site.build()
    assert not (site.feeds / "archive").exists()


def test_a_seed_deleted_as_pages_are_turned_off_leaves_no_page(site: Site) -> None:
    write_seeds(site)
    built(site)
    (site.seeds / "c.txt").unlink()
    after = built(site, "pages = false\n")
    assert [n for n in after if n.startswith("articles/") or n == "index.html"] == []


def test_a_tag_emptied_as_everything_is_rendered_again_leaves(site: Site) -> None:
    write_seeds(site)
    built(site)
    site.write("b", "date 2024-01-02 B\ntags: red\n\nSecond.\n")  # the last of blue
    after = built(site, "max_entries = 40\n")  # new settings: every document rendered again
    assert [n for n in after if n.startswith("tags/blue/")] == []
    assert "tags/red/atom.xml" in after


def test_a_seed_dated_anew_in_the_future_withdraws_its_page_until_its_date(site: Site) -> None:
    write_seeds(site)
    site.configure("")
    site.build()
    assert (site.feeds / "articles" / "c.html").exists()
    later = FIXED_NOW + timedelta(days=10)
    site.write("c", f"date {later:%Y-%m-%d} C\n\nThird, again.\n")
    site.build()
    assert not (site.feeds / "articles" / "c.html").exists()
    assert "C" not in [entry.title for entry in site.atom().entries]
    site.build(now=later + timedelta(days=1))
    assert "Third, again." in (site.feeds / "articles" / "c.html").read_text(encoding="utf-8")
    assert "C" in [entry.title for entry in site.atom().entries]


def test_a_new_feeds_folder_is_not_taken_for_the_one_the_index_published_to(site: Site) -> None:
    write_seeds(site)
    built(site)
    public = site.root / "public"
    public.mkdir()
    own = b"<!doctype html><title>The site's own page</title>\n"
    (public / "index.html").write_bytes(own)
    settings = 'feeds_dir = "public"\npages = false\nlink_template = "https://example.org/{slug}"\n'
    site.configure("archive_page_size = 2\n" + settings)
    assert site.build().errors == []
    assert (public / "index.html").read_bytes() == own
    assert (public / "atom.xml").exists()


def test_a_seed_dated_anew_as_everything_is_rendered_again_loses_its_page(site: Site) -> None:
    write_seeds(site)
    built(site)
    later = FIXED_NOW + timedelta(days=10)
    site.write("c", f"date {later:%Y-%m-%d} C\n\nThird, again.\n")
    after = built(site, "max_entries = 40\n")  # new settings: every document rendered again
    assert "articles/c.html" not in after
    assert "articles/a.html" in after


def test_a_tag_emptied_as_a_format_is_turned_off_leaves_every_file(site: Site) -> None:
    write_seeds(site)
    built(site)
    site.write("b", "date 2024-01-02 B\ntags: red\n\nSecond.\n")  # the last of blue
    after = built(site, 'formats = ["atom", "rss"]\n')
    assert [n for n in after if n.startswith("tags/blue/")] == []
    assert not (site.feeds / "tags" / "blue").exists()
