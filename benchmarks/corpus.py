"""A seeded corpus of seeds for the benchmark: same seed number, same files, byte for byte.

Seeds go into `<site>/seeds/<year>/<number>-<word>.txt` with bodies of 2-6 KB in mixed scripts
(Latin with accents, Cyrillic, Greek, CJK, Arabic), some emoji, and a few percent of words that
XML must escape. Dates spread over 25 years in three forms: date only, ISO date-time with an
offset, and RFC 2822. Every date lies before NEWEST, so a build at NOW publishes them all.

Speed: paragraphs are drawn from a pool built once per corpus, and files are written directly.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

FEED_ID = "urn:uuid:00000000-0000-4000-8000-000000000001"
OLDEST = datetime(2001, 1, 1, tzinfo=UTC)
NEWEST = datetime(2025, 12, 31, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # the clock of in-process builds: after every seed
POOL_SIZE = 3000  # paragraphs to draw bodies from
CONFIG = f"""\
title = "Benchmark desk"
description = "A long-running news desk with a history of many seeds"
base_url = "https://bench.example.org/"
author = "Benchmark Desk"
link_template = "https://bench.example.org/posts/{{slug}}.html"
feed_id = "{FEED_ID}"
"""


def _pool(words: str) -> list[str]:
    return words.split()


_LATIN = _pool(
    "the publisher keeps every article as a small text file and the feed follows café naïve "
    "façade déjà señor über straße crème brûlée smörgåsbord ångström jalapeño coöperate "
    "résumé garçon zoë œuvre mañana report council budget river harbour station market "
    "evening morning weather school"
)
_CYRILLIC = _pool(
    "новости город река погода рынок вечер утро школа бюджет совет станция гавань "
    "публикация статья лента читатель время история"
)
_GREEK = _pool(
    "ειδήσεις πόλη ποτάμι καιρός αγορά βράδυ πρωί σχολείο προϋπολογισμός συμβούλιο σταθμός "
    "λιμάνι άρθρο ιστορία"
)
_ARABIC = _pool("أخبار مدينة نهر طقس سوق مساء صباح مدرسة ميزانية مجلس محطة ميناء مقالة تاريخ قارئ")
_CJK = _pool(
    "新闻 城市 河流 天气 市场 晚上 早上 学校 预算 委员会 车站 港口 文章 "
    "历史 读者 ニュース 都市 天気 記事 歴史 読者 뉴스 도시 날씨 기사"
)
_EMOJI = _pool("🎉 🚀 📰 ✅ 🌍 🔥 💡 📈 🙂 🏁")
_ESCAPED = ["AT&T", "R&D", "a<b", "x > y", '"quoted"', "<tag>", "&amp;", "]]>", "Q&A", "it's"]
_SCRIPTS = (_LATIN, _LATIN, _LATIN, _CYRILLIC, _GREEK, _ARABIC, _CJK)


def generate(site: Path, count: int, *, seed: int = 7) -> Path:
    """Write `count` seeds and a publisher.toml under `site`; return the seeds folder."""
    rng = random.Random(seed)
    pool = [_paragraph(rng) for _ in range(POOL_SIZE)]
    seeds = site / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    (site / "publisher.toml").write_text(CONFIG, encoding="utf-8")
    span = int((NEWEST - OLDEST).total_seconds())
    made: set[int] = set()
    for number in range(count):
        moment = OLDEST + timedelta(seconds=rng.randrange(span))
        folder = seeds / str(moment.year)
        if moment.year not in made:
            folder.mkdir(exist_ok=True)
            made.add(moment.year)
        text = _seed_text(rng, pool, moment)
        name = f"{number:06d}-{rng.choice(_LATIN[:20]).lower()}.txt"
        (folder / name).write_bytes(text.encode("utf-8"))
    return seeds


def add_seed(site: Path, number: int, *, seed: int = 11) -> Path:
    """Write one more seed, newer than any in the corpus, so that the feeds must change."""
    rng = random.Random(seed * 1_000_003 + number)
    pool = [_paragraph(rng) for _ in range(8)]
    moment = NEWEST + timedelta(minutes=number % 1440, seconds=number // 1440)
    folder = site / "seeds" / "new"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"added-{number:06d}.txt"
    path.write_bytes(_seed_text(rng, pool, moment).encode("utf-8"))
    return path


def _seed_text(rng: random.Random, pool: list[str], moment: datetime) -> str:
    title = " ".join(_words(rng, rng.randint(3, 9), rng.choice(_SCRIPTS[:5])))
    target = rng.randint(2048, 6144)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        paragraph = rng.choice(pool)
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 2
    return f"date {_date_token(rng, moment)} {title}\n\n" + "\n\n".join(paragraphs) + "\n"


def _date_token(rng: random.Random, moment: datetime) -> str:
    form = rng.random()
    if form < 0.6:
        return moment.date().isoformat()
    offset = timedelta(minutes=rng.choice((-300, -60, 0, 60, 120, 330, 480, 540)))
    local = moment.astimezone(timezone(offset))
    if form < 0.9:
        return local.isoformat(timespec="seconds")
    return format_datetime(local)  # RFC 2822: "Mon, 04 Mar 2019 09:30:00 +0200"


def _paragraph(rng: random.Random) -> str:
    script = rng.choice(_SCRIPTS)
    if script is _CJK:
        sentences = ["".join(rng.choices(script, k=rng.randint(4, 12))) + "。" for _ in range(6)]
        return "\n".join(sentences)
    words = _words(rng, rng.randint(30, 140), script)
    lines: list[str] = []
    line: list[str] = []
    width = 0
    for word in words:
        if width + len(word) > 72 and line:
            lines.append(" ".join(line))
            line, width = [], 0
        line.append(word)
        width += len(word) + 1
    lines.append(" ".join(line))
    return "\n".join(lines)


def _words(rng: random.Random, count: int, script: list[str]) -> list[str]:
    words = rng.choices(script, k=count)
    for index in range(count):
        roll = rng.random()
        if roll < 0.03:
            words[index] = rng.choice(_ESCAPED)
        elif roll < 0.04:
            words[index] = rng.choice(_EMOJI)
    if words:
        words[0] = words[0][:1].upper() + words[0][1:]
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a benchmark corpus of seeds.")
    parser.add_argument("site", type=Path, help="the folder to create the site in")
    parser.add_argument("count", type=int, help="how many seeds")
    parser.add_argument("--seed", type=int, default=7, help="the PRNG seed (default 7)")
    args = parser.parse_args()
    generate(args.site, args.count, seed=args.seed)


if __name__ == "__main__":
    main()
