"""Pick a small, varied regression corpus out of what a fuzzing run found.

    python fuzz/fuzz_seeds.py -merge=1 MERGED fuzz/corpus     # libFuzzer's minimal cover
    python fuzz/keep_corpus.py MERGED tests/data/fuzz_corpus  # at most 50 of those, kept

Each input is classified by what the parser makes of it (the reason of its SeedError with the
values taken out, or which fields its Article has), text and Markdown alike; the smallest input of
each class is kept, then the next smallest of each, until there are LIMIT. Files are named by
their content's hash, so running this again adds nothing twice.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feedpub.errors import SeedError
from feedpub.seeds import parse_seed

LIMIT = 50
_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def outcome(data: bytes, *, markdown: bool) -> str:
    try:
        article = parse_seed(data, source="x", slug="x", markdown=markdown)
    except SeedError as exc:
        return "refused: " + _VALUES.sub("", exc.reason)
    names = ("paragraphs", "markdown", "tags", "author", "link", "language", "pinned_id")
    fields = [name for name in names if getattr(article, name)]
    warnings = sorted({_VALUES.sub("", w.reason) for w in article.warnings})
    return f"published: {fields} {warnings}"


def main(source: Path, target: Path) -> None:
    classes: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for path in sorted(source.iterdir(), key=lambda path: path.stat().st_size):
        data = path.read_bytes()
        classes[(outcome(data, markdown=False), outcome(data, markdown=True))].append(data)
    kept: list[bytes] = []
    rank = 0
    while len(kept) < LIMIT and any(len(inputs) > rank for inputs in classes.values()):
        for inputs in classes.values():
            if len(inputs) > rank and len(kept) < LIMIT:
                kept.append(inputs[rank])
        rank += 1
    target.mkdir(parents=True, exist_ok=True)
    for data in kept:
        (target / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)  # noqa: S324 - a name
    found = sum(map(len, classes.values()))
    print(f"{len(classes)} classes among {found} inputs; kept {len(kept)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
