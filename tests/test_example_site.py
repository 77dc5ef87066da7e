"""The example site in seeds/ and its committed output in feeds/ stay in step."""

from __future__ import annotations

import shutil
from pathlib import Path

from feedpub.build import build_once, now
from feedpub.config import load_config
from tests.conftest import ROOT, read_feed


def test_fresh_build_reproduces_the_committed_feeds_byte_for_byte(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    shutil.copy(ROOT / "publisher.toml", tmp_path / "publisher.toml")
    report = build_once(load_config(tmp_path / "publisher.toml"), now=now())
    assert report.errors == []
    committed = sorted(p.relative_to(ROOT / "feeds") for p in (ROOT / "feeds").rglob("*"))
    assert committed
    built = sorted(p.relative_to(tmp_path / "feeds") for p in (tmp_path / "feeds").rglob("*"))
    assert built == committed
    for name in committed:
        if (tmp_path / "feeds" / name).is_file():
            assert (tmp_path / "feeds" / name).read_bytes() == (ROOT / "feeds" / name).read_bytes()


def test_example_seeds_cover_the_format() -> None:
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "seeds").rglob("*.txt")]
    assert len(texts) >= 5
    joined = "".join(texts)
    assert "&" in joined
    assert "<" in joined
    assert any(not t.isascii() for t in texts)
    for feed in ("atom.xml", "rss.xml"):
        assert len(read_feed(ROOT / "feeds" / feed).entries) == len(texts)
