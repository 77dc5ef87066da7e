"""The command line in real subprocesses: exit codes, messages, the summary line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CONFIG_TEXT, ROOT, Site

PUBLISHER = str(ROOT / "publisher.py")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, PUBLISHER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_build_exits_0_and_prints_the_summary(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    result = run("build", cwd=site.root)
    assert result.returncode == 0, result.stderr
    assert "published 9 files: 1 new, 0 updated, 0 removed, 0 skipped" in result.stderr
    assert (site.feeds / "atom.xml").exists()


def test_build_with_a_bad_seed_exits_1_and_names_file_and_line(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.write("x", "date 2023-02-30 Bad\n")
    result = run("build", cwd=site.root)
    assert result.returncode == 1
    assert "publisher: seeds/x.txt:1: bad date '2023-02-30'" in result.stderr
    assert "1 new, 0 updated, 0 removed, 1 skipped" in result.stderr
    assert "<title" in (site.feeds / "atom.xml").read_text(encoding="utf-8")


def test_quiet_prints_only_errors(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    result = run("build", "-q", cwd=site.root)
    assert (result.returncode, result.stderr) == (0, "")


def test_config_error_exits_2_naming_the_key(site: Site) -> None:
    site.configure("colour = 'blue'\n")
    result = run("build", cwd=site.root)
    assert result.returncode == 2
    assert "unknown key 'colour'" in result.stderr
    assert result.stderr.startswith("publisher: error: ")


def test_missing_config_given_by_flag_exits_2(site: Site) -> None:
    result = run("--config", "nope.toml", "build", cwd=site.root)
    assert result.returncode == 2
    assert "no such config file" in result.stderr


def test_usage_error_exits_2(site: Site) -> None:
    result = run("build", "--bogus", cwd=site.root)
    assert result.returncode == 2
    assert "--bogus" in result.stderr


def test_missing_seeds_folder_exits_2(site: Site) -> None:
    site.seeds.rmdir()
    result = run("build", cwd=site.root)
    assert result.returncode == 2
    assert "seeds folder does not exist" in result.stderr


def test_feeds_path_that_is_a_file_exits_3(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    (site.root / "feeds").write_text("not a folder", encoding="utf-8")
    result = run("build", cwd=site.root)
    assert result.returncode == 3
    assert "feeds/articles/a.html: cannot write" in result.stderr  # the first file written
    assert (site.root / "feeds").read_text(encoding="utf-8") == "not a folder"
    status = json.loads(run("status", "--json", cwd=site.root).stdout)["last_run"]
    assert status["result"] == "failed"
    assert "feeds/articles/a.html: cannot write" in status["summary"]
    (site.root / "feeds").unlink()
    assert run("build", cwd=site.root).returncode == 0
    assert json.loads(run("status", "--json", cwd=site.root).stdout)["last_run"]["result"] == "ok"


def test_first_build_creates_the_config_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    result = run("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created publisher.toml" in result.stderr
    assert "feed_id" in (tmp_path / "publisher.toml").read_text(encoding="utf-8")


def test_seeds_and_feeds_flags_override_the_config(site: Site, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    (other / "in").mkdir(parents=True)
    (other / "in" / "a.txt").write_text("date 2024-01-01 A\n", encoding="utf-8")
    result = run(
        "build", "--seeds", str(other / "in"), "--feeds", str(other / "out"), cwd=site.root
    )
    assert result.returncode == 0, result.stderr
    assert (other / "out" / "atom.xml").exists()
    assert not site.feeds.exists()


def test_version_and_help(site: Site) -> None:
    version = run("--version", cwd=site.root)
    assert version.returncode == 0
    assert version.stdout.startswith("publisher ")
    for command in ([], ["build"], ["watch"], ["status"], ["check"], ["serve"]):
        result = run(*command, "--help", cwd=site.root)
        assert result.returncode == 0
        assert "usage: publisher" in result.stdout


def test_check_reports_problems_and_writes_nothing(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.write("x", "date 2024-01-01\n")
    result = run("check", cwd=site.root)
    assert result.returncode == 1
    assert result.stdout == "seeds/x.txt:1: missing title after the date\n"
    assert not site.feeds.exists()
    assert not (site.root / ".publisher").exists()
    (site.seeds / "x.txt").unlink()
    assert run("check", cwd=site.root).returncode == 0


def test_check_and_status_leave_a_config_without_feed_id_as_it_is(site: Site) -> None:
    text = "".join(line for line in CONFIG_TEXT.splitlines(True) if "feed_id" not in line)
    site.config_path.write_text(text, encoding="utf-8")
    site.write("a", "date 2024-01-01 A\n")
    assert run("check", cwd=site.root).returncode == 0
    run("status", cwd=site.root)
    assert site.config_path.read_text(encoding="utf-8") == text
    result = run("build", cwd=site.root)
    assert result.returncode == 0, result.stderr
    assert "added a new feed_id" in result.stderr
    assert site.config_path.read_text(encoding="utf-8").startswith(text + "feed_id = ")


def test_status_reports_the_index(site: Site) -> None:
    site.write("a", "date 2024-01-01 A\n")
    site.write("later", "date 2999-01-01 Later\n")
    site.write("x", "date 2024-02-30 X\n")
    run("build", cwd=site.root)
    result = run("status", "--json", cwd=site.root)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["seeds_indexed"] == 3
    assert status["entries_published"] == 1
    assert status["waiting"] == [{"slug": "later", "date": "2999-01-01T00:00:00+00:00"}]
    assert status["skipped"] == [
        "seeds/x.txt:1: bad date '2024-02-30' (day is out of range for month)"
    ]
    assert status["last_run"]["result"] == "skipped seeds"
    text = run("status", cwd=site.root)
    assert "entries published: 1" in text.stdout


def test_second_build_waits_for_the_lock_and_says_so(site: Site) -> None:
    from feedpub.output import site_lock

    site.write("a", "date 2024-01-01 A\n")
    with site_lock(site.root / ".publisher"):
        waiting = subprocess.Popen(
            [sys.executable, PUBLISHER, "build"],
            cwd=site.root,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert waiting.stderr is not None
        first_line = waiting.stderr.readline()  # blocks until the notice, after about 3 s
        assert "waiting for another publisher run" in first_line
        assert waiting.poll() is None
        assert not (site.feeds / "atom.xml").exists()
    _, rest = waiting.communicate(timeout=30)
    assert waiting.returncode == 0
    assert "1 new" in rest
