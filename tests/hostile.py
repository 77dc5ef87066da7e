"""What the hostile-input and fault tests share: a site's files as they stand, feeds checked whole.

Not a test module: tests/test_hostile.py, tests/test_faults.py and tests/test_fuzz.py import it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, tzinfo
from pathlib import Path
from types import FrameType

import feedparser
from lxml import etree

from feedpub import jsonfeed, pages, render
from feedpub.config import Config
from feedpub.errors import SeedError
from feedpub.model import Article, Document
from feedpub.publish import feed_info, to_entry
from feedpub.seeds import EARLIEST, parse_seed
from feedpub.store import Stored
from tests.conftest import FEED_ID, ROOT

PUBLISHER = str(ROOT / "publisher.py")
HASHED_UP_TO = 16 << 20  # bigger files (sparse ones) are compared by size and time only

FileState = tuple[int, int, int, str]  # mode, size, mtime_ns, content hash or link target


def file_states(folder: Path, *, folder_times: bool = True) -> dict[str, FileState]:
    """Everything under `folder` as lstat sees it, with a hash of each regular file's bytes.

    Nothing is followed or opened but regular files, so FIFOs, sockets and link loops are safe.
    Without `folder_times`, folders' modification times are left out: a failed publish may have
    created and removed its temporary files in them.
    """
    states: dict[str, FileState] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                detail = os.readlink(path)
            elif stat.S_ISREG(info.st_mode) and info.st_size <= HASHED_UP_TO:
                try:
                    with open(path, "rb") as file:
                        detail = hashlib.sha256(file.read()).hexdigest()
                except PermissionError:
                    detail = "unreadable"
            else:
                detail = ""
            key = os.path.relpath(path, folder)
            mtime = info.st_mtime_ns if folder_times or not stat.S_ISDIR(info.st_mode) else 0
            states[key] = (info.st_mode, info.st_size, mtime, detail)
    return states


def check_feeds(feeds: Path) -> int:
    """Every XML file under `feeds` well-formed (lxml) and read by feedparser without bozo,
    every feed.json valid JSON. Return the number of feed documents checked."""
    count = 0
    for path in sorted(feeds.rglob("*")):
        if path.name.endswith(".xml"):
            data = path.read_bytes()
            etree.fromstring(data)
            parsed = feedparser.parse(data)
            assert not parsed.bozo, (path, parsed.get("bozo_exception"))
            count += 1
        elif path.name == "feed.json":
            json.loads(path.read_bytes())
            count += 1
    return count


class Timeout(Exception):
    """Raised in the main thread by `deadline`."""


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a blocking open of a FIFO, say): SIGALRM after `seconds`."""

    def expire(number: int, frame: FrameType | None) -> None:
        raise Timeout(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def unprivileged_prefix() -> list[str] | None:
    """A command prefix under which file permissions apply: root ignores them otherwise.

    As root: setpriv, dropping the capabilities that override file permissions. None when that
    is not possible here (no setpriv, or not allowed to change the bounding set).
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    caps = "-dac_override,-dac_read_search"
    prefix = [setpriv, "--bounding-set", caps, "--inh-caps", caps]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


def run_publisher(
    *args: str, cwd: Path, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`publisher ARGS` in a real subprocess, in `cwd`."""
    return subprocess.run(
        [*(prefix or []), sys.executable, PUBLISHER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


# -- one seed's bytes, whatever they are: an Article that renders, or a SeedError -----------------

# What no text that reaches a feed may hold: XML 1.0's forbidden characters and the C1 controls.
UNFIT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
RENDER_CONFIG = Config(
    root=Path("/nonexistent"),
    feed_id=FEED_ID,
    title="Fuzz & <co>",
    description="Any bytes at all",
    base_url="https://example.org/",
    feed_url="https://example.org/feeds/",
    author="Fuzzer",
)


def check_seed_bytes(data: bytes, *, markdown: bool = False, zone: tzinfo = UTC) -> str:
    """Parse `data` as seeds/x.txt: it must give an Article or a SeedError, nothing else.

    An Article must hold only text fit for feeds and a plausible UTC date, and render to
    well-formed Atom and RSS, valid JSON and an article page. Return the outcome in a word.
    """
    try:
        article = parse_seed(data, source="seeds/x.txt", slug="x", timezone=zone, markdown=markdown)
    except SeedError as exc:
        check_seed_error(exc)
        return "refused"
    check_article(article)
    stored = Stored(article, updated=article.published)
    entry = to_entry(stored, RENDER_CONFIG)
    info = feed_info(RENDER_CONFIG)
    document = Document(self_url="https://example.org/feeds/atom.xml")
    etree.fromstring(render.render_atom(info, [entry], document))
    etree.fromstring(render.render_rss(info, [entry], document))
    json.loads(jsonfeed.render_json(info, [entry], feed_url=document.self_url))
    pages.article_page(info, entry, feed_links=[], home_url="https://example.org/")
    return "published"


def check_seed_error(error: SeedError) -> None:
    assert error.path == "seeds/x.txt"
    assert error.line >= 1
    assert error.reason
    assert "\n" not in str(error)  # one line a problem


def check_article(article: Article) -> None:
    texts = [article.title, *article.paragraphs, article.markdown or "", *article.tags]
    texts += [article.author or "", article.summary_text or "", article.link or ""]
    for text in texts:
        assert not UNFIT.search(text), text
    assert article.title
    assert article.title == article.title.strip()
    assert all(p and p == p.strip() and "\n" not in p for p in article.paragraphs)
    assert article.published.utcoffset() is not None
    assert article.published.utcoffset() == UTC.utcoffset(None)
    assert article.published >= EARLIEST
    assert all("\n" not in str(warning) for warning in article.warnings)
