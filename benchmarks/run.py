"""Issue 7's benchmark: every case beside its floor, measured in the same run, in one table.

    python benchmarks/run.py [--sizes 1000,10000] [--full] [--repeat 5] [--pelican PYTHON]
    python benchmarks/run.py --profile [--sizes 10000]

Corpora are generated into a temporary folder, never into the checkout; `--full` adds 100,000
seeds (about 15 minutes, and over 1 GB of disk). Each case alternates with its floor, so that
noise from a busy machine falls on both sides of a ratio. Times are wall-clock, memory in MB.
FEEDPUB_SOURCE=DIR measures the feedpub package in DIR (a private copy holding a change to try)
instead of this checkout's.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import html
import importlib.util
import inspect
import io
import json
import os
import platform
import pstats
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(os.environ.get("FEEDPUB_SOURCE", ROOT)).resolve()
sys.path[:0] = [str(SOURCE), str(ROOT)]  # run as a script from anywhere

from benchmarks import corpus, floors  # noqa: E402  (needs the path above)
from feedpub import model, render  # noqa: E402
from feedpub.build import BuildReport, build_once  # noqa: E402
from feedpub.config import Config, load_config  # noqa: E402
from feedpub.model import Entry, FeedInfo  # noqa: E402
from feedpub.seeds import parse_seed  # noqa: E402
from feedpub.store import Stored, open_store  # noqa: E402

PUBLISHER = [sys.executable, str(SOURCE / "publisher.py"), "-q"]
BIG = 100_000
PEER_N = 10_000  # target 8's corpus
RENDER_KS = (50, 500, 5_000, 50_000)
STATE = Path(".publisher") / "state.sqlite3"
DAEMON_KEYWORDS = {"snapshot", "paths"} & set(inspect.signature(build_once).parameters)
# Two configurations of the same corpus. "feeds only" has the floors' scope (the cold floor
# renders Atom and RSS of the newest 50, and writes no page): targets 1-5 and 8 are judged on
# it. "default" is corpus.py's config as is (pages, archives, JSON Feed, tombstones: on);
# target 7 (memory, no floor) is judged on it, and its rows 1-5 show what the rest costs.
FEEDS_ONLY = "feeds only"
DEFAULT = "default"
VARIANTS = {FEEDS_ONLY: 'formats = ["atom", "rss"]\npages = false\narchives = false\n', DEFAULT: ""}


@dataclass
class Row:
    """One line of the table: samples, the floor's samples, and the target they are held to.

    kind: "le" ratio <= limit, "ge" ratio >= limit, "lt" median < limit (seconds or MB).
    applies: False when the target is set at another N; "met" is then shown in parentheses.
    """

    case: str
    n: str
    values: list[float]
    floor: list[float] | None
    target: str
    limit: float
    kind: str = "le"
    applies: bool = True
    unit: str = "s"
    note: str = ""

    def ratio(self) -> float | None:
        if not self.values or not self.floor:
            return None
        return statistics.median(self.values) / statistics.median(self.floor)

    def met(self) -> str:
        ratio = self.ratio()
        if not self.values:
            return self.note
        if self.kind == "lt":
            ok = statistics.median(self.values) < self.limit
        elif ratio is None:
            return "-"
        else:
            ok = ratio <= self.limit if self.kind == "le" else ratio >= self.limit
        word = "yes" if ok else "no"
        return word if self.applies else f"({word})"


def missing(case: str, n: str, target: str, note: str) -> Row:
    """A row that could not be measured: `note` says why."""
    return Row(case, n, [], None, target, 0.0, note=note)


@dataclass
class Bench:
    """The run's temporary folder, settings and results."""

    tmp: Path
    repeat: int
    rows: list[Row] = field(default_factory=list)
    event: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    process: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    first_process: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    added: int = 0
    variant: str = DEFAULT  # the configuration measured now

    @property
    def env(self) -> dict[str, str]:
        """For child processes: bytecode cached (in the temp folder), as an installed command has
        it; PYTHONDONTWRITEBYTECODE would make every run compile feedpub from source again."""
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(self.tmp / "pycache")
        return env

    def site(self, count: int) -> Path:
        return self.tmp / f"site-{count}-{self.variant.replace(' ', '-')}"

    def label(self, case: str) -> str:
        return f"{case} [{self.variant}]"

    def add_seed(self, count: int) -> Path:
        self.added += 1
        return corpus.add_seed(self.site(count), self.added)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render_child:
        return _render_child(args.render_child)
    sizes = sorted({int(size) for size in args.sizes.split(",")} | ({BIG} if args.full else set()))
    with tempfile.TemporaryDirectory(prefix="feedpub-bench-", dir=args.tmp) as folder:
        bench = Bench(Path(folder), repeat=args.repeat)
        if args.profile:
            profile(bench, max(sizes))
            return 0
        started = time.perf_counter()
        load = os.getloadavg()
        for count in sizes:
            for variant in VARIANTS:
                bench.variant = variant
                run_size(bench, count)
        for variant in VARIANTS:
            bench.variant = variant
            bench.rows += event_scaling(bench)
        bench.variant = DEFAULT
        bench.rows += render_rows(bench, max(sizes))
        bench.variant = FEEDS_ONLY  # Pelican writes feeds only: the like-for-like configuration
        bench.rows += pelican_rows(bench, sizes, _pelican_python(args.pelican))
        print(header(load, time.perf_counter() - started))
        print(table(bench.rows))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Issue 7's benchmark: one table of every case.")
    parser.add_argument("--sizes", default="1000,10000", help="seed counts (default 1000,10000)")
    parser.add_argument("--full", action="store_true", help="add 100,000 seeds")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each quick case")
    parser.add_argument("--pelican", help="a Python that has pelican (default: this one, if so)")
    parser.add_argument("--tmp", help="where to create the corpora (default: the temp folder)")
    parser.add_argument("--profile", action="store_true", help="cProfile at the largest size")
    parser.add_argument("--render-child", help=argparse.SUPPRESS)  # SITE,K,REPEAT: see render_rows
    return parser


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(function: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def paired(
    case: Callable[[], object],
    floor: Callable[[], object],
    *,
    repeat: int,
    setup: Callable[[], object] | None = None,
) -> tuple[list[float], list[float]]:
    """Alternate floor and case `repeat` times; `setup` runs untimed before each case."""
    cases, (bare,) = alternated(case, [floor], repeat=repeat, setup=setup)
    return cases, bare


def alternated(
    case: Callable[[], object],
    floors_: Sequence[Callable[[], object]],
    *,
    repeat: int,
    setup: Callable[[], object] | None = None,
) -> tuple[list[float], list[list[float]]]:
    """Each floor in turn, then the case, `repeat` times: (case runs, each floor's runs)."""
    cases: list[float] = []
    bare: list[list[float]] = [[] for _ in floors_]
    for _ in range(repeat):
        for floor, runs in zip(floors_, bare, strict=True):
            runs.append(timed(floor))
        if setup:
            setup()
        cases.append(timed(case))
    return cases, bare


def run_size(bench: Bench, count: int) -> None:
    site = bench.site(count)
    n = f"{count:,}"
    progress(f"N={n} [{bench.variant}]: generating the corpus")
    seeds = corpus.generate(site, count)
    with (site / "publisher.toml").open("a", encoding="utf-8") as settings:
        settings.write(VARIANTS[bench.variant])
    config = load_config(site / "publisher.toml")
    judged = bench.variant == FEEDS_ONLY  # targets 1-5 are judged where the floors' scope is
    for _ in range(2):
        floors.scan_floor(str(seeds))  # warm the page cache for both sides
    progress(f"N={n}: first builds (target 5)")
    page_size = _index_page_size()
    cold_floors = [lambda: floors.cold_floor(seeds, bench.tmp / "floor.sqlite3")]
    if page_size:  # the floor given the pages feedpub gives its index: a reference, not judged
        cold_floors.append(
            lambda: floors.cold_floor(seeds, bench.tmp / "floor.sqlite3", page_size=page_size)
        )
    first, (cold, *paged) = alternated(
        lambda: Daemon(config).run(expect_new=count),
        cold_floors,
        # One first build swings 30% on a shared machine, and a median of five rounds moved the
        # ratio by 0.2 between runs: eleven where the target is judged (about 25 s at 10,000).
        # The default configuration writes a page a seed, each synced: 15 s a first build.
        repeat=1 if count >= BIG else 2 * bench.repeat + 1 if judged else bench.repeat,
        setup=lambda: _reset(site),
    )
    bench.rows.append(
        Row(bench.label("5 first build, in process"), n, first, cold, "<=1.3x cold floor", 1.3,
            applies=count == 10_000 and judged)
    )  # fmt: skip
    if page_size:  # then `paged` has its runs
        label = f"5 the same, floor with {page_size // 1024} KiB pages"
        bench.rows.append(
            Row(bench.label(label), n, first, paged[0], "<=1.3x (reference)", 1.3, applies=False)
        )
    progress(f"N={n}: polls (targets 1-3)")
    bench.rows += poll_rows(bench, config, count, judged=judged)
    progress(f"N={n}: whole processes (target 4)")
    bench.rows.append(process_row(bench, count, judged=judged))
    progress(f"N={n}: memory (target 7)")
    bench.rows += memory_rows(bench, count, judged=bench.variant == DEFAULT)


def poll_rows(bench: Bench, config: Config, count: int, *, judged: bool) -> list[Row]:
    """Targets 1-3: build_once in this process, as the daemon calls it."""
    seeds = str(config.seeds_dir)
    n = f"{count:,}"
    big = count == BIG and judged
    daemon = Daemon(config)
    daemon.run()  # warm-up: the daemon's first run, which finds nothing new
    idle, scan = paired(daemon.run, partial(floors.scan_floor, seeds), repeat=bench.repeat)
    one, scan_one = paired(
        partial(daemon.run, expect_new=1),
        partial(floors.scan_floor, seeds),
        repeat=bench.repeat,
        setup=lambda: bench.add_seed(count),
    )
    events: list[float] = []
    for _ in range(bench.repeat):
        paths = [str(bench.add_seed(count))]  # closed after writing, as the event says
        event = partial(daemon.run, expect_new=1, settle=2.0, ready=paths, paths=paths)
        events.append(timed(event))
    bench.event[bench.variant, count] = events
    return [
        Row(bench.label("1 poll, nothing new, in process"), n, idle, scan, "<=1.2x scan floor",
            1.2, applies=big),
        Row(bench.label("2 poll, one new seed, in process"), n, one, scan_one,
            "<=1.5x scan floor", 1.5, applies=big),
        Row(bench.label("3 event publish, one new seed"), n, events, None, "<30 ms", 0.030,
            kind="lt", applies=judged),
    ]  # fmt: skip


def _first_snapshot() -> object:
    """What the daemon passes to its first run: Snapshot(), a request for one, where it exists."""
    snapshot = getattr(importlib.import_module("feedpub.build"), "Snapshot", None)
    return snapshot() if snapshot is not None else None


@dataclass
class Daemon:
    """build_once called as the daemon calls it, in one process, run after run.

    When build_once takes a `snapshot` (the last run's, proposed in the README) and `paths` (the
    files events named), they are passed as the daemon would pass them.
    """

    config: Config
    snapshot: object = field(default_factory=_first_snapshot)

    def run(
        self,
        *,
        expect_new: int = 0,
        settle: float = 0.0,
        ready: Sequence[str] = (),
        paths: Sequence[str] | None = None,
    ) -> BuildReport:
        extra: dict[str, Any] = {}
        if "snapshot" in DAEMON_KEYWORDS:
            extra["snapshot"] = self.snapshot
        if paths is not None and "paths" in DAEMON_KEYWORDS:
            extra["paths"] = paths
        report = build_once(self.config, now=corpus.NOW, settle=settle, ready=ready, **extra)
        self.snapshot = getattr(report, "snapshot", None)
        if report.new != expect_new or report.errors or (expect_new and not report.written):
            raise RuntimeError(f"benchmark invalid: expected {expect_new} new, got {report}")
        return report


def _reset(site: Path) -> None:
    """Forget every build: no state index, no feeds."""
    shutil.rmtree(site / ".publisher", ignore_errors=True)
    shutil.rmtree(site / "feeds", ignore_errors=True)


def process_row(bench: Bench, count: int, *, judged: bool) -> Row:
    """Target 4: `publisher build` from cron, a whole process, against a bare Python walk."""
    site = bench.site(count)

    def build() -> None:
        subprocess.run([*PUBLISHER, "build"], cwd=site, check=True, env=bench.env)

    def floor() -> None:
        command = [sys.executable, "-c", floors.PROCESS_FLOOR, "seeds"]
        subprocess.run(command, cwd=site, check=True, env=bench.env)

    build()  # warm-up
    runs, bare = paired(build, floor, repeat=bench.repeat, setup=lambda: bench.add_seed(count))
    bench.process[bench.variant, count] = runs
    return Row(bench.label("4 publisher build, one new seed, process"), f"{count:,}", runs, bare,
               "<=2.5x bare process", 2.5, applies=count == BIG and judged)  # fmt: skip


def memory_rows(bench: Bench, count: int, *, judged: bool) -> list[Row]:
    """Target 7: peak RSS of a first `publisher build`, and the daemon's RSS once it has run."""
    site = bench.site(count)
    n = f"{count:,}"
    big = count == BIG and judged
    _reset(site)
    seconds, peak = _first_build_process(site, bench.tmp / "build.log", bench.env)
    bench.first_process[bench.variant, count] = [seconds]
    rows = [
        Row(bench.label("7 peak RSS, first build, process"), n, [peak], None, "<150 MB", 150,
            kind="lt", applies=big, unit="MB"),
    ]  # fmt: skip
    steady = _daemon_rss(site, bench.tmp / "watch.log", bench.env, deadline=60 + count / 500)
    if steady is None:
        rows.append(missing(bench.label("7 daemon steady RSS, indexed"), n, "<120 MB", "pending"))
    else:
        rows.append(Row(bench.label("7 daemon steady RSS, indexed"), n, [steady], None, "<120 MB",
                        120, kind="lt", applies=big, unit="MB"))  # fmt: skip
    return rows


#: Runs publisher.py (argv[1:]) and, at exit, writes the process's VmHWM (its peak RSS since
#: exec) to stderr. Not ru_maxrss: Linux carries into an exec'd process the RSS of the memory it
#: was forked with, so a child of this benchmark (which holds the corpora's state, 150 MB at
#: 100,000) reported at least that much whatever it used itself.
_PEAK_RSS = """\
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("peak-rss-kb " + line.split()[1] + "\\n")
atexit.register(peak)
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # as for `python publisher.py`
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _first_build_process(site: Path, log: Path, env: dict[str, str]) -> tuple[float, float]:
    """A first `publisher build` in a child: (seconds, peak RSS in MB) of that process alone."""
    command = [PUBLISHER[0], "-c", _PEAK_RSS, *PUBLISHER[1:], "build"]
    with log.open("wb") as out:
        started = time.perf_counter()
        child = subprocess.run(command, cwd=site, stderr=out, env=env, check=False)
        seconds = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if child.returncode:
        raise RuntimeError(f"publisher build failed: {text[-2000:]}")
    peaks = [line.split()[1] for line in text.splitlines() if line.startswith("peak-rss-kb ")]
    if not peaks:
        raise RuntimeError(f"publisher build reported no peak RSS: {text[-2000:]}")
    return seconds, int(peaks[-1]) * 1024 / 1e6


def _daemon_rss(site: Path, log: Path, env: dict[str, str], *, deadline: float) -> float | None:
    """`publisher watch` on the indexed site: its VmRSS once the first run is done, or None."""
    before = _last_run(site)
    with log.open("wb") as out:
        command = [*PUBLISHER, "watch", "--every", "3600"]
        daemon = subprocess.Popen(command, cwd=site, stderr=out, env=env)
    try:
        limit = time.monotonic() + deadline
        while _last_run(site) == before:
            if daemon.poll() is not None:
                last = log.read_text(errors="replace").strip().splitlines()[-1:]
                progress(f"publisher watch exited {daemon.returncode}: {' '.join(last)}")
                return None
            if time.monotonic() > limit:
                progress(f"publisher watch: no run finished within {deadline:.0f} s")
                return None
            time.sleep(0.2)
        samples = []
        for _ in range(4):
            time.sleep(0.5)
            samples.append(_vm_rss(daemon.pid))
        return max(samples)
    finally:
        _stop(daemon)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_run(site: Path) -> str | None:
    path = site / STATE
    if not path.exists():
        return None
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'last_run'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return str(row[0]) if row else None


def _vm_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"/proc/{pid}/status: no VmRSS")


def event_scaling(bench: Bench) -> list[Row]:
    """Target 3: one new seed at the largest N against the same at the smallest."""
    sizes = [count for variant, count in bench.event if variant == bench.variant]
    small, big = min(sizes), max(sizes)
    if small == big:
        return []
    events = bench.event[bench.variant, big]
    return [
        Row(bench.label(f"3 event publish, N vs {small:,}"), f"{big:,}", events,
            bench.event[bench.variant, small], f"<=1.5x N={small:,}", 1.5,
            applies=(small, big) == (1_000, BIG) and bench.variant == FEEDS_ONLY),
    ]  # fmt: skip


def render_rows(bench: Bench, count: int) -> list[Row]:
    """Target 6: feedpub's renderer against lxml on the same entries, the newest K of the corpus."""
    rows: list[Row] = []
    per_entry: dict[int, float] = {}
    for k in (k for k in RENDER_KS if k <= count):
        progress(f"render K={k:,} (target 6)")
        # K=50,000: three samples of 10-14 s, a minute. Below, a render is quick, and a median of
        # five swung past the target on a busy machine: three times as many samples.
        repeat = 3 * bench.repeat if k <= 5_000 else 3
        runs, floor = _render_in_a_child(bench.site(count), k, repeat, bench.env)
        per_entry[k] = statistics.median(runs) / k
        rows.append(
            Row("6 render K entries (Atom + RSS)", f"K={k:,}", runs, floor, "<=1.5x lxml floor",
                1.5)
        )  # fmt: skip
    if 500 in per_entry and max(per_entry) > 500:
        k = max(per_entry)
        rows.append(
            Row("6 render: per-entry cost, K vs 500", f"K={k:,}", [per_entry[k]],
                [per_entry[500]], "<=1.5x K=500", 1.5, applies=k == 50_000)
        )  # fmt: skip
    return rows


def _render_in_a_child(
    site: Path, k: int, repeat: int, env: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Render K entries, and the floor, in a fresh interpreter: (case runs, floor runs).

    In this process, after the other cases, both sides ran 1.6-1.7x slower an entry at K=50,000
    than at K=500 (what the earlier cases leave in the heap); in a fresh one neither grows.
    """
    command = [sys.executable, __file__, "--render-child", f"{site},{k},{repeat}"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"render child failed: {result.stderr[-2000:]}")
    runs, floor = json.loads(result.stdout)
    return runs, floor


def _render_child(spec: str) -> int:
    """--render-child SITE,K,REPEAT: time the render of the newest K entries and its floor."""
    site, k, repeat = spec.rsplit(",", 2)
    config = load_config(Path(site) / "publisher.toml")
    info = feed_info(config)
    entries = _entries(config, int(k))
    runs, floor = paired(
        partial(render_feeds, info, entries),
        partial(floors.render_floor, info, entries),
        repeat=int(repeat),
    )
    print(json.dumps([runs, floor]))
    return 0


def _index_page_size() -> int | None:
    """The page size feedpub gives a new index, where it sets one (database.PAGE_SIZE)."""
    if importlib.util.find_spec("feedpub.database") is None:
        return None
    size: int | None = getattr(importlib.import_module("feedpub.database"), "PAGE_SIZE", None)
    return size


def _pipeline(name: str) -> Any:
    """A step of the pipeline wherever it lives: build.py, or publish.py once split out of it."""
    for module in ("feedpub.publish", "feedpub.build"):
        if importlib.util.find_spec(module) and hasattr(importlib.import_module(module), name):
            return getattr(importlib.import_module(module), name)
    raise RuntimeError(f"feedpub has no {name}()")


def feed_info(config: Config) -> FeedInfo:
    info: FeedInfo = _pipeline("feed_info")(config)
    return info


def to_entry(stored: Stored, config: Config) -> Entry:
    entry: Entry = _pipeline("to_entry")(stored, config)
    return entry


def render_feeds(info: FeedInfo, entries: Sequence[Entry]) -> list[bytes]:
    """The pipeline's render step, Atom then RSS, through whichever API render.py offers."""
    # render.py is being reworked (feed documents with archive links): getattr keeps this
    # benchmark working, and type-checking, with the API before and after.
    document = getattr(model, "Document")  # noqa: B009
    render_feeds_ = getattr(render, "render_feeds", None)
    if render_feeds_ is not None:  # one generator, serialized twice, as publish.py does
        documents = {f: document(f"{info.feed_url}{f}.xml") for f in ("atom", "rss")}
        rendered: dict[str, bytes] = render_feeds_(info, entries, documents)
        return list(rendered.values())
    return [
        getattr(render, name)(info, entries, document(f"{info.feed_url}{name[7:]}.xml"))
        for name in ("render_atom", "render_rss")
    ]


def _entries(config: Config, k: int) -> list[Entry]:
    with open_store(config.state_dir / STATE.name) as store:
        return [to_entry(stored, config) for stored in store.newest(corpus.NOW, k)]


def _pelican_python(choice: str | None) -> str | None:
    if choice:
        return choice
    return sys.executable if importlib.util.find_spec("pelican") else None


def pelican_rows(bench: Bench, sizes: Sequence[int], python: str | None) -> list[Row]:
    """Target 8: Pelican (feeds only, content cache on) on the same 10,000-seed corpus."""
    n = f"{PEER_N:,}"
    cases = (
        ("8 Pelican / feedpub: first build, processes", ">=20x"),
        ("8 Pelican / feedpub: one added, processes", ">=100x"),
        ("8 Pelican / feedpub: one added, in process", ">=100x"),
    )
    if python is None or PEER_N not in sizes:
        note = "not installed" if python is None else f"needs --sizes with {PEER_N}"
        return [missing(case, n, target, note) for case, target in cases]
    progress("Pelican: converting the corpus (target 8)")
    home = bench.tmp / "pelican"
    content = _pelican_site(bench.site(PEER_N), home)
    command = [python, "-m", "pelican", str(content), "-s", "pelicanconf.py", "-q"]
    progress("Pelican: first build")
    first = [timed(lambda: _quiet(command, home, bench.env))]
    atom = (home / "output" / "feeds" / "atom.xml").read_text(encoding="utf-8")
    if atom.count("<entry>") != 50:
        raise RuntimeError("benchmark invalid: Pelican's atom.xml does not hold 50 entries")
    progress("Pelican: one added article, processes")
    added = []
    for _ in range(min(3, bench.repeat)):
        _pelican_article(bench, content)
        added.append(timed(lambda: _quiet(command, home, bench.env)))
    progress("Pelican: one added article, in process (as its autoreload does)")
    staged = [_pelican_article(bench, home / "staged") for _ in range(bench.repeat)]
    script = [python, "-c", PELICAN_DRIVER, str(content), *map(str, staged)]
    output = subprocess.run(
        script, cwd=home, check=True, capture_output=True, text=True, env=bench.env
    ).stdout
    in_process = [float(line.split()[1]) for line in output.splitlines() if line.startswith("T ")]
    values = (first, added, in_process)
    key = (bench.variant, PEER_N)
    floors_ = (bench.first_process[key], bench.process[key], bench.event[key])
    return [
        Row(bench.label(case), n, value, floor, target, float(target[2:-1]), kind="ge")
        for (case, target), value, floor in zip(cases, values, floors_, strict=True)
    ]


def _quiet(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)


PELICAN_CONF = """\
AUTHOR = "Benchmark Desk"
SITENAME = "Benchmark desk"
SITEURL = "https://bench.example.org"
FEED_DOMAIN = SITEURL
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
PATH = "content"
OUTPUT_PATH = "output"
CACHE_PATH = "cache"
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
FEED_ALL_ATOM = "feeds/atom.xml"
FEED_ALL_RSS = "feeds/rss.xml"
FEED_MAX_ITEMS = 50
CATEGORY_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
DIRECT_TEMPLATES = []
THEME_STATIC_PATHS = []
STATIC_PATHS = []
ARTICLE_SAVE_AS = ARTICLE_LANG_SAVE_AS = DRAFT_SAVE_AS = DRAFT_LANG_SAVE_AS = ""
PAGE_SAVE_AS = PAGE_LANG_SAVE_AS = DRAFT_PAGE_SAVE_AS = DRAFT_PAGE_LANG_SAVE_AS = ""
CATEGORY_SAVE_AS = TAG_SAVE_AS = AUTHOR_SAVE_AS = ""
ARCHIVES_SAVE_AS = AUTHORS_SAVE_AS = CATEGORIES_SAVE_AS = TAGS_SAVE_AS = INDEX_SAVE_AS = ""
"""

#: Pelican's autoreload: one Pelican object, run() again after each change. Prints `T seconds`.
PELICAN_DRIVER = """\
import logging, shutil, sys, time
from pelican import Pelican
from pelican.settings import read_settings
logging.disable(logging.WARNING)
pelican = Pelican(read_settings("pelicanconf.py"))
pelican.run()
for staged in sys.argv[2:]:
    shutil.move(staged, sys.argv[1])
    started = time.perf_counter()
    pelican.run()
    print("T", time.perf_counter() - started)
"""


def _pelican_site(site: Path, home: Path) -> Path:
    """The corpus as Pelican HTML articles: its built-in reader, its fastest."""
    content = home / "content"
    content.mkdir(parents=True)
    (home / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    seeds = site / "seeds"
    for path in seeds.rglob("*.txt"):
        _write_pelican(path, path.relative_to(seeds).as_posix()[:-4], content)
    return content


def _pelican_article(bench: Bench, folder: Path) -> Path:
    path = bench.add_seed(PEER_N)
    return _write_pelican(path, f"pelican-added-{bench.added}", folder)


def _write_pelican(seed: Path, slug: str, folder: Path) -> Path:
    article = parse_seed(seed.read_bytes(), source=str(seed), slug=slug)
    name = slug.replace("/", "-")
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in article.paragraphs)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.html"
    path.write_text(
        f"<html><head><title>{html.escape(article.title)}</title>"
        f'<meta name="date" content="{article.published.isoformat()}" />'
        f'<meta name="slug" content="{html.escape(name)}" />'
        f"</head><body>\n{body}</body></html>\n",
        encoding="utf-8",
    )
    return path


def header(load: tuple[float, float, float], seconds: float) -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    end = os.getloadavg()[0]
    source = "" if SOURCE == ROOT else f"; feedpub from {SOURCE}"
    return (
        f"feedpub benchmark, {now}; {cpu}, {os.cpu_count()} cores; Python"
        f" {platform.python_version()}, {platform.system()} {platform.release()}; load average"
        f" {load[0]:.1f} at start, {end:.1f} at end; {seconds:.0f} s{source}\n"
        "ratio = median / floor median (target 8: Pelican / feedpub); met in parentheses: the"
        " target is set at another N, or judged on the other configuration ([feeds only] for"
        " 1-5 and 8, [default] for 7)\n"
    )


def table(rows: Sequence[Row]) -> str:
    head = ("case", "N", "runs", "median", "min", "max", "floor median", "ratio", "target", "met")
    lines = [head]
    for row in rows:
        if not row.values:
            lines.append((row.case, row.n, "-", "-", "-", "-", "-", "-", row.target, row.met()))
            continue
        ratio = row.ratio()
        lines.append(
            (
                row.case,
                row.n,
                str(len(row.values)),
                _show(statistics.median(row.values), row.unit),
                _show(min(row.values), row.unit),
                _show(max(row.values), row.unit),
                _show(statistics.median(row.floor), row.unit) if row.floor else "-",
                "-" if ratio is None else f"{ratio:.2f}x",
                row.target,
                row.met(),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) for line in lines]
    text.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in text)


def _show(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value:.1f} MB"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} us"


def profile(bench: Bench, count: int) -> None:
    """cProfile the pipeline at `count` seeds, and `python -X importtime` the build command."""
    site = bench.site(count)
    seeds = corpus.generate(site, count)
    floors.scan_floor(str(seeds))
    config = load_config(site / "publisher.toml")
    daemon = Daemon(config)
    _profiled(f"first build, N={count:,}", partial(daemon.run, expect_new=count))
    daemon.run()
    _profiled(f"poll, nothing new, N={count:,}", daemon.run)
    bench.add_seed(count)
    _profiled(f"poll, one new seed, N={count:,}", partial(daemon.run, expect_new=1))
    info = feed_info(config)
    for k in (k for k in RENDER_KS[:3] if k <= count):
        entries = _entries(config, k)
        _profiled(f"render K={k:,}", partial(render_feeds, info, entries))
    bench.add_seed(count)
    command = [sys.executable, "-X", "importtime", *PUBLISHER[1:], "build"]
    result = subprocess.run(
        command, cwd=site, capture_output=True, text=True, check=True, env=bench.env
    )
    print(f"== imports of `publisher build` (one new seed, N={count:,}): top 12, cumulative us")
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    print("\n".join(sorted(lines[1:], key=lambda line: -int(line.split("|")[1]))[:12]))


def _profiled(title: str, function: Callable[[], object]) -> None:
    profiler = cProfile.Profile()
    gc.collect()
    started = time.perf_counter()
    profiler.runcall(function)
    seconds = time.perf_counter() - started
    for order, limit in (("tottime", 12), ("cumulative", 16)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        text = out.getvalue()
        print(f"== {title}: {seconds * 1e3:.1f} ms under the profiler; top {limit} by {order}")
        print(text[text.find("   ncalls") :].rstrip() + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
