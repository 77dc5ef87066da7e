"""HTML5 pages for a feed's site: one page an article, and the index. Pure: values in, bytes out.

Same input, same bytes: no clock, no build time, no version. Every piece of text from seeds or
config is escaped here; only `Entry.content_html`, which is already-safe HTML, goes in as it is.
Pages link to feeds and articles by the absolute URLs they are given, so that they work from any
folder depth, and load nothing: one inline stylesheet, no script, no fonts, no images.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from feedpub.model import Entry, FeedInfo

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
JSON_FEED_TYPE = "application/feed+json"

# A part that is empty, "." or "..", or a backslash: the slug makes no safe path.
_UNSAFE_SLUG = re.compile(r"(?:\A|/)\.{0,2}(?:/|\Z)|\\")
# Characters that make an HTML5 parser report an error: controls other than whitespace,
# noncharacters and lone surrogates. Seeds drop them already; config text may still hold them.
_UNPARSABLE = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)
    )
    + "]"
)
# Those and more, in a few ranges: a quick look first. A character is tried against the items of
# a class in turn, and with the 34 noncharacters above a body of 3,000 characters took 150 us (a
# tenth of a first build with pages) against 24 us. Text with none of these is clean as it is;
# the few ranges hold nothing common, emoji included (the tags of a subdivision flag excepted).
_MAYBE_UNPARSABLE = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\U0001fffe-\U0010ffff]"
)
_SAFE_SCHEMES = ("http", "https", "")
_SEP = " \u00b7 "

_STYLE = """\
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fdfdfc;--muted:#656d76;--a:#0b5cad}
@media (prefers-color-scheme:dark){:root{--fg:#e4e4e1;--bg:#17181a;--muted:#9aa0a6;--a:#7ab7ff}}
body{margin:0 auto;max-width:40em;padding:1.5em 1em 3em;color:var(--fg);background:var(--bg);\
font:1.0625rem/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;\
overflow-wrap:break-word}
a{color:var(--a)}
h1,h2{line-height:1.25;margin:.6em 0 .2em}
h1{font-size:1.8em}
h2{font-size:1.2em}
.site,footer,.meta{color:var(--muted);font-size:.9em}
.site a{color:inherit;font-weight:600;text-decoration:none}
.meta{margin:0 0 1em}
main>article+article{margin-top:1.8em}
.tags{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em}
.tags li{border:1px solid var(--muted);border-radius:1em;padding:0 .6em;font-size:.85em}
footer{margin-top:3em;border-top:1px solid var(--muted);padding-top:.8em}"""


@dataclass(frozen=True, slots=True)
class FeedLink:
    """One feed document as a page offers it: `title` shown and announced, MIME `type`, `href`."""

    title: str
    type: str
    href: str


def article_path(slug: str) -> str:
    """The article page's path relative to feeds/: `articles/<slug>.html`, slug folders kept."""
    if _UNSAFE_SLUG.search(slug):
        raise ValueError(f"pages: slug makes no safe path: {slug!r}")
    return f"articles/{slug}.html"


def article_url(base: str, slug: str) -> str:
    """The article page's URL, with `base` the URL of feeds/ (ending in '/')."""
    if not base.endswith("/"):
        raise ValueError(f"pages: base URL does not end in '/': {base!r}")
    return base + quote(article_path(slug))


def article_page(
    info: FeedInfo, entry: Entry, *, feed_links: Sequence[FeedLink], home_url: str
) -> bytes:
    """One article: title, dates, author, content, tags, a way home and the feeds."""
    parts = [
        f'<header class="site"><a href="{_href(home_url)}">{_text(info.title)}</a></header>',
        "<main>",
        "<article>",
        f'<h1 dir="auto">{_text(entry.title)}</h1>',
        _entry_meta(entry, author=entry.author or info.author),
    ]
    if entry.content_html is not None:
        parts.append(f'<div dir="auto">\n{_clean(entry.content_html)}\n</div>')
    if entry.tags:
        items = "".join(f'<li dir="auto">{_text(tag)}</li>' for tag in entry.tags)
        parts.append(f'<ul class="tags">{items}</ul>')
    parts += ["</article>", "</main>"]
    parts.append(_footer(feed_links, home=f'<a href="{_href(home_url)}">\u2190 All articles</a>'))
    return _document(
        lang=entry.language or info.language,
        title=f"{entry.title} \u2013 {info.title}",
        feed_links=feed_links,
        body=parts,
    )


def index_page(
    info: FeedInfo, entries: Sequence[Entry], *, feed_links: Sequence[FeedLink]
) -> bytes:
    """The site's front page: what the feed is, its entries as given, and the feeds."""
    parts = [
        "<header>",
        f'<h1 dir="auto">{_text(info.title)}</h1>',
        f'<p dir="auto">{_text(info.description)}</p>',
        "</header>",
        "<main>",
    ]
    parts += [_index_entry(entry, feed_language=info.language) for entry in entries]
    if not entries:
        parts.append("<p>Nothing published yet.</p>")
    parts.append("</main>")
    parts.append(_footer(feed_links, home=""))
    return _document(lang=info.language, title=info.title, feed_links=feed_links, body=parts)


def _index_entry(entry: Entry, *, feed_language: str) -> str:
    lang = ""
    if entry.language and entry.language != feed_language:
        lang = f' lang="{_text(entry.language)}"'
    title = _text(entry.title)
    if entry.link is not None:
        title = f'<a href="{_href(entry.link)}">{title}</a>'
    lines = [
        f"<article{lang}>",
        f'<h2 dir="auto">{title}</h2>',
        f'<p class="meta">{_time(entry.published)}</p>',
    ]
    if entry.summary is not None:
        lines.append(f'<p dir="auto">{_text(entry.summary)}</p>')
    lines.append("</article>")
    return "\n".join(lines)


def _entry_meta(entry: Entry, *, author: str) -> str:
    """Published, updated when it shows differently, and the author."""
    published = _time(entry.published)
    meta = [published]
    updated = _time(entry.updated)
    if updated != published:
        meta.append(f"updated {updated}")
    meta.append(f'<span dir="auto">{_text(author)}</span>')
    return f'<p class="meta">{_SEP.join(meta)}</p>'


def _footer(feed_links: Sequence[FeedLink], *, home: str) -> str:
    links = [f'<a href="{_href(link.href)}">{_text(link.title)}</a>' for link in feed_links]
    feeds = "Subscribe: " + _SEP.join(links) if links else ""
    inner = _SEP.join(part for part in (home, feeds) if part)
    return f"<footer><p>{inner}</p></footer>" if inner else ""


def _document(
    *, lang: str, title: str, feed_links: Sequence[FeedLink], body: Sequence[str]
) -> bytes:
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{_text(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}</title>",
    ]
    head += [
        f'<link rel="alternate" type="{_text(link.type)}" title="{_text(link.title)}"'
        f' href="{_href(link.href)}">'
        for link in feed_links
    ]
    head += [f"<style>\n{_STYLE}\n</style>", "</head>", "<body>"]
    lines = [*head, *(part for part in body if part), "</body>", "</html>", ""]
    return "\n".join(lines).encode("utf-8")


def _time(moment: datetime) -> str:
    """`<time>` in UTC: ISO 8601 to the second for machines, date and minute for people."""
    if moment.tzinfo is None:
        raise ValueError(f"pages: naive datetime: {moment!r}")
    utc = moment.astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return f'<time datetime="{utc.isoformat()}Z">{utc.date().isoformat()} {utc:%H:%M} UTC</time>'


def _href(url: str) -> str:
    """A URL for an attribute: escaped, and only http(s) or relative (never `javascript:`)."""
    cleaned = _clean(url)
    if urlsplit(cleaned).scheme.lower() not in _SAFE_SCHEMES:
        raise ValueError(f"pages: not an http(s) URL: {url!r}")
    return html.escape(cleaned, quote=True)


def _text(value: str) -> str:
    """Text from seeds or config, safe as element content and inside quoted attributes."""
    return html.escape(_clean(value), quote=True)


def _clean(value: str) -> str:
    return _UNPARSABLE.sub("", value) if _MAYBE_UNPARSABLE.search(value) else value
