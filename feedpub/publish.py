"""After the index is up to date: decide which documents may have changed, render, write.

The subscription documents (atom.xml, rss.xml, feed.json), the RFC 5005 archive pages, the tag
feeds, the article pages and index.html. Only what a change can reach is rendered; only files whose
bytes differ are written.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from feedpub import __version__, jsonfeed, pages, render, withdrawal
from feedpub.config import Config
from feedpub.layout import NAMES, archive_name, archive_url, newest_page, page_path
from feedpub.model import (
    Document,
    Entry,
    FeedInfo,
    Tombstone,
    article_id,
    first_paragraph_summary,
    stable_instant,
)
from feedpub.output import Batch
from feedpub.store import Store, Stored, from_micros, to_micros

TYPES = {"atom": pages.ATOM_TYPE, "rss": pages.RSS_TYPE, "json": pages.JSON_FEED_TYPE}
LABELS = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}


@dataclass
class Touched:
    """What the index update changed, as the publishing step needs to know it."""

    slugs: set[str] = field(default_factory=set)  # new, edited or deleted
    deleted: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)  # tag slugs of all of those, before and after
    positions: set[int] = field(default_factory=set)  # archive positions of deleted seeds


def publish(store: Store, config: Config, touched: Touched, *, now: datetime) -> list[str]:
    """Bring feeds/ in line with the index; return the paths written, relative to feeds/.

    Files are renamed into place together once rendered and on disk (in batches of a thousand
    or so on a first build): a failure leaves no temporary file, and the index's pending record
    tells the next run what is still to publish.
    """
    writer = _Writer(config.feeds_dir)
    try:
        _publish(store, config, touched, writer, now=now)
        writer.batch.commit()
    finally:
        writer.batch.abort()
    # What no feed links to any more goes last, once the feeds no longer link to it.
    withdrawal.withdraw(store, config, writer, touched.deleted | writer.unpublished, now=now)
    return writer.written


def _publish(
    store: Store, config: Config, touched: Touched, writer: _Writer, *, now: datetime
) -> None:
    key = render_key(config)
    full = store.get_meta("render_key") != key
    since = store.get_meta("rendered_at")
    if since and not full:
        due = store.due_since(from_micros(int(since)), now)
        touched.slugs.update(due)
        touched.tags.update(store.tags_of(due))
    old_end = store.archive_end()
    new_positions = store.assign_archive_positions(now) if config.archives else []
    main_stale = full or bool(touched.slugs or new_positions) or _due(store, now)
    if not (main_stale or touched.tags or touched.positions) and writer.all_exist(
        _main_names(config)
    ):
        return  # nothing changed, nothing came due: feeds/ is as the last run left it
    # What is linked to goes first: pages, then tag feeds and archives, and the subscription
    # documents last, so that a reader who follows a link in a new feed never meets a 404.
    if config.pages:
        slugs = None if full else touched.slugs - touched.deleted
        _write_pages(store, config, writer, slugs, now=now)
    tags = touched.tags | set(store.all_tags()) if full else touched.tags  # gone ones too
    _write_tags(store, config, writer, tags, now=now)
    if config.archives:
        touched.positions.update(range(old_end, old_end + len(new_positions)))
        _write_archives(store, config, writer, touched, full=full, now=now)
    if main_stale or not writer.all_exist(_main_names(config)):
        _write_main(store, config, writer, now=now)
    store.set_meta("render_key", key)
    store.set_meta("rendered_at", str(to_micros(now)))
    next_due = _next_due(store, config, now)
    store.set_meta("next_due", str(to_micros(next_due)) if next_due else "")


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[str] = []
        self.batch = Batch()
        self.unpublished: set[str] = set()  # slugs whose pages must wait: not due yet

    def write(self, name: str, data: bytes) -> None:
        if self.batch.write_if_changed(self.root / name, data):
            self.written.append(name)

    def remove(self, name: str) -> None:
        if self.batch.remove(self.root / name, root=self.root):
            self.written.append(name)

    def exists(self, name: str) -> bool:
        return (self.root / name).exists()

    def all_exist(self, names: Iterable[str]) -> bool:
        return all(map(self.exists, names))


def _main_names(config: Config) -> list[str]:
    names = [NAMES[f] for f in config.formats]
    return [*names, "index.html"] if config.pages else names


def _due(store: Store, now: datetime) -> bool:
    """A date that was in the future at the last run has come: a seed, or a tombstone's expiry."""
    due = store.get_meta("next_due")
    return bool(due) and int(due or 0) <= to_micros(now)


