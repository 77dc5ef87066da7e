"""A site under tmp_path: publisher.toml, seeds/, feeds/, and a fixed clock."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from feedpub.build import BuildReport, build_once
from feedpub.config import Config, load_config

FIXED_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FEED_ID = "urn:uuid:00000000-0000-4000-8000-000000000001"
ROOT = Path(__file__).resolve().parent.parent
CONFIG_TEXT = f"""\
title = "Test site"
description = "Articles for the tests"
base_url = "https://example.org/"
author = "Test Author"
feed_id = "{FEED_ID}"
"""


@dataclass
class Site:
    root: Path

    @property
    def seeds(self) -> Path:
        return self.root / "seeds"

    @property
    def feeds(self) -> Path:
        return self.root / "feeds"

    @property
    def config_path(self) -> Path:
        return self.root / "publisher.toml"

    def write(self, slug: str, text: str | bytes, *, mtime_ns: int | None = None) -> Path:
        path = self.seeds / f"{slug}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(text)
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns))
        return path

    def configure(self, extra: str) -> None:
        self.config_path.write_text(CONFIG_TEXT + extra, encoding="utf-8")

    def config(self) -> Config:
        return load_config(self.config_path)

    def build(self, now: datetime = FIXED_NOW) -> BuildReport:
        return build_once(self.config(), now=now)

    def atom(self) -> Any:
        return read_feed(self.feeds / "atom.xml")

    def rss(self) -> Any:
        return read_feed(self.feeds / "rss.xml")


def feed_files(root: Path) -> dict[str, bytes]:
    """Every file under `root` (feeds/), by relative path: what byte-for-byte checks compare."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def read_feed(path: Path) -> Any:
    """Parse with lxml (well-formed or fail) and with feedparser (no bozo or fail)."""
    data = path.read_bytes()
    etree.fromstring(data)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path)
    site.seeds.mkdir()
    site.configure("")
    return site
