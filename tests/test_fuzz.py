"""Properties over any bytes: the parser gives an Article or a SeedError, and a whole build of any
seeds gives feeds that lxml and feedparser read, and a second build writes nothing.

The fuzzer's finds are kept in tests/data/fuzz_corpus/ (see fuzz/README.md) and replayed here.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC
from pathlib import Path

import pytest
from dateutil import tz
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedpub.build import build_once
from feedpub.errors import SeedError
from feedpub.model import FORBIDDEN_CHARACTERS, split_paragraphs
from feedpub.seeds import decode, parse_seed
from tests.conftest import FIXED_NOW, Site
from tests.hostile import check_feeds, check_seed_bytes, file_states

CORPUS = Path(__file__).parent / "data" / "fuzz_corpus"
ZONES = [UTC, tz.gettz("America/St_Johns"), tz.gettz("Asia/Kathmandu")]

DATES = st.sampled_from(
    [
        "2024-01-01", "2024-02-29T23:59:59.999999+14:00", "1990-01-01T00:00:00+00:01",
        "2023-03-26T02:30", "Fri, 22 Dec 2023 09:30:00 EST", "22 Dec 2023 09:30 +0545",
        "9999-12-31", "2023-02-30", "1989-12-31T23:59:59Z", "Mon, 1 Jan 2024 00:00 Z",
    ]
)  # fmt: skip
HEADERS = st.sampled_from(
    ["", "tags: a, b, \u00e9\n", "author: Ann <ann@example.org>\n", "summary: S\n",
     "link: https://example.org/x\n", "lang: fr-CA\n", "id: urn:uuid:1\n", "x: y\n", "bad\n"]
)  # fmt: skip
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "latin-1"])


@st.composite
def seed_bytes(draw: st.DrawFn) -> bytes:
    """Bytes near the seed format, so that more of them get past the first line."""
    text = draw(st.text())
    if draw(st.booleans()):
        title = draw(st.text(min_size=0, max_size=30))
        headers = "".join(draw(st.lists(HEADERS, max_size=3)))
        text = f"date {draw(DATES)} {title}\n{headers}\n{text}"
    encoding = draw(ENCODINGS)
    data = text.encode(encoding, errors="surrogatepass" if "utf" in encoding else "replace")
    if draw(st.booleans()):  # a few bytes flipped
        flips = draw(st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=3))
        buffer = bytearray(data)
        for position, value in flips:
            if buffer:
                buffer[position % len(buffer)] = value
        data = bytes(buffer)
    return data


@settings(max_examples=1000, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=2048), seed_bytes()),
    markdown=st.booleans(),
    zone=st.sampled_from(ZONES),
)
@example(data=b"date 2024-01-01 A\nauthor: a" + b" " * 50_000 + b"b\n", markdown=False, zone=UTC)
@example(data=b"\xff\xfe" + "date 2024-01-01 \udc00".encode("utf-16-le", "surrogatepass"),
         markdown=False, zone=UTC)  # fmt: skip
def test_any_bytes_give_an_article_or_a_seed_error(
    data: bytes, markdown: bool, zone: object
) -> None:
    check_seed_bytes(data, markdown=markdown, zone=zone)  # type: ignore[arg-type]


NAMES = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seeds=st.dictionaries(NAMES, st.one_of(seed_bytes(), st.binary(max_size=300)), max_size=4))
def test_any_seeds_build_to_feeds_every_reader_reads(seeds: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        site = Site(Path(folder))
        site.seeds.mkdir()
        site.configure("")
        site.write("plain", "date 2024-01-02 Plain\n")
        for name, data in seeds.items():
            with open(os.path.join(site.seeds, name + ".txt"), "wb") as file:
                file.write(data)
        before = file_states(site.seeds)
        report = build_once(site.config(), now=FIXED_NOW)
        check_feeds(site.feeds)
        assert "Plain" in [e.title for e in site.atom().entries]
        assert file_states(site.seeds) == before
        again = build_once(site.config(), now=FIXED_NOW)
        assert again.written == []
        assert again.errors == report.errors


def corpus() -> list[Path]:
    return sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


@pytest.mark.parametrize("path", corpus(), ids=lambda path: path.name)
def test_fuzz_corpus_replays(path: Path) -> None:
    data = path.read_bytes()
    for markdown in (False, True):
        check_seed_bytes(data, markdown=markdown)


def test_fuzz_corpus_is_kept_small() -> None:
    files = corpus()
    assert 10 <= len(files) <= 50
    assert all(path.stat().st_size <= 4096 for path in files)


def test_fuzz_corpus_builds_to_valid_feeds(site: Site) -> None:
    for path in corpus():
        site.write(path.name, path.read_bytes())
    site.build()
    check_feeds(site.feeds)
    assert site.build().written == []


def _paragraphs_line_by_line(body: str) -> tuple[str, ...]:
    """The paragraph rule as the README states it: blocks, lines stripped, joined by spaces."""
    blocks = re.split(r"\n[ \t]*\n\s*", body.strip())
    joined = (
        " ".join(line.strip() for line in block.split("\n") if line.strip()) for block in blocks
    )
    return tuple(paragraph for paragraph in joined if paragraph)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from(" \t\n\u00a0\u3000\u2028ab\u00e9")))
@example("a \u00a0\nb\n\n \n\u3000\nc")
def test_split_paragraphs_is_the_line_by_line_rule(body: str) -> None:
    assert split_paragraphs(body) == _paragraphs_line_by_line(body)


@settings(max_examples=2000, deadline=None)
@given(st.binary() | st.text().map(lambda text: text.encode("utf-8", "surrogatepass")))
@example(b"date 2024-01-01 a\xc2\x85b\n")
@example(b"date 2024-01-01 a\xef\xbf\xbe\n")
@example(b"date 2024-01-01 \xed\xa0\x80\n")
@example(b"\xff\xfed\x00a\x00\x01\x00")
def test_the_quick_look_for_forbidden_characters_misses_none(data: bytes) -> None:
    try:
        text, _ = decode(data, source="s")
    except SeedError:
        return
    assert not FORBIDDEN_CHARACTERS.search(text)


_BODY_CHARS = " \t\n\r\u00a0\u3000\u2028\x01ab\u00e9\u4e2d\U0001f600<&"
_BODY_TEXT = st.text(alphabet=st.sampled_from(_BODY_CHARS))


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(["", "\ufeff"]),
    st.sampled_from(["", "tags: a\n", "author: A <a@b.c>\nsummary: s\n"]),
    _BODY_TEXT,
)
@example("", "", "\n\u3000 body \u3000\n")
@example("", "tags: a\n", "\r\n x\r\n")
def test_a_bodys_bytes_kept_for_the_index_are_its_text(bom: str, headers: str, body: str) -> None:
    raw = f"{bom}date 2024-01-01 T\n{headers}\n{body}".encode("utf-8", "surrogatepass")
    try:
        article = parse_seed(raw, source="s", slug="s")
    except SeedError:
        return
    if article.body_utf8 is not None:  # kept only when they are exactly the body
        assert article.body_utf8.decode("utf-8") == article.body
    else:
        assert not article.body or bom or "\r" in body or "\x01" in body
