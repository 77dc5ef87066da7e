"""The pipeline end to end: real files under tmp_path, real SQLite."""

from __future__ import annotations

import errno
import html
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedpub import build as build_module
from feedpub import scan
from feedpub.build import READ_KEY, build_once
from feedpub.config import load_config
from feedpub.model import entry_id
from feedpub.snapshot import Snapshot
from feedpub.status import site_status
from tests.conftest import FEED_ID, FIXED_NOW, Site, feed_files, read_feed
from tests.test_cli import run as run_cli

OLD = 1_600_000_000 * 10**9  # a file time long past: no settle waits for it


def snapshot(folder: Path) -> dict[Path, tuple[int, bytes]]:
    """Every file under `folder` with its modification time and bytes."""
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def ids_and_dates(feed: object) -> dict[str, tuple[str, str]]:
    return {e.id: (e.published, e.updated) for e in feed.entries}  # type: ignore[attr-defined]


def test_first_build_publishes_every_seed_newest_first(site: Site) -> None:
    site.write("a", "date 2024-01-01 Oldest\n\nA.\n")
    site.write("b", "date 2024-03-01 Newest\n\nB.\n")
    site.write("c", "date 2024-02-01 Middle\n\nC.\n")
    report = site.build()
    assert (report.new, report.updated, report.removed, report.errors) == (3, 0, 0, [])
    assert set(report.written) == {
        "atom.xml", "rss.xml", "feed.json", "index.html", "archive/1.atom.xml",
        "archive/1.rss.xml", "archive/2.atom.xml", "archive/2.rss.xml",
        "articles/a.html", "articles/b.html", "articles/c.html",
    }  # fmt: skip
    for feed in (site.atom(), site.rss()):
        assert [e.title for e in feed.entries] == ["Newest", "Middle", "Oldest"]


def test_ties_on_published_are_broken_by_slug(site: Site) -> None:
    for slug in ("zeta", "alpha", "mid"):
        site.write(slug, f"date 2024-01-01 {slug}\n")
    site.build()
    assert [e.title for e in site.atom().entries] == ["alpha", "mid", "zeta"]
    assert [e.title for e in site.rss().entries] == ["alpha", "mid", "zeta"]


def test_same_day_entries_get_distinct_stable_updated_texts(site: Site) -> None:
    for slug in ("a", "b", "c"):
        site.write(slug, f"date 2024-01-01 {slug}\n")
    site.build()
    updated = [e.updated for e in site.atom().entries]
    assert len(set(updated)) == 3
    assert all(u.startswith("2024-01-01T00:00:00.") for u in updated)
    site.write("d", "date 2024-01-01 d\n")
    site.build()
    assert set(updated) <= {e.updated for e in site.atom().entries}


def test_max_entries_keeps_the_newest(site: Site) -> None:
    site.configure("max_entries = 2\n")
    for day in range(1, 6):
        site.write(f"s{day}", f"date 2024-01-0{day} Day {day}\n")
    site.build()
    assert [e.title for e in site.atom().entries] == ["Day 5", "Day 4"]
    assert [e.title for e in site.rss().entries] == ["Day 5", "Day 4"]


def test_future_seed_waits_until_a_build_after_its_date(site: Site) -> None:
    site.write("now", "date 2026-06-01T11:00Z Present\n")
    site.write("later", "date 2026-06-01T13:00Z Future\n")
    report = site.build()
    assert [e.title for e in site.atom().entries] == ["Present"]
    assert report.next_due is not None
    assert report.next_due.hour == 13
    report = site.build(now=FIXED_NOW + timedelta(hours=2))
    assert {"atom.xml", "rss.xml", "articles/later.html"} <= set(report.written)
    assert [e.title for e in site.atom().entries] == ["Future", "Present"]


