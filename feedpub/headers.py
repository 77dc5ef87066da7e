"""What HTTP says of a file in feeds/: type, cache lifetime, gzip, conditional GET.

RFC 9110's rules as `publisher serve` applies them. Pure: no socket, no file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath

SHORT_CACHE = "public, max-age=60"  # subscription documents and pages: readers see news soon
# Full archive pages change only when one of their entries is edited or withdrawn: a week, and no
# `immutable`, so that such a change still reaches readers.
LONG_CACHE = "public, max-age=604800"
ARCHIVE_DIR = "archive"

_BY_SUFFIX = {
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
}
_ATOM = "application/atom+xml; charset=utf-8"
_RSS = "application/rss+xml; charset=utf-8"
_BINARY = "application/octet-stream"
COMPRESSIBLE = frozenset({_ATOM, _RSS, *_BY_SUFFIX.values()})
_ARCHIVE_PAGE = re.compile(r"([1-9][0-9]{0,17})\.(.+)", re.DOTALL)
_QUOTED_TAG = re.compile(r'(?:W/)?"([^"]*)"')


def content_type(name: str) -> str:
    """The Content-Type of a file in feeds/, from its name."""
    name = name.lower()
    if name == "atom.xml" or name.endswith(".atom.xml"):
        return _ATOM
    if name == "rss.xml" or name.endswith(".rss.xml"):
        return _RSS
    return _BY_SUFFIX.get(PurePosixPath(name).suffix, _BINARY)


def cache_control(rel: PurePosixPath, siblings: Callable[[], Iterable[str]]) -> str:
    """The Cache-Control of the file at `rel` in feeds/; `siblings` lists the names beside it.

    Archive pages are `archive/<N>.<rest>`, N a positive integer. The newest page is still
    filling, and while the archive is young the first page fills while an empty second one
    already exists; so a page counts as full when a page at least two numbers higher and with the
    same <rest> exists. Full pages may be cached for a week; everything else for a minute.
    """
    page = _ARCHIVE_PAGE.fullmatch(rel.name)
    if page is None or rel.parent != PurePosixPath(ARCHIVE_DIR):
        return SHORT_CACHE
    number, rest = int(page[1]), page[2]
    for name in siblings():
        other = _ARCHIVE_PAGE.fullmatch(name)
        if other is not None and other[2] == rest and int(other[1]) > number + 1:
            return LONG_CACHE
    return SHORT_CACHE


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding value allows gzip (RFC 9110, 12.5.3); q=0 refuses it."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        weights.setdefault(coding.strip().lower(), _qvalue(params))
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def _qvalue(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0  # unreadable: identity is always acceptable, so refuse the coding
    return 1.0


def is_not_modified(
    if_none_match: str | None, if_modified_since: str | None, *, etag: str, mtime: float
) -> bool:
    """Whether a GET or HEAD with these validators gets 304 (RFC 9110, 13.1.2 and 13.1.3).

    If-None-Match wins when present, compared weakly; If-Modified-Since counts only without it,
    and a value that is not an HTTP date is ignored.
    """
    if if_none_match is not None:
        tags = _QUOTED_TAG.findall(if_none_match)
        return if_none_match.strip() == "*" or etag.strip('"') in tags
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    if since.tzinfo is None:  # "-0000": an HTTP date is UTC all the same
        since = since.replace(tzinfo=UTC)
    return int(mtime) <= since.timestamp()
