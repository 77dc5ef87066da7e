#!/usr/bin/env python3
"""Coverage-guided fuzzing of the seed parser with atheris (libFuzzer for Python).

    pip install atheris
    python fuzz/fuzz_seeds.py fuzz/corpus fuzz/seed_corpus -max_total_time=300 -max_len=4096

Every input is a seed's bytes; its last byte also picks the time zone, and Markdown or text. The
harness is tests/hostile.py's check_seed_bytes: an Article whose text is fit for feeds and that
renders to well-formed Atom and RSS, or a SeedError; anything else is a crash, written to a
`crash-*` file. See fuzz/README.md for keeping what it finds as regression tests.
"""

from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["feedpub"]):
    from dateutil import tz

    from tests.hostile import check_seed_bytes

ZONES = [UTC, tz.gettz("America/St_Johns"), tz.gettz("Asia/Kathmandu")]


def one_input(data: bytes) -> None:
    mode = data[-1] if data else 0  # the last byte: the first decides much of the parse
    check_seed_bytes(data, markdown=bool(mode & 1), zone=ZONES[(mode >> 1) % len(ZONES)])


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