def _next_due(store: Store, config: Config, now: datetime) -> datetime | None:
    times = [store.next_due(now)]
    if config.tombstones:
        window = timedelta(days=config.tombstone_days)
        times += [when + window for _, when in store.tombstones(now - window)]
    return min((t for t in times if t is not None), default=None)


def _write_main(store: Store, config: Config, writer: _Writer, *, now: datetime) -> None:
    info = feed_info(config)
    entries = [to_entry(stored, config) for stored in store.newest(now, config.max_entries)]
    tombstones: tuple[Tombstone, ...] = ()
    if config.tombstones:
        since = now - timedelta(days=config.tombstone_days)
        tombstones = tuple(Tombstone(i, when) for i, when in store.tombstones(since))
    newest = archive_url(config, newest_page(store, config), "atom")
    documents = {
        format_: Document(
            self_url=config.feed_url + NAMES[format_],
            prev_archive=newest.replace(".atom.", f".{format_}.") if config.archives else None,
            tombstones=tombstones if format_ == "atom" else (),
        )
        for format_ in config.formats
    }
    for format_, data in _render_all(info, entries, documents).items():
        writer.write(NAMES[format_], data)
    if config.pages:
        index = pages.index_page(info, entries, feed_links=feed_links(config, info))
        writer.write("index.html", index)


def _render_all(
    info: FeedInfo, entries: list[Entry], documents: dict[str, Document]
) -> dict[str, bytes]:
    """Each format's bytes, in the order of `documents`; Atom and RSS share one generator."""
    xml = {f: d for f, d in documents.items() if f in ("atom", "rss")}
    rendered = render.render_feeds(info, entries, xml) if xml else {}
    return {
        format_: rendered[format_]
        if format_ in rendered
        else jsonfeed.render_json(info, entries, feed_url=document.self_url)
        for format_, document in documents.items()
    }


