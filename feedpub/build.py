"""build_once: the pipeline, start to end.

scan seeds/ -> diff against the index -> parse what changed -> store -> pick the newest ->
render -> write atomically. Values in, values out: the clock is the `now` parameter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from feedpub import __version__
from feedpub.config import Config
from feedpub.errors import OutputError
from feedpub.examine import Examined, display_path, examine_all
from feedpub.model import Article, article_id, tag_slug
from feedpub.output import remove_stale_temporaries, site_lock
from feedpub.poll import poll, stat_paths
from feedpub.publish import Touched, publish
from feedpub.scan import Changes, SeedFile, StatIndex, diff, scan_tree, settled
from feedpub.snapshot import (
    Kept,
    Snapshot,
    indexed_seeds,
    scanned_snapshot,
    stat_differs,
    updated_snapshot,
)
from feedpub.store import Known, Store, Version, open_store

log = logging.getLogger(__name__)

STATE_FILE = "state.sqlite3"
PUBLISHING = "publishing"  # in .publisher/ while a run writes feeds/: a kill leaves it behind
PENDING = "pending"  # meta key: what the index holds and the feeds may not show yet, as JSON
PENDING_FIELDS = ("slugs", "deleted", "tags", "positions")
GENERATION = "generation"  # meta key: a new value whenever a run changes the seed table
READ_KEY = "read_key"  # meta key: read_key() of what the index's seeds were last all read with
Progress = Callable[[int, int], None]
BATCH = 500  # new seeds' versions put in one statement


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
    snapshot: Snapshot | None = None  # the index's stats, when asked for: pass it to the next run

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
    snapshot: Snapshot | None = None,
    paths: Collection[str] | None = None,
) -> BuildReport:
    """Bring feeds/ up to date with seeds/, holding the site lock throughout.

    `should_stop` is asked between seeds; when it says yes, what was indexed is kept, nothing is
    published, and the next run carries on from there. Paths in `ready` are files known to be
    closed after writing: they are read even when modified less than `settle` seconds ago.

    With a `snapshot` (the last run's, or Snapshot() for a first one) the report carries the next;
    while it is trusted, seeds/ is walked without reading the index, and with `paths` (every seed
    path that filesystem events named since the last run) only those files are looked at. A
    snapshot passed in may be updated in place: after a run that raised, pass Snapshot().
    """
    started = time.perf_counter()
    publishing = config.state_dir / PUBLISHING
    with site_lock(config.state_dir):
        if publishing.exists():  # a run was killed while writing: its temporaries are left
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
                snapshot=snapshot,
                paths=paths,
            )
            touched = _carry_over(store, touched)
            store.commit()  # the index, and what is still to be published, in one transaction
            if not report.stopped:
                publishing.touch()
                try:
                    report.written = publish(store, config, touched, now=now)
                except Exception as exc:  # what status shows: this run, not the last good one
                    _record_failure(store, exc, now=now, started=started)
                    raise
                publishing.unlink()
                store.set_meta(PENDING, "")  # committed with what publish() did, or not at all
                report.next_due = store.next_due(now)
            report.seconds = time.perf_counter() - started
            store.set_meta("last_run", json.dumps(_last_run(report, now)))
            store.commit()
    return report


def _record_failure(store: Store, exc: Exception, *, now: datetime, started: float) -> None:
    """Record a run that failed while publishing; the index keeps what is still to publish.

    What the run did to the index while publishing is rolled back first. Best effort: a failure
    of the index itself here leaves the record as it was, and the run's own error goes on.
    """
    record = {
        "at": now.isoformat(),
        "result": "failed",
        "summary": str(exc) if isinstance(exc, OutputError) else f"{type(exc).__name__}: {exc}",
        "seconds": round(time.perf_counter() - started, 3),
    }
    with contextlib.suppress(sqlite3.Error):
        store.rollback()
        store.set_meta("last_run", json.dumps(record))
        store.commit()


def _last_run(report: BuildReport, now: datetime) -> dict[str, object]:
    result = "stopped" if report.stopped else "skipped seeds" if report.errors else "ok"
    return {
        "at": now.isoformat(),
        "result": result,
        "summary": report.summary(),
        "seconds": round(report.seconds, 3),
    }


def _carry_over(store: Store, touched: Touched) -> Touched:
    """Add what earlier runs indexed but did not publish, and keep the sum in the index.

    A run killed, failing (disk full) or stopped after it committed the index and before it
    published would otherwise leave those changes out of the feeds until the seed changed again.
    """
    saved = json.loads(store.get_meta(PENDING) or "{}")
    if not saved and not touched.slugs and not touched.tags and not touched.positions:
        return touched
    present = touched.slugs - touched.deleted  # read in this run: a deletion before is undone
    merged = Touched(
        slugs=touched.slugs | set(saved.get("slugs", ())),
        deleted=(set(saved.get("deleted", ())) - present) | touched.deleted,
        tags=touched.tags | set(saved.get("tags", ())),
        positions=touched.positions | set(saved.get("positions", ())),
    )
    record = {name: sorted(getattr(merged, name)) for name in PENDING_FIELDS}
    store.set_meta(PENDING, json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    return merged


def check_seeds(config: Config) -> list[str]:
    """Read and parse every seed, write nothing; every problem as `path:line: reason`."""
    problems: list[str] = []
    seeds = sorted(scan_tree(config.seeds_dir).files.values(), key=lambda seed: seed.slug)
    for found in examine_all(config, [(seed, None) for seed in seeds]):
        if found.error is not None:
            problems.append(found.error)
        elif found.article is not None:
            problems.extend(str(warning) for warning in found.article.warnings)
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
    snapshot: Snapshot | None,
    paths: Collection[str] | None,
) -> Touched:
    touched = Touched()
    generation = store.get_meta(GENERATION)
    reading, recorded = read_key(config), store.get_meta(READ_KEY)
    if recorded != reading:  # committed with what this run indexes, or not at all
        if store.forget_reads():
            log.info("reading every seed again: %s", _why_reread(recorded, reading))
        store.set_meta(READ_KEY, reading)
        generation = uuid.uuid4().hex  # no snapshot taken before holds for the index now
        store.set_meta(GENERATION, generation)
    trusted = snapshot is not None and bool(generation) and snapshot.generation == generation
    changes = _quick_changes(config, snapshot.index, paths) if trusted and snapshot else None
    known: Mapping[str, Known] = {}  # the index's, when it was read (for a full scan)
    scanned: StatIndex | None = None  # the full scan's stats, when a snapshot is asked for
    if changes is not None:
        old_of: Callable[[str], Known | None] = store.known_one
        ready_now, unsettled = settled(
            changes.changed, now_ns=time.time_ns(), settle_ns=int(settle * 1e9), ready=ready
        )
        changes = Changes(changed=ready_now, deleted=changes.deleted, unsettled=unsettled)
    else:
        trusted = False
        known = store.known()
        old_of = known.get
        tree = scan_tree(config.seeds_dir, stats=snapshot is not None)
        scanned = tree.stats
        visible = {slug: old for slug, old in known.items() if not tree.hides(slug)}
        changes = diff(
            tree.files, visible, now_ns=time.time_ns(), settle_ns=int(settle * 1e9), ready=ready
        )
    if changes.changed or changes.deleted or (snapshot is not None and not generation):
        generation = uuid.uuid4().hex  # committed with the changes: other processes' snapshots
        store.set_meta(GENERATION, generation)  # of the index are stale from then on
    report.unsettled = len(changes.unsettled)
    olds = [old_of(seed.slug) for seed in changes.changed]
    keep = indexed_seeds if trusted else stat_differs if scanned else None
    indexed = _index_changed(
        store, config, changes.changed, olds, report=report, touched=touched, now=now,
        stop=stop, progress=progress, keep=keep,
    )  # fmt: skip
    if report.stopped:
        return touched
    _delete(store, config, changes.deleted, touched, now=now)
    report.removed = len(changes.deleted)
    report.errors = store.errors()
    if snapshot is not None and trusted:
        report.snapshot = updated_snapshot(snapshot, indexed, changes.deleted, generation)
    elif scanned is not None:
        report.snapshot = scanned_snapshot(scanned, indexed, changes.unsettled, known, generation)
    return touched


def read_key(config: Config) -> str:
    """What decides an article besides its seed's bytes. When it changes, every seed is read again.

    A date without an offset is in `timezone`, `max_seed_bytes` refuses seeds, and another
    version of the publisher may parse differently. Each indexed seed is then marked unread in
    the index (`Store.forget_reads`): a seed that a run does not reach (it stops, the seed is
    still being written, its folder cannot be listed) stays marked for the runs after it.
    """
    return json.dumps([__version__, config.timezone, config.max_seed_bytes])


def _why_reread(recorded: str | None, reading: str) -> str:
    """The log's reason for reading every seed again: what changed since they were marked."""
    names = ("the publisher's version", "timezone", "max_seed_bytes")
    try:
        before = json.loads(recorded or "null")
    except ValueError:
        before = None
    if not isinstance(before, list) or len(before) != len(names):
        return "the index does not record the settings its seeds were read with"
    pairs = zip(names, before, json.loads(reading), strict=True)
    changed = " and ".join(name for name, old, new in pairs if old != new)
    return f"{changed or 'the settings'} changed"


def _index_changed(
    store: Store,
    config: Config,
    changed: list[SeedFile],
    olds: list[Known | None],
    *,
    report: BuildReport,
    touched: Touched,
    now: datetime,
    stop: Callable[[], bool] | None,
    progress: Progress | None,
    keep: Callable[[SeedFile, Known | None], bool] | None,
) -> Kept:
    """Examine and index the changed seeds, `olds` being what the index had of each.

    Returned: each seed that `keep` picks, with what the index now holds of its file (None: the
    file was not indexed), for the snapshot. Asked to `stop`, it keeps what it indexed in the
    index and sets `report.stopped`.
    """
    indexed: Kept = []
    hashes = (old.hash if old else None for old in olds)
    examined = examine_all(config, list(zip(changed, hashes, strict=True)))
    batch: list[Version] = []
    try:
        for done, (found, old) in enumerate(zip(examined, olds, strict=True), 1):
            if stop and stop():
                report.stopped = True
                break
            stored = _index_seed(
                store, config, found, old, batch, report=report, touched=touched, now=now
            )
            if len(batch) >= BATCH:
                store.put(batch)
                batch.clear()
            if keep and keep(found.seed, stored):
                indexed.append((found.seed, stored))
            if progress:
                progress(done, len(changed))
    finally:
        examined.close()
    store.put(batch)  # what was indexed is kept, even when asked to stop
    return indexed


def _quick_changes(
    config: Config, index: StatIndex, paths: Collection[str] | None
) -> Changes | None:
    """What changed, from the named `paths` or a walk against a trusted snapshot; None to scan."""
    if paths is not None:
        changes = stat_paths(config.seeds_dir, paths, index)
        if changes is not None:
            return changes
    changed = poll(config.seeds_dir, index)
    return None if changed is None else Changes(changed=changed, deleted=[], unsettled=[])


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
            identity = article_id(config.feed_id, stored.article)
            store.add_tombstone(slug, identity, now.replace(microsecond=0))
    store.delete(slugs)


def _index_seed(
    store: Store,
    config: Config,
    found: Examined,
    old: Known | None,
    batch: list[Version],
    *,
    report: BuildReport,
    touched: Touched,
    now: datetime,
) -> Known | None:
    """Index one examined seed; what the index now holds of its file, if any.

    A new seed's version may be left in `batch`, for the caller to put with others.
    """
    seed, current, article = found.seed, found.known, found.article
    if current is None:
        return None  # deleted since the scan: the next run removes it
    if found.error is not None:
        _skip(store, seed, current, found.error, report, now=now)
        return current
    if article is None:  # the content the index has: only the file's times changed
        store.touch(seed.slug, current.size, current.mtime_ns)
        return current
    report.warnings.extend(str(warning) for warning in article.warnings)
    previous = store.stored(seed.slug) if old is not None else None
    if previous is not None:
        report.warnings.extend(_new_id(config, seed, previous.article, article, now=now))
    if previous is None:
        updated = article.published
        report.new += 1
    elif previous.article == article:
        updated = previous.updated
    else:
        updated = max(now.replace(microsecond=0), article.published)
        report.updated += 1
    if previous is None and not article.tags:  # nothing else to write of it: put with others
        batch.append((article, current, updated, now))
    else:
        store.put([(article, current, updated, now)])
    if previous is None or previous.article != article:
        touched.slugs.add(seed.slug)
        if old is not None:  # a slug the index had (a new one has no tags, nor their feeds)
            touched.tags.update(store.tags_of([seed.slug]))
        if article.tags or old is not None:  # a new seed with no tags has none to replace
            tags = ((tag_slug(tag), tag) for tag in article.tags)
            store.set_tags(seed.slug, tags, fresh=old is None)
        touched.tags.update(tag_slug(tag) for tag in article.tags)
        store.drop_tombstone(seed.slug)
    return current


def _new_id(
    config: Config, seed: SeedFile, before: Article, after: Article, *, now: datetime
) -> list[str]:
    """The warning when an `id:` header added, changed or removed gives the entry another id."""
    if article_id(config.feed_id, before) == article_id(config.feed_id, after):
        return []
    made = "the id made from its file name"
    change = f"from {before.pinned_id or made} to {after.pinned_id or made}"
    warning = f"{display_path(config, seed.path)}: the entry's id changes {change}"
    if before.published > now:  # never shown: no reader has the old id
        return [warning]
    return [f"{warning}: readers show it again as a new entry"]


def _skip(
    store: Store, seed: SeedFile, current: Known, error: str, report: BuildReport, *, now: datetime
) -> None:
    store.put_error(seed.slug, current, error, first_seen=now)
    report.fresh_errors.append(error)


def now() -> datetime:
    """The one clock read of the publisher; the core takes `now` as a parameter."""
    return datetime.now(UTC)
