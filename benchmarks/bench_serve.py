"""Issue 6's benchmark: `publisher serve` under a population of feed readers polling it.

    python benchmarks/bench_serve.py [--rounds 5] [--clients 8] [--requests 3000] [--seconds 2]

A small site (atom.xml and rss.xml of ~80 KB, an index.html) is generated into a temporary
folder and served by the real CLI in a subprocess on 127.0.0.1; the load generator is threads
in this process, each holding one keep-alive connection, and nothing targets another address.

Each poll comes from a reader drawn from a fixed population: most hold the current ETag (and
Last-Modified), some only the date, some a stale ETag from before the feed changed, a few poll
for the first time; most accept gzip. Readers do not learn from answers, so the mix is the same
all run long: a snapshot of a feed that changes now and then. The same sequence of polls runs
twice a round: with the readers' validators ("conditional") and without them ("always 200").
Rounds alternate the order of the two modes; the table shows medians over rounds. Every run is
bounded by a request count and a time limit, and the whole benchmark by a deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # the only address this benchmark ever connects to
DEADLINE = 28.0  # seconds for everything: rounds that would not fit are skipped
FEED_ID = "urn:uuid:00000000-0000-4000-8000-000000000001"
CONFIG = f"""\
title = "Serve benchmark"
base_url = "https://bench.example.org/"
author = "Benchmark Desk"
feed_id = "{FEED_ID}"
"""
PATHS = (("/atom.xml", 55), ("/rss.xml", 35), ("/", 10))  # what readers poll, and how often
STATES = (("current", 75), ("date only", 10), ("stale", 10), ("new", 5))  # what they hold
GZIP_SHARE = 0.85
READERS = 1000
STALE_ETAG = '"0123456789abcdef"'  # validators of the version before the feed last changed
STALE_DATE = "Mon, 01 Jan 2024 00:00:00 GMT"
_WORDS = [
    "harbour", "council", "budget", "river", "station", "market", "evening", "morning", "weather",
    "school", "report", "publisher", "article", "reader", "feed", "archive", "summary", "update",
    "meeting", "bridge", "library", "street", "café", "naïve", "façade", "déjà", "über", "straße",
    "новости", "город", "ειδήσεις", "πόλη", "新闻", "城市", "AT&amp;T", "R&amp;D",
]  # fmt: skip


@dataclass(frozen=True)
class Reader:
    path: str
    state: str
    gzip: bool


@dataclass(frozen=True)
class Validators:
    """What the server answers now for a path, with and without gzip."""

    etag: str
    gzip_etag: str
    last_modified: str


@dataclass
class Run:
    mode: str
    requests: int
    seconds: float
    not_modified: int
    body_bytes: int
    server_cpu: float | None  # seconds of the server process's CPU during the run

    @property
    def cpu_each(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / self.requests

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def share_304(self) -> float:
        return self.not_modified / self.requests

    @property
    def bytes_each(self) -> float:
        return self.body_bytes / self.requests


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    rng = random.Random(6)
    with tempfile.TemporaryDirectory(prefix="feedpub-bench-serve-") as temp:
        site = Path(temp)
        sizes = make_site(site, rng)
        with serving(site) as server:
            validators = {path: current_validators(server.port, path) for path, _ in PATHS}
            readers = population(rng)
            runs = rounds(server, readers, validators, args, started=started, rng=rng)
    print(header(sizes, args, time.monotonic() - started))
    print(table(runs))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of both modes (5)")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive connections (8)")
    parser.add_argument("--requests", type=int, default=5000, help="polls a run, at most (5000)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds a run, at most (2)")
    return parser


def make_site(site: Path, rng: random.Random) -> dict[str, int]:
    """publisher.toml, an empty seeds/, and feeds/ with realistic feeds; their sizes."""
    (site / "publisher.toml").write_text(CONFIG, encoding="utf-8")
    (site / "seeds").mkdir()
    feeds = site / "feeds"
    feeds.mkdir()
    entries = [(f"Entry {n}: {_words(rng, 6)}", _words(rng, 220)) for n in range(50)]
    atom = "".join(
        f"<entry><id>urn:x:{n}</id><title>{title}</title><updated>2025-06-{n % 28 + 1:02d}"
        f'T08:00:00Z</updated><content type="html">&lt;p&gt;{body}&lt;/p&gt;</content></entry>\n'
        for n, (title, body) in enumerate(entries)
    )
    rss = "".join(
        f"<item><guid>urn:x:{n}</guid><title>{title}</title><description>{body[:1200]}"
        "</description></item>\n"
        for n, (title, body) in enumerate(entries)
    )
    index = "".join(
        f"<li><a href=a{n}.html>{t}</a><p>{b[:300]}</p>\n" for n, (t, b) in enumerate(entries)
    )
    files = {
        "atom.xml": f'<?xml version="1.0" encoding="utf-8"?>\n<feed>{atom}</feed>\n',
        "rss.xml": f'<?xml version="1.0" encoding="utf-8"?>\n<rss><channel>{rss}</channel></rss>\n',
        "index.html": f"<!doctype html><html lang=en><title>Bench</title><ul>{index}</ul>\n",
    }
    for name, text in files.items():
        (feeds / name).write_text(text, encoding="utf-8")
    return {name: (feeds / name).stat().st_size for name in files}


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count))


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float | None:
        """User and system CPU time of the server process so far, where /proc tells it."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serving(site: Path) -> Iterator[Server]:
    """`publisher serve` on a free port of 127.0.0.1; stopped with SIGTERM, checked for exit 0."""
    port = _free_port()
    command = [sys.executable, str(ROOT / "publisher.py"), "-q", "--config"]
    command += [str(site / "publisher.toml"), "serve", "--host", HOST, "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(command, cwd=site, env=env, stdin=subprocess.DEVNULL) as process:
        try:
            _wait_until_answering(process, port)
            yield Server(port, process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=10)
    if code != 0:
        raise SystemExit(f"bench_serve: publisher serve exited with {code}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_until_answering(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            with contextlib.closing(socket.create_connection((HOST, port), timeout=1)):
                return
        except ConnectionRefusedError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench_serve: publisher serve did not start") from None
            time.sleep(0.05)


def current_validators(port: int, path: str) -> Validators:
    with contextlib.closing(http.client.HTTPConnection(HOST, port, timeout=10)) as conn:
        found = []
        for encoding in ("identity", "gzip"):
            conn.request("HEAD", path, headers={"Accept-Encoding": encoding})
            with conn.getresponse() as response:
                response.read()
                found.append((response.headers["ETag"], response.headers["Last-Modified"]))
    (etag, last_modified), (gzip_etag, _) = found
    return Validators(etag, gzip_etag, last_modified)


def population(rng: random.Random) -> list[Reader]:
    paths = rng.choices([p for p, _ in PATHS], [w for _, w in PATHS], k=READERS)
    states = rng.choices([s for s, _ in STATES], [w for _, w in STATES], k=READERS)
    return [Reader(p, s, rng.random() < GZIP_SHARE) for p, s in zip(paths, states, strict=True)]


def headers_for(reader: Reader, validators: Validators, *, conditional: bool) -> dict[str, str]:
    headers = {"Accept-Encoding": "gzip" if reader.gzip else "identity"}
    if not conditional or reader.state == "new":
        return headers
    etag = validators.gzip_etag if reader.gzip else validators.etag
    if reader.state == "current":
        headers |= {"If-None-Match": etag, "If-Modified-Since": validators.last_modified}
    elif reader.state == "date only":
        headers["If-Modified-Since"] = validators.last_modified
    else:
        headers |= {"If-None-Match": STALE_ETAG, "If-Modified-Since": STALE_DATE}
    return headers


def rounds(
    server: Server,
    readers: list[Reader],
    validators: dict[str, Validators],
    args: argparse.Namespace,
    *,
    started: float,
    rng: random.Random,
) -> list[Run]:
    """A warm-up, then rounds of both modes over the same schedule of polls, order alternating."""
    runs: list[Run] = []
    poll = Poller(server, validators, clients=args.clients, seconds=args.seconds)
    poll(readers[:500], conditional=True)  # warm-up: connections, the server's caches
    for number in range(args.rounds):
        if time.monotonic() - started + 2 * args.seconds + 1 > DEADLINE:
            print(f"bench_serve: deadline: stopped after {number} rounds", file=sys.stderr)
            break
        schedule = rng.choices(readers, k=args.requests)
        for conditional in (True, False) if number % 2 == 0 else (False, True):
            runs.append(poll(schedule, conditional=conditional))
    return runs


@dataclass
class Poller:
    """Polls a schedule with keep-alive connections until it or the time runs out."""

    server: Server
    validators: dict[str, Validators]
    clients: int
    seconds: float

    def __call__(self, schedule: list[Reader], *, conditional: bool) -> Run:
        polls = iter(schedule)
        lock = threading.Lock()
        totals = [0, 0, 0]  # requests, 304s, body bytes
        stop_at = time.monotonic() + self.seconds

        def client() -> None:
            with contextlib.closing(
                http.client.HTTPConnection(HOST, self.server.port, timeout=30)
            ) as conn:
                while time.monotonic() < stop_at:
                    with lock:
                        reader = next(polls, None)
                    if reader is None:
                        return
                    status, size = self._poll(conn, reader, conditional=conditional)
                    with lock:
                        totals[0] += 1
                        totals[1] += status == 304
                        totals[2] += size

        cpu, began = self.server.cpu_seconds(), time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed, cpu_after = time.perf_counter() - began, self.server.cpu_seconds()
        used = None if cpu is None or cpu_after is None else cpu_after - cpu
        mode = "conditional" if conditional else "always 200"
        return Run(mode, totals[0], elapsed, totals[1], totals[2], used)

    def _poll(
        self, conn: http.client.HTTPConnection, reader: Reader, *, conditional: bool
    ) -> tuple[int, int]:
        validators = self.validators[reader.path]
        conn.request(
            "GET", reader.path, headers=headers_for(reader, validators, conditional=conditional)
        )
        with conn.getresponse() as response:
            body = response.read()
        if response.status not in (200, 304):
            raise SystemExit(f"bench_serve: {reader.path}: {response.status}")
        return response.status, len(body)


def header(sizes: dict[str, int], args: argparse.Namespace, seconds: float) -> str:
    files = ", ".join(f"{name} {size / 1000:.0f} KB" for name, size in sizes.items())
    mix = ", ".join(f"{state} {weight}%" for state, weight in STATES)
    load_avg = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"publisher serve on {HOST}: {files}\n"
        f"readers: {mix}; {GZIP_SHARE:.0%} accept gzip; {args.clients} keep-alive clients;"
        f" runs of at most {args.requests} polls or {args.seconds:g} s\n"
        f"{os.cpu_count()} CPUs, load average {load_avg}; {seconds:.1f} s in all\n"
    )


def table(runs: list[Run]) -> str:
    """Medians over rounds for each mode, then the ratio of conditional to always 200."""
    lines = [
        f"{'mode':<12} {'rounds':>6} {'req/s':>8} {'304s':>6} {'body B/req':>11}"
        f" {'server CPU us/req':>18} {'polls/run':>9}"
    ]
    medians: dict[str, tuple[float, float, float | None]] = {}
    for mode in ("conditional", "always 200"):
        done = [run for run in runs if run.mode == mode]
        if not done:
            continue
        rate = statistics.median(r.rate for r in done)
        size = statistics.median(r.bytes_each for r in done)
        cpus = [r.cpu_each for r in done if r.cpu_each is not None]
        cpu = statistics.median(cpus) * 1e6 if cpus else None
        medians[mode] = rate, size, cpu
        lines.append(
            f"{mode:<12} {len(done):>6} {rate:>8.0f}"
            f" {statistics.median(r.share_304 for r in done):>6.0%} {size:>11,.0f}"
            f" {_show(cpu, '.0f'):>18} {statistics.median(r.requests for r in done):>9.0f}"
        )
    if len(medians) == 2:
        (rate_c, size_c, cpu_c), (rate_a, size_a, cpu_a) = medians.values()
        cpu_ratio = None if cpu_c is None or not cpu_a else cpu_c / cpu_a
        lines.append(
            f"{'ratio c/a':<12} {'':>6} {_show(rate_c / rate_a, '.2f') + 'x':>8} {'':>6}"
            f" {_show(size_c / size_a, '.3f') + 'x':>11} {_show(cpu_ratio, '.2f') + 'x':>18}"
        )
    return "\n".join(lines)


def _show(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


if __name__ == "__main__":
    raise SystemExit(main())