def _write_archives(
    store: Store, config: Config, writer: _Writer, touched: Touched, *, full: bool, now: datetime
) -> None:
    size = config.archive_page_size
    newest = newest_page(store, config)
    if full:
        numbers: set[int] = set(range(newest + 1))
    else:
        positions = store.archive_positions(touched.slugs - touched.deleted) | touched.positions
        numbers = {position // size for position in positions}
    numbers.add(newest)  # a page that just filled gained its next-archive link: it is in here
    info = feed_info(config)
    for number in sorted(numbers):
        stored = store.archived(number * size, (number + 1) * size, now)
        entries = [to_entry(item, config) for item in stored]
        documents: dict[str, Document] = {
            format_: _archive_document(config, number, newest, format_)
            for format_ in ("atom", "rss")
            if format_ in config.formats
        }
        for format_, data in _render_all(info, entries, documents).items():
            writer.write(archive_name(number, format_), data)


def _archive_document(config: Config, number: int, newest: int, format_: str) -> Document:
    return Document(
        self_url=archive_url(config, number, format_),
        prev_archive=archive_url(config, number - 1, format_) if number > 0 else None,
        next_archive=archive_url(config, number + 1, format_) if number < newest else None,
        current=config.feed_url + NAMES[format_],
        archive=True,
    )


def _write_tags(
    store: Store, config: Config, writer: _Writer, tags: Iterable[str], *, now: datetime
) -> None:
    for tag in sorted(tags):
        stored = store.newest_tagged(tag, now, config.max_entries)
        label = store.tag_label(tag)
        names = {format_: f"tags/{tag}/{NAMES[format_]}" for format_ in config.formats}
        if not stored or label is None:  # each format's, also of a format turned off meanwhile
            for name in NAMES.values():
                writer.remove(f"tags/{tag}/{name}")
            continue
        info = tag_info(config, tag, label)
        entries = [to_entry(item, config) for item in stored]
        documents = {f: Document(self_url=config.feed_url + name) for f, name in names.items()}
        for format_, data in _render_all(info, entries, documents).items():
            writer.write(names[format_], data)


def _write_pages(
    store: Store, config: Config, writer: _Writer, slugs: set[str] | None, *, now: datetime
) -> None:
    """Article pages for `slugs`, or for every published article when `slugs` is None."""
    info = feed_info(config)
    links = feed_links(config, info)
    home = config.feed_url + "index.html"
    for stored in _published(store, slugs, now, waiting=writer.unpublished):
        path = page_path(stored.article.slug)
        if path is None:
            continue
        entry = to_entry(stored, config)
        page = pages.article_page(info, entry, feed_links=links, home_url=home)
        writer.write(path, page)


def _published(
    store: Store, slugs: set[str] | None, now: datetime, *, waiting: set[str]
) -> Iterator[Stored]:
    """The published entries of `slugs` (of all, when None); those still to come go to `waiting`.

    A seed dated anew, in the future, is one: its page waits for its date.
    """
    if slugs is None:  # a seed dated anew in this run is among those still to come
        waiting.update(slug for slug, _ in store.waiting(now))
        yield from store.all_published(now)
        return
    for slug in sorted(slugs):
        stored = store.stored(slug)
        if stored is None:
            continue
        if stored.article.published <= now:
            yield stored
        else:
            waiting.add(slug)


def feed_info(config: Config) -> FeedInfo:
    return FeedInfo(
        id=config.feed_id,
        title=config.title,
        description=config.description,
        site_url=config.base_url,
        feed_url=config.feed_url,
        author=config.author,
        author_email=config.author_email,
        language=config.language,
        hubs=config.websub_hub,
    )


def tag_info(config: Config, tag: str, label: str) -> FeedInfo:
    """A tag feed: its own id (derived from the feed's), title and description."""
    base = feed_info(config)
    namespace = uuid.UUID(config.feed_id.removeprefix("urn:uuid:"))
    return FeedInfo(
        id=f"urn:uuid:{uuid.uuid5(namespace, 'tag:' + tag)}",
        title=f"{config.title}: {label}",
        description=f"{config.description} (tagged {label})",
        site_url=base.site_url,
        feed_url=base.feed_url + f"tags/{tag}/",
        author=base.author,
        author_email=base.author_email,
        language=base.language,
        hubs=base.hubs,
    )


def feed_links(config: Config, info: FeedInfo) -> list[pages.FeedLink]:
    return [
        pages.FeedLink(f"{info.title} ({LABELS[f]})", TYPES[f], config.feed_url + NAMES[f])
        for f in config.formats
    ]


def article_link(config: Config, slug: str, canonical: str | None) -> str | None:
    """An entry's URL: its `link:` header, the link_template, or its page."""
    if canonical:
        return canonical
    if config.link_template:
        return config.link_template.replace("{slug}", quote(slug))
    if config.pages:
        return pages.article_url(config.feed_url, slug)
    return None


def to_entry(stored: Stored, config: Config) -> Entry:
    article = stored.article
    link = article_link(config, article.slug, article.link)
    content: str | None
    if article.markdown is not None:
        from feedpub.markdown import markdown_html, markdown_summary

        content = markdown_html(article.markdown, base_url=link) or None
        summary = article.summary_text or markdown_summary(article.markdown)
    else:
        paragraphs = article.paragraphs  # split once, for both
        content = render.paragraphs_html(paragraphs)
        summary = article.summary_text or first_paragraph_summary(paragraphs)
    return Entry(
        id=article_id(config.feed_id, article),
        title=article.title,
        published=stable_instant(article.published, article.slug),
        updated=stable_instant(stored.updated, article.slug),
        summary=summary,
        content_html=content,
        link=link,
        slug=article.slug,
        author=article.author,
        author_email=article.author_email,
        tags=article.tags,
        language=article.language,
    )


def render_key(config: Config) -> str:
    """What besides the seeds decides the output's bytes: when it changes, render everything."""
    parts = (__version__, repr(config), repr(feed_info(config)))
    return hashlib.sha256(repr(parts).encode()).hexdigest()