def test_second_build_writes_nothing(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n\nBody.\n")
    site.build()
    before = snapshot(site.feeds)
    report = site.build(now=FIXED_NOW + timedelta(days=1))
    after = snapshot(site.feeds)
    assert report.written == []
    assert (report.new, report.updated, report.removed) == (0, 0, 0)
    assert after == before


def test_touching_a_seed_without_changing_it_rewrites_nothing(site: Site) -> None:
    path = site.write("a", "date 2024-01-01 A\n\nBody.\n")
    site.build()
    path.write_text("date 2024-01-01 A\n\nBody.\n", encoding="utf-8")
    report = site.build(now=FIXED_NOW + timedelta(days=1))
    assert (report.updated, report.written) == (0, [])


def test_edit_keeps_the_id_and_moves_updated(site: Site) -> None:
    site.write("a", "date 2024-01-01 Before\n\nBody.\n")
    site.build()
    (before,) = site.atom().entries
    later = FIXED_NOW + timedelta(days=3)
    site.write("a", "date 2024-01-01 After\n\nNew body.\n", mtime_ns=1)
    report = site.build(now=later)
    assert report.updated == 1
    for feed in (site.atom(), site.rss()):
        (after,) = feed.entries
        assert after.id == before.id
        assert after.title == "After"
    (atom_entry,) = site.atom().entries
    assert atom_entry.published == before.published
    assert atom_entry.updated.startswith("2026-06-04T12:00:00.")
    report = site.build(now=later + timedelta(days=1))
    assert site.atom().entries[0].updated == atom_entry.updated


def test_delete_removes_the_entry(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    gone = site.write("b", "date 2024-01-02 B\n")
    site.build()
    gone.unlink()
    report = site.build()
    assert report.removed == 1
    assert [e.title for e in site.atom().entries] == ["A"]
    assert [e.title for e in site.rss().entries] == ["A"]


def test_moving_a_seed_is_a_delete_and_an_add(site: Site) -> None:
    path = site.write("old-name", "date 2024-01-01 A\n")
    site.build()
    (before,) = site.atom().entries
    path.rename(site.seeds / "new-name.txt")
    report = site.build()
    assert (report.new, report.removed) == (1, 1)
    (after,) = site.atom().entries
    assert after.id != before.id


def test_deleting_the_database_changes_no_id_and_no_date(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n\nBody.\n")
    site.write("sub/b", "date 2024-01-02T10:00+02:00 B\n")
    site.build()
    before = snapshot(site.feeds)
    shutil.rmtree(site.root / ".publisher")
    report = site.build(now=FIXED_NOW + timedelta(days=30))
    assert report.written == []
    assert snapshot(site.feeds) == before


def test_fresh_checkout_marks_nothing_updated(site: Site, tmp_path: Path) -> None:
    site.write("a", "date 2024-01-01 A\n\nBody.\n")
    site.build()
    before = ids_and_dates(site.atom())
    clone = Site(tmp_path / "clone")
    shutil.copytree(site.seeds, clone.seeds)  # new file times, no index
    shutil.copy(site.config_path, clone.config_path)
    clone.build(now=FIXED_NOW + timedelta(days=9))
    assert ids_and_dates(clone.atom()) == before


def test_ids_do_not_depend_on_base_url_or_output_folder(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.build()
    (before,) = site.atom().entries
    site.configure('feeds_dir = "public"\nlink_template = "https://new.example/{slug}"\n')
    site.config_path.write_text(
        site.config_path.read_text().replace("https://example.org/", "https://moved.example/")
    )
    site.build()
    (after,) = read_feed(site.root / "public" / "atom.xml").entries
    assert after.id == before.id
    assert after.link == "https://new.example/a"


def test_two_feeds_never_share_entry_ids(site: Site, tmp_path: Path) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.build()
    other = Site(tmp_path / "other")
    other.seeds.mkdir(parents=True)
    other.write("a", "date 2024-01-01 A\n")
    other.config_path.write_text(
        site.config_path.read_text().replace("000000000001", "000000000002")
    )
    other.build()
    assert site.atom().entries[0].id != other.atom().entries[0].id


def test_one_bad_seed_blocks_nothing(site: Site) -> None:
    site.write("good", "date 2024-01-01 Good\n")
    bad = site.write("bad", "date 2024-02-30 Bad\n")
    original = bad.read_bytes()
    report = site.build()
    assert report.errors == [
        "seeds/bad.txt:1: bad date '2024-02-30' (day is out of range for month)"
    ]
    assert [e.title for e in site.atom().entries] == ["Good"]
    assert bad.read_bytes() == original
    assert report.summary() == "published 9 files: 1 new, 0 updated, 0 removed, 1 skipped"


def test_a_seed_that_breaks_keeps_its_last_good_version(site: Site) -> None:
    path = site.write("a", "date 2024-01-01 Good\n")
    site.build()
    path.write_text("date 2024-13-01 Broken\n", encoding="utf-8")
    report = site.build()
    assert len(report.errors) == 1
    assert [e.title for e in site.atom().entries] == ["Good"]
    path.write_text("date 2024-01-01 Fixed\n", encoding="utf-8")
    report = site.build()
    assert (report.errors, report.updated) == ([], 1)
    assert [e.title for e in site.atom().entries] == ["Fixed"]


def test_empty_site_has_a_fixed_updated_time(site: Site) -> None:
    site.build()
    assert site.atom().feed.updated == "2000-01-01T00:00:00+00:00"
    assert site.rss().feed.updated == "Sat, 01 Jan 2000 00:00:00 +0000"


def test_feed_updated_is_the_newest_entry_updated_not_the_build_time(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.write("b", "date 2023-01-01 B\n")
    site.build()
    atom = site.atom()
    assert atom.feed.updated == atom.entries[0].updated
    assert site.rss().feed.updated == "Mon, 01 Jan 2024 00:00:00 +0000"


def test_settle_leaves_a_just_written_seed_for_the_next_build(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    report = build_once(load_config(site.config_path), now=FIXED_NOW, settle=3600)
    assert report.unsettled == 1
    assert site.atom().entries == []


def test_stale_temporary_files_are_cleaned_up(site: Site) -> None:
    site.feeds.mkdir()
    (site.root / ".publisher").mkdir()
    (site.root / ".publisher" / "publishing").touch()  # as a run killed while writing leaves it
    leftover = site.feeds / ".feedpub-abc123.tmp"
    leftover.write_bytes(b"<half")
    site.build()
    assert not leftover.exists()
    assert not (site.root / ".publisher" / "publishing").exists()


@settings(max_examples=40, deadline=None)
@given(text=st.text(), title=st.text())
def test_any_seed_text_leaves_both_feeds_well_formed(text: str, title: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        site = Site(Path(folder))
        site.configure("")
        site.write("fuzz", text.encode("utf-8", "surrogatepass"))
        site.write("titled", f"date 2024-01-01 {title}\n\n{text}".encode("utf-8", "surrogatepass"))
        site.write("plain", "date 2024-01-02 Plain\n")
        report = site.build()
        atom, rss = site.atom(), site.rss()
        assert "Plain" in [e.title for e in atom.entries]
        assert len(atom.entries) == len(rss.entries) == 3 - len(report.errors)
        assert site.build().written == []


def test_hostile_title_and_body_survive_the_pipeline_exactly(site: Site) -> None:
    title = 'Tom & Jerry <b>"quoted"</b> \u2019 \U0001f389 ]]> &amp;'
    site.write("x", f"date 2024-01-02T03:04:05+02:00 {title}\n\nA < B & C > D ]]>\n")
    site.build()
    atom, rss = site.atom().entries[0], site.rss().entries[0]
    assert html.unescape(atom.title) == title
    assert rss.title == title
    for item in (atom, rss):
        assert item.published_parsed[:6] == (2024, 1, 2, 1, 4, 5)
        assert html.unescape(item.content[0].value) == "<p>A < B & C > D ]]></p>"
    assert atom.id == rss.id == entry_id(FEED_ID, "x")


def published_dates(site: Site) -> dict[str, str]:
    return {entry.title: entry.published for entry in site.atom().entries}


def fresh_dates(site: Site, folder: Path) -> dict[str, str]:
    """The dates a site built from scratch with the same seeds and settings shows."""
    clone = Site(folder)
    shutil.copytree(site.seeds, clone.seeds)
    shutil.copy(site.config_path, clone.config_path)
    clone.build()
    return published_dates(clone)


def test_a_new_timezone_moves_only_the_dates_written_without_an_offset(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.configure('timezone = "Europe/Berlin"\n')
    site.write("local", "date 2024-01-01T18:00 Local\n\nBody.\n")
    site.write("day", "date 2024-01-02 Day\n")
    site.write("fixed", "date 2024-01-03T10:00+02:00 Fixed\n")
    site.build()
    assert published_dates(site)["Local"].startswith("2024-01-01T17:00:00")
    site.configure('timezone = "America/New_York"\n')
    later = FIXED_NOW + timedelta(days=1)
    with caplog.at_level(logging.INFO, logger="feedpub.build"):
        report = site.build(now=later)
    assert "reading every seed again: timezone changed" in caplog.text
    assert (report.new, report.updated) == (0, 2)
    dates = published_dates(site)
    assert dates["Local"].startswith("2024-01-01T23:00:00")
    assert dates["Fixed"].startswith("2024-01-03T08:00:00")
    assert dates == fresh_dates(site, tmp_path / "fresh") == published_dates(site)
    updated = {entry.title: entry.updated for entry in site.atom().entries}
    assert updated["Fixed"] == dates["Fixed"]  # not an edit: its article is the same
    assert updated["Local"].startswith("2026-06-02T12:00:00")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="feedpub.build"):
        assert site.build(now=later).written == []
    assert "reading every seed" not in caplog.text


def test_a_higher_max_seed_bytes_publishes_a_seed_it_refused(site: Site) -> None:
    site.configure("max_seed_bytes = 100\n")
    site.write("long", "date 2024-01-01 Long\n\n" + "word " * 40 + "\n")
    site.write("short", "date 2024-01-02 Short\n")
    report = site.build()
    (error,) = report.errors
    assert "long.txt" in error
    site.configure("max_seed_bytes = 1000\n")
    report = site.build()
    assert (report.new, report.errors) == (1, [])
    assert sorted(published_dates(site)) == ["Long", "Short"]


def test_reading_every_seed_again_rewrites_nothing_when_no_article_changed(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.write("a", "date 2024-01-01 A\n\nBody.\n")
    site.write("b", "date 2024-01-02T10:00+02:00 B\n")
    site.build()
    before = snapshot(site.feeds)
    with sqlite3.connect(site.root / ".publisher" / "state.sqlite3") as db:
        db.execute("DELETE FROM meta WHERE key = ?", (READ_KEY,))  # as an older publisher left it
    db.close()
    with caplog.at_level(logging.INFO, logger="feedpub.build"):
        report = site.build(now=FIXED_NOW + timedelta(days=1))
    assert "reading every seed again: the index does not record" in caplog.text
    assert (report.new, report.updated, report.written) == (0, 0, [])
    assert snapshot(site.feeds) == before


def test_a_read_cut_short_is_finished_by_the_next_runs_whatever_the_settings(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.write("a", "date 2024-01-01T18:00 A\n")
    site.write("b", "date 2024-01-02T18:00 B\n")
    site.build()
    before = published_dates(site)
    site.configure('timezone = "Asia/Tokyo"\n')
    asked = iter([False, True])  # stops after the first seed
    report = build_once(site.config(), now=FIXED_NOW, should_stop=lambda: next(asked, True))
    assert report.stopped
    site.configure("")  # back to the settings the index had first
    with caplog.at_level(logging.INFO, logger="feedpub.build"):
        report = site.build()
    assert "reading every seed again: timezone changed" in caplog.text
    assert published_dates(site) == before == fresh_dates(site, tmp_path / "fresh")


def test_a_seed_left_to_settle_is_read_with_the_settings_of_the_run_that_reads_it(
    site: Site, tmp_path: Path
) -> None:
    site.write("a", "date 2024-01-01T18:00 A\n", mtime_ns=OLD)
    site.build()
    site.write("b", "date 2024-01-02T18:00 B\n")  # just written
    site.configure('timezone = "Asia/Tokyo"\n')
    assert build_once(site.config(), now=FIXED_NOW, settle=60).unsettled == 1
    site.configure("")
    build_once(site.config(), now=FIXED_NOW)
    assert published_dates(site) == fresh_dates(site, tmp_path / "fresh")


def test_a_seed_that_never_settles_does_not_make_every_run_read_every_seed(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    future = time.time_ns() + 3600 * 10**9  # a clock ahead: rsync -t, touch -d
    site.write("ahead", "date 2024-01-01T18:00 Ahead\n", mtime_ns=future)
    site.write("b", "date 2024-01-02T18:00 B\n", mtime_ns=OLD)
    site.build()
    site.configure('timezone = "Asia/Tokyo"\n')
    with caplog.at_level(logging.INFO, logger="feedpub.build"):
        reports = [build_once(site.config(), now=FIXED_NOW, settle=2) for _ in range(3)]
    assert caplog.text.count("reading every seed again") == 1
    assert [report.unsettled for report in reports] == [1, 1, 1]
    assert [report.updated for report in reports] == [1, 0, 0]


def test_a_folder_that_cannot_be_listed_is_read_again_once_it_can_be(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.write("sub/x", "date 2024-01-01T18:00 X\n", mtime_ns=OLD)
    site.write("y", "date 2024-01-02T18:00 Y\n", mtime_ns=OLD)
    kept = build_once(site.config(), now=FIXED_NOW, snapshot=Snapshot()).snapshot
    site.configure('timezone = "Asia/Tokyo"\n')
    listing = scan._list

    def refuse(folder: str) -> list[os.DirEntry[str]]:
        if folder.endswith(os.sep + "sub"):
            raise PermissionError(errno.EACCES, "Permission denied", folder)
        return listing(folder)

    monkeypatch.setattr(scan, "_list", refuse)
    kept = build_once(site.config(), now=FIXED_NOW, snapshot=kept).snapshot
    assert published_dates(site)["X"].startswith("2024-01-01T18:00:00")  # kept, unlisted
    monkeypatch.setattr(scan, "_list", listing)
    build_once(site.config(), now=FIXED_NOW, snapshot=kept)
    assert published_dates(site) == fresh_dates(site, tmp_path / "fresh")


def test_cron_builds_with_their_kept_stats_read_every_seed_after_a_new_timezone(
    site: Site, tmp_path: Path
) -> None:
    site.write("a", "date 2024-01-01T18:00 A\n", mtime_ns=OLD)
    for _ in range(2):  # the second walks against the stats the first kept
        result = run_cli("build", cwd=site.root)
        assert result.returncode == 0, result.stderr
    assert (site.root / ".publisher" / "stats").exists()
    site.configure('timezone = "Asia/Tokyo"\n')
    result = run_cli("build", cwd=site.root)
    assert "reading every seed again: timezone changed" in result.stderr
    assert "0 new, 1 updated" in result.stderr
    assert published_dates(site) == fresh_dates(site, tmp_path / "fresh")


def test_reading_seeds_of_every_kind_again_changes_no_byte(site: Site) -> None:
    site.configure('timezone = "Europe/Berlin"\n')
    site.write("warned", "date 2024-01-01 Warned\nbogus: 1\ntags: a, b\n\nBody text.\n")
    site.write("tagged", "date 2024-01-02T10:00+02:00 T\ntags: x\nsummary: S\n\nP1\nmore.\n\nP2.\n")
    (site.seeds / "marked.md").write_text("date 2024-01-03T10:00 Md\n\n# H\n\n*em*\n", "utf-8")
    site.write("future", "date 2030-01-01T10:00Z Future\n")
    site.write("bad", "no date line\n")
    site.build()
    before = feed_files(site.feeds)
    with sqlite3.connect(site.root / ".publisher" / "state.sqlite3") as db:
        other = json.dumps(["0.0.1", "Europe/Berlin", 1 << 20])  # another publisher's version
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (other, READ_KEY))
    db.close()
    report = site.build(now=FIXED_NOW + timedelta(days=1))
    assert (report.new, report.updated, report.written) == (0, 0, [])
    assert len(report.errors) == 1
    assert feed_files(site.feeds) == before


def test_an_id_header_added_or_removed_later_is_a_warning_naming_both_ids(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n\nBody.\n")
    site.write("later", "date 2026-07-01 Later\n")
    site.build()
    made = entry_id(FEED_ID, "a")
    site.write("a", "date 2024-01-01 A\nid: tag:example.org,2020:a\n\nBody.\n")
    (warning,) = site.build().warnings
    assert warning == (
        "seeds/a.txt: the entry's id changes from the id made from its file name to"
        " tag:example.org,2020:a: readers show it again as a new entry"
    )
    assert [e.id for e in site.atom().entries] == ["tag:example.org,2020:a"]
    site.write("a", "date 2024-01-01 A\n\nBody.\n")
    (warning,) = site.build().warnings
    assert "from tag:example.org,2020:a to the id made from its file name: readers" in warning
    assert [e.id for e in site.atom().entries] == [made]
    site.write("later", "date 2026-07-01 Later\nid: tag:example.org,2020:later\n")
    (warning,) = site.build().warnings  # not published yet: no reader has its id
    assert warning.endswith("to tag:example.org,2020:later")
    assert site.build().warnings == []
    site.write("a", f"date 2024-01-01 A\nid: {made}\n\nBody.\n")  # the id it has already
    assert site.build().warnings == []


def test_a_run_that_fails_while_publishing_is_the_last_run_status_shows(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.build()

    def broken(*args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(build_module, "publish", broken)
    site.write("b", "date 2024-01-02 B\n")
    with pytest.raises(RuntimeError, match="a bug"):
        site.build()
    last = site_status(site.config(), now=FIXED_NOW)["last_run"]
    assert (last["result"], last["summary"]) == ("failed", "RuntimeError: a bug")
    monkeypatch.undo()
    assert site.build().written != []  # what the failed run indexed is published now
    assert "B" in [entry.title for entry in site.atom().entries]
