"""Issue 3's latency benchmark: from a seed's file being closed to both feeds holding its entry.

    python benchmarks/bench_watch.py [--sizes 100,10000] [--drops 50] [--idle 60]

For each size, a corpus is generated into a temporary folder and `publisher watch` starts on it;
once its first build is done, seeds are dropped one at a time, each dated now so that it enters
the feeds, and the time from close() to both atom.xml and rss.xml holding it is measured. Drops are
apart by PAUSE, so that each one is a burst of its own. The daemon's own time per run comes from
its log. With the largest size the daemon is then left alone for `--idle` seconds, and the CPU
time it used is read from /proc (Linux). A few minutes in all. The site publishes feeds only (no
article pages, no archives): the first build of 10,000 pages alone would take longer than that.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from feedpub.watch import QUIET  # noqa: E402  (needs the path above)

PUBLISHER = str(ROOT / "publisher.py")
FEED_FILES = ("atom.xml", "rss.xml")
WATCH = ("watch", "-v")  # -v: the log tells the time of every run
PAUSE = 0.3  # seconds between a drop showing and the next drop
DEADLINE = 10.0  # seconds for one drop to show; a first build gets ten times that
CONFIG = """\
title = "Watch benchmark"
base_url = "https://bench.example.org/"
author = "Benchmark"
feed_id = "urn:uuid:00000000-0000-4000-8000-000000000003"
pages = false
archives = false
"""
TEXT = (
    "the publisher keeps every article as a small text file and the feed follows "
    "café naïve déjà über straße новости город ειδήσεις πόλη 新聞 都市 & < >"
)
RUN_MS = re.compile(r"INFO published [^:]+: 1 new, \d+ updated, \d+ removed \((\d+) ms\)")
NO_CHANGE_MS = re.compile(r"DEBUG no change \((\d+) ms\)")


@dataclass
class Result:
    seeds: int
    latencies: list[float]  # seconds, one per drop
    run_ms: list[int]  # the daemon's time per publishing run, from its log
    poll_ms: list[int]  # the daemon's time per run that found nothing, from its log
    idle_cpu: float | None = None  # share of one core over the idle period


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure publisher watch's latency.")
    parser.add_argument("--sizes", default="100,10000", help="seeds present (default 100,10000)")
    parser.add_argument("--drops", type=int, default=50, help="seeds dropped per size")
    parser.add_argument("--idle", type=float, default=60.0, help="idle seconds at the largest")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    results = [
        measure(size, drops=args.drops, idle=args.idle if size == max(sizes) else 0.0)
        for size in sizes
    ]
    print(table(results, idle=args.idle))
    return 0


def measure(size: int, *, drops: int, idle: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as folder:
        site = Path(folder)
        progress(f"{size} seeds: generating")
        write_corpus(site, size)
        log_path = site / "watch.log"
        with log_path.open("wb") as log:
            daemon = subprocess.Popen(
                [sys.executable, PUBLISHER, "--config", str(site / "publisher.toml"), *WATCH],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            progress(f"{size} seeds: first build")
            wait_until(lambda: " INFO published " in log_path.read_text(), DEADLINE * 10)
            started = len(log_path.read_text())
            progress(f"{size} seeds: {drops} drops")
            latencies = [drop(site, number) for number in range(drops)]
            text = log_path.read_text()[started:]
            result = Result(size, latencies, [int(ms) for ms in RUN_MS.findall(text)], [])
            if idle:
                progress(f"{size} seeds: idle for {idle:g} s")
                result.idle_cpu = idle_cpu(daemon.pid, idle)
                text = log_path.read_text()[started:]
            result.poll_ms = [int(ms) for ms in NO_CHANGE_MS.findall(text)]
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=DEADLINE)
    return result


def write_corpus(site: Path, count: int) -> None:
    """`count` seeds dated over 2001-2025, in folders by year, their files long settled."""
    (site / "publisher.toml").write_text(CONFIG, encoding="utf-8")
    # A file made in a folder the watch has just seen created may miss its close event and wait
    # out the settle time (2 s) instead: a first drop would time that, not the daemon.
    (site / "seeds" / "drops").mkdir(parents=True)
    rng = random.Random(count)
    words = TEXT.split()
    start = datetime(2001, 1, 1, tzinfo=UTC)
    for number in range(count):
        moment = start + timedelta(minutes=rng.randrange(25 * 365 * 24 * 60))
        folder = site / "seeds" / str(moment.year)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{number:05d}.txt"
        body = "\n\n".join(" ".join(rng.choices(words, k=60)) for _ in range(3))
        path.write_text(f"date {moment:%Y-%m-%dT%H:%MZ} Article {number}\n\n{body}\n", "utf-8")
        os.utime(path, (1e9, 1e9))


def drop(site: Path, number: int) -> float:
    """Write one seed dated now; seconds from its close() to both feeds holding it."""
    marker = f"Dropped {number} {random.getrandbits(32):08x}"
    path = site / "seeds" / "drops" / f"{number:03d}.txt"
    with path.open("w", encoding="utf-8") as out:
        out.write(f"date {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {marker}\n\nBody.\n")
    closed = time.perf_counter()
    needle = marker.encode()
    feeds = [site / "feeds" / name for name in FEED_FILES]
    shown = wait_until(lambda: all(needle in feed.read_bytes() for feed in feeds), DEADLINE)
    time.sleep(PAUSE)
    return shown - closed


def wait_until(condition: Callable[[], bool], timeout: float, *, every: float = 0.002) -> float:
    """Poll until `condition()` is true; the perf_counter time at which it was seen true."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit(f"bench_watch: gave up after {timeout:g} s")
        time.sleep(every)
    return time.perf_counter()


def idle_cpu(pid: int, seconds: float) -> float:
    """The share of one core that process `pid` used over the next `seconds`."""
    before, started = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of stat(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def table(results: Sequence[Result], *, idle: float) -> str:
    lines = [
        f"publisher watch: close() to both feeds, {len(results[0].latencies)} drops per size;"
        f" debounce {QUIET * 1000:.0f} ms; load average {os.getloadavg()[0]:.2f}",
        "",
        "  seeds   median     max    run median  no-change run  idle CPU",
    ]
    for result in results:
        cpu = f"{result.idle_cpu:.2%} over {idle:g} s" if result.idle_cpu is not None else "-"
        lines.append(
            f"{result.seeds:>7}  {ms(statistics.median(result.latencies))}"
            f"  {ms(max(result.latencies))}  {median_ms(result.run_ms):>10}"
            f"  {median_ms(result.poll_ms):>13}  {cpu}"
        )
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:5.0f} ms"


def median_ms(values: Sequence[int]) -> str:
    return f"{statistics.median(values):.0f} ms" if values else "-"


def progress(message: str) -> None:
    print(f"bench_watch: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
