"""build_once: the pipeline, start to end.

scan seeds/ -> diff against the index -> parse what changed -> store -> pick the newest ->
render -> write atomically. Values in, values out: the clock is the `now` parameter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from feedpub.config import Config
from feedpub.errors import SeedError
from feedpub.model import entry_id, tag_slug
from feedpub.output import remove_stale_temporaries, site_lock
from feedpub.publish import Touched, publish
from feedpub.scan import SeedFile, diff, is_markdown, scan
from feedpub.seeds import parse_seed
from feedpub.store import Known, Store, open_store

log = logging.getLogger(__name__)

STATE_FILE = "state.sqlite3"
Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    """What one run did, for the summary line and the exit status."""

    new: int = 0
    updated: int = 0
    removed: int = 0
    written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # every seed that cannot be published
    fresh_errors: list[str] = field(default_factory=list)  # of those, the ones read this run
    warnings: list[str] = field(default_factory=list)
    unsettled: int = 0
    stopped: bool = False  # asked to stop between seeds; the next run picks up the rest
    next_due: datetime | None = None
    seconds: float = 0.0

    def changed_feeds(self, config: Config) -> list[str]:
        """URLs of the written feeds that readers subscribe to: what WebSub hubs hear about."""
        subscribed = ("atom.xml", "rss.xml", "feed.json")
        names = [n for n in self.written if n in subscribed or n.startswith("tags/")]
        return [config.feed_url + quote(name) for name in names]

    def summary(self) -> str:
        return (
            f"published {len(self.written)} files: {self.new} new, {self.updated} updated, "
            f"{self.removed} removed, {len(self.errors)} skipped"
        )


def build_once(
    config: Config,
    *,
    now: datetime,
    settle: float = 0.0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    ready: Collection[str] = (),
) -> BuildReport:
    """Bring feeds/ up to date with seeds/, holding the site lock throughout.

    `should_stop` is asked between seeds; when it says yes, what was indexed is kept, nothing is
    published, and the next run carries on from there. Paths in `ready` are files known to be
    closed after writing: they are read even when modified less than `settle` seconds ago.
    """
    started = time.perf_counter()
    with site_lock(config.state_dir):
        remove_stale_temporaries(config.feeds_dir)
        with open_store(config.state_dir / STATE_FILE) as store:
            report = BuildReport()
            touched = _update_index(
                store,
                config,
                report,
                now=now,
                settle=settle,
                progress=progress,
                stop=should_stop,
                ready=ready,
            )
            store.commit()
            if not report.stopped:
                report.written = publish(store, config, touched, now=now)
                report.next_due = store.next_due(now)
            report.seconds = time.perf_counter() - started
            store.set_meta("last_run", json.dumps(_last_run(report, now)))
            store.commit()
    return report


def _last_run(report: BuildReport, now: datetime) -> dict[str, object]:
    result = "stopped" if report.stopped else "skipped seeds" if report.errors else "ok"
    return {
        "at": now.isoformat(),
        "result": result,
        "summary": report.summary(),
        "seconds": round(report.seconds, 3),
    }


def check_seeds(config: Config) -> list[str]:
    """Read and parse every seed, write nothing; every problem as `path:line: reason`."""
    problems: list[str] = []
    for seed in sorted(scan(config.seeds_dir).values(), key=lambda seed: seed.slug):
        source = display_path(config, seed.path)
        try:
            article = parse_seed(
                _read(seed, source, limit=config.max_seed_bytes),
                source=source,
                slug=seed.slug,
                timezone=config.tz,
                markdown=is_markdown(seed),
            )
        except FileNotFoundError:
            continue
        except SeedError as exc:
            problems.append(str(exc))
        else:
            problems.extend(str(warning) for warning in article.warnings)
    return problems


def _update_index(
    store: Store,
    config: Config,
    report: BuildReport,
    *,
    now: datetime,
    settle: float,
    progress: Progress | None,
    stop: Callable[[], bool] | None,
    ready: Collection[str],
) -> Touched:
    touched = Touched()
    known = store.known()
    files = scan(config.seeds_dir)
    changes = diff(files, known, now_ns=time.time_ns(), settle_ns=int(settle * 1e9), ready=ready)
    report.unsettled = len(changes.unsettled)
    for done, seed in enumerate(changes.changed, 1):
        if stop and stop():
            report.stopped = True
            return touched
        _index_seed(store, config, seed, known, report=report, touched=touched, now=now)
        if progress:
            progress(done, len(changes.changed))
    _delete(store, config, changes.deleted, touched, now=now)
    report.removed = len(changes.deleted)
    report.errors = store.errors()
    return touched


def _delete(
    store: Store, config: Config, slugs: list[str], touched: Touched, *, now: datetime
) -> None:
    """Seeds gone from seeds/: their entries leave, and each published one leaves a tombstone."""
    touched.slugs.update(slugs)
    touched.deleted.update(slugs)
    touched.tags.update(store.tags_of(slugs))
    touched.positions.update(store.archive_positions(slugs))
    for slug in slugs:
        stored = store.stored(slug)
        if stored is not None and stored.article.published <= now:
            identity = stored.article.pinned_id or entry_id(config.feed_id, slug)
            store.add_tombstone(slug, identity, now.replace(microsecond=0))
    store.delete(slugs)


def _index_seed(
    store: Store,
    config: Config,
    seed: SeedFile,
    known: Mapping[str, Known],
    *,
    report: BuildReport,
    touched: Touched,
    now: datetime,
) -> None:
    source = display_path(config, seed.path)
    try:
        data = _read(seed, source, limit=config.max_seed_bytes)
    except FileNotFoundError:
        return  # deleted since the scan: the next run removes it
    except SeedError as exc:
        _skip(store, seed, Known(seed.size, seed.mtime_ns, ""), str(exc), report, now=now)
        return
    current = Known(seed.size, seed.mtime_ns, hashlib.blake2b(data, digest_size=16).hexdigest())
    old = known.get(seed.slug)
    if old is not None and old.hash == current.hash:
        store.touch(seed.slug, seed.size, seed.mtime_ns)
        return
    try:
        article = parse_seed(
            data, source=source, slug=seed.slug, timezone=config.tz, markdown=is_markdown(seed)
        )
    except SeedError as exc:
        _skip(store, seed, current, str(exc), report, now=now)
        return
    report.warnings.extend(str(warning) for warning in article.warnings)
    previous = store.stored(seed.slug)
    if previous is None:
        updated = article.published
        report.new += 1
    elif previous.article == article:
        updated = previous.updated
    else:
        updated = max(now.replace(microsecond=0), article.published)
        report.updated += 1
    store.put(article, current, updated=updated, first_seen=now)
    if previous is None or previous.article != article:
        touched.slugs.add(seed.slug)
        touched.tags.update(store.tags_of([seed.slug]))
        store.set_tags(seed.slug, ((tag_slug(tag), tag) for tag in article.tags))
        touched.tags.update(tag_slug(tag) for tag in article.tags)
        store.drop_tombstone(seed.slug)


def _read(seed: SeedFile, source: str, *, limit: int) -> bytes:
    if seed.size > limit:
        raise SeedError(source, 1, f"too large: {seed.size} bytes, the limit is {limit}")
    try:
        with open(seed.path, "rb") as file:
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SeedError(source, 1, f"cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise SeedError(source, 1, f"too large: over {limit} bytes")
    return data


def _skip(
    store: Store, seed: SeedFile, current: Known, error: str, report: BuildReport, *, now: datetime
) -> None:
    store.put_error(seed.slug, current, error, first_seen=now)
    report.fresh_errors.append(error)


def display_path(config: Config, path: str) -> str:
    """A seed's path as messages show it: relative to the site when it is inside it."""
    relative = os.path.relpath(path, config.root)
    return path if relative.startswith("..") else relative


def now() -> datetime:
    """The one clock read of the publisher; the core takes `now` as a parameter."""
    return datetime.now(UTC)
