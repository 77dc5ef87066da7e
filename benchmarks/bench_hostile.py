"""Issue 4's size benchmark: every huge-seed shape at 1/4, 1/2 and 1 MiB, in a whole build.

    python benchmarks/bench_hostile.py [--repeat 3]

Linear time doubles from one size to the next (ratio about 2); quadratic time quadruples. The
shapes are the ones tests/test_hostile.py runs (without timing them): a title, a paragraph, a
paragraph of one-word lines, runs of blank lines, spaces in the date line and in a header, a
million unknown headers, forbidden characters. Each build is of a fresh site holding that one
seed; the best of `--repeat` runs is shown.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedpub.build import build_once  # noqa: E402  (needs the path above)
from tests.conftest import FIXED_NOW, Site  # noqa: E402
from tests.test_hostile import SHAPES  # noqa: E402

SIZES = (1 << 18, 1 << 19, 1 << 20)


def build_time(shape: str, size: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        site = Site(Path(folder))
        site.seeds.mkdir()
        site.configure(f"max_seed_bytes = {2 << 20}\n")
        site.write("x", SHAPES[shape](size - 100))
        started = time.perf_counter()
        build_once(site.config(), now=FIXED_NOW)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'shape':28}" + "".join(f"{size >> 10:>8} KiB" for size in SIZES) + "   ratios")
    for shape in sorted(SHAPES):
        times = [min(build_time(shape, size) for _ in range(args.repeat)) for size in SIZES]
        ratios = " ".join(f"{b / a:.1f}" for a, b in pairwise(times))
        print(f"{shape:28}" + "".join(f"{t * 1000:9.0f} ms" for t in times) + f"   {ratios}")


if __name__ == "__main__":
    main()
