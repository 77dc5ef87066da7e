"""publisher.toml: load, validate, and create it on first use."""

from __future__ import annotations

import json
import logging
import re
import tomllib
import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from feedpub.errors import ConfigError
from feedpub.model import FORBIDDEN_CHARACTERS, is_http_url, is_language_tag

log = logging.getLogger(__name__)

CONFIG_NAME = "publisher.toml"
FORMATS = ("atom", "rss", "json")
STATE_DIR = ".publisher"
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@dataclass(frozen=True)
class Config:
    """A site's settings. Paths are absolute; URLs end with a slash."""

    root: Path
    feed_id: str
    title: str
    description: str
    base_url: str
    feed_url: str
    author: str
    author_email: str | None = None
    language: str = "en"
    timezone: str = "UTC"
    max_entries: int = 50
    seeds_dir: Path = field(default=Path("seeds"))
    feeds_dir: Path = field(default=Path("feeds"))
    link_template: str | None = None
    max_seed_bytes: int = 1 << 20
    formats: tuple[str, ...] = FORMATS
    pages: bool = True
    archives: bool = True
    archive_page_size: int = 100
    tombstones: bool = True
    tombstone_days: int = 30
    websub_hub: tuple[str, ...] = ()

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def tz(self) -> tzinfo:
        zone = find_zone(self.timezone)
        assert zone is not None, "validated on load"
        return zone


_STR_KEYS = {
    "title", "description", "base_url", "feed_url", "author", "author_email", "language",
    "timezone", "seeds_dir", "feeds_dir", "feed_id", "link_template",
}  # fmt: skip
_INT_KEYS = {"max_entries", "max_seed_bytes", "archive_page_size", "tombstone_days"}
_BOOL_KEYS = {"pages", "archives", "tombstones"}
_LIST_KEYS = {"formats", "websub_hub"}  # a string is taken as a list of one


def load_config(
    path: Path,
    *,
    seeds_dir: Path | None = None,
    feeds_dir: Path | None = None,
    mint: bool = True,
) -> Config:
    """Read and validate `path`; add a feed_id to it when it has none.

    Without `mint`, for commands that write nothing, a missing feed_id is made up for this run
    only: the file stays as it is.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    _check_keys(path, raw)
    if "feed_id" not in raw:
        raw["feed_id"] = _append_feed_id(path, text) if mint else _mint_feed_id()
    return _build(path, raw, seeds_dir=seeds_dir, feeds_dir=feeds_dir)


def create_config(path: Path) -> None:
    """Write a publisher.toml with sensible defaults and a freshly minted feed_id."""
    title = path.resolve().parent.name or "Feed"
    lines = [
        "# Settings of this site's feeds; see the README for every key.",
        f"title = {_toml_string(title)}",
        f"description = {_toml_string('Articles from ' + title)}",
        'base_url = "http://localhost:8000/"',
        f"author = {_toml_string(title)}",
        "# The feed's identity: keep it forever, or every reader shows every entry again.",
        f'feed_id = "{_mint_feed_id()}"',
    ]
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create: {exc}") from exc
    log.warning("created %s with default settings and a new feed_id; edit it to taste", path)


def _mint_feed_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _append_feed_id(path: Path, text: str) -> str:
    feed_id = _mint_feed_id()
    addition = (
        "" if text.endswith("\n") or not text else "\n"
    ) + f'feed_id = "{feed_id}"  # the feed\'s identity: never change it\n'
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(addition)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot add feed_id: {exc}") from exc
    log.warning("%s: added a new feed_id; keep it forever", path)
    return feed_id


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _check_keys(path: Path, raw: dict[str, Any]) -> None:
    for key, value in list(raw.items()):
        if key in _STR_KEYS:
            if not isinstance(value, str):
                raise ConfigError(f"{path}: {key}: expected a string, got {value!r}")
            if found := FORBIDDEN_CHARACTERS.search(value):
                raise ConfigError(
                    f"{path}: {key}: holds U+{ord(found.group()):04X}, which feeds cannot carry"
                )
        elif key in _INT_KEYS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{path}: {key}: expected a positive integer, got {value!r}")
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {key}: expected true or false, got {value!r}")
        elif key in _LIST_KEYS:
            if isinstance(value, str):
                raw[key] = [value]
            elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: {key}: expected a list of strings, got {value!r}")
        else:
            raise ConfigError(f"{path}: unknown key {key!r}")


def _build(
    path: Path, raw: dict[str, Any], *, seeds_dir: Path | None, feeds_dir: Path | None
) -> Config:
    root = path.resolve().parent
    title = raw.get("title") or root.name or "Feed"
    base_url = _url(path, "base_url", raw.get("base_url", "http://localhost:8000/"))
    config = Config(
        root=root,
        feed_id=_feed_id(path, raw["feed_id"]),
        title=title,
        description=raw.get("description") or title,
        base_url=base_url,
        feed_url=_url(path, "feed_url", raw.get("feed_url", base_url + "feeds/")),
        author=_author(path, raw.get("author") or title),
        author_email=_email(path, raw.get("author_email")),
        language=_language(path, raw.get("language", "en")),
        timezone=_timezone(path, raw.get("timezone", "UTC")),
        max_entries=raw.get("max_entries", 50),
        max_seed_bytes=raw.get("max_seed_bytes", 1 << 20),
        seeds_dir=seeds_dir.resolve() if seeds_dir else root / raw.get("seeds_dir", "seeds"),
        feeds_dir=feeds_dir.resolve() if feeds_dir else root / raw.get("feeds_dir", "feeds"),
        link_template=_link_template(path, raw.get("link_template")),
        formats=_formats(path, raw.get("formats", list(FORMATS))),
        pages=raw.get("pages", True),
        archives=raw.get("archives", True),
        archive_page_size=raw.get("archive_page_size", 100),
        tombstones=raw.get("tombstones", True),
        tombstone_days=raw.get("tombstone_days", 30),
        websub_hub=tuple(
            _absolute_url(path, "websub_hub", hub) for hub in raw.get("websub_hub", [])
        ),
    )
    if config.feeds_dir.resolve() == config.seeds_dir.resolve():
        raise ConfigError(f"{path}: feeds_dir: must not be the seeds folder")
    return config


def _url(path: Path, key: str, value: str) -> str:
    """An absolute http(s) URL of a folder: it gets a trailing slash."""
    value = _absolute_url(path, key, value)
    return value if value.endswith("/") else value + "/"


def _absolute_url(path: Path, key: str, value: str) -> str:
    if not is_http_url(value) or not value.isprintable():  # no tab, no control character
        raise ConfigError(f"{path}: {key}: not an absolute http(s) URL: {value!r}")
    return value


def _link_template(path: Path, value: str | None) -> str | None:
    if value is None:
        return None
    if value.count("{slug}") != 1 or value.replace("{slug}", "").count("{") > 0:
        raise ConfigError(f"{path}: link_template: needs exactly one {{slug}}: {value!r}")
    _url(path, "link_template", value.replace("{slug}", "x"))
    return value


def _formats(path: Path, value: list[str]) -> tuple[str, ...]:
    unknown = [name for name in value if name not in FORMATS]
    if unknown or not value:
        raise ConfigError(f"{path}: formats: expected some of {list(FORMATS)}, got {value!r}")
    return tuple(name for name in FORMATS if name in value)


def _feed_id(path: Path, value: str) -> str:
    try:
        return f"urn:uuid:{uuid.UUID(value.removeprefix('urn:uuid:'))}"
    except ValueError:
        raise ConfigError(f"{path}: feed_id: not a urn:uuid: {value!r}") from None


def _author(path: Path, value: str) -> str:
    if "@" in value or "<" in value or not value.strip():
        raise ConfigError(
            f"{path}: author: a name without an e-mail address (use author_email): {value!r}"
        )
    return value.strip()


def _email(path: Path, value: str | None) -> str | None:
    if value is not None and not _EMAIL.fullmatch(value):
        raise ConfigError(f"{path}: author_email: not an e-mail address: {value!r}")
    return value


def _language(path: Path, value: str) -> str:
    if not is_language_tag(value):
        raise ConfigError(f"{path}: language: not a language tag: {value!r}")
    return value


def find_zone(name: str) -> tzinfo | None:
    """The time zone `name` names, or None: an IANA name, or a POSIX TZ string such as 'JST-9'.

    zoneinfo reads the same tz database that dateutil.tz does and imports in a fraction of the
    time; dateutil (imported only then) still reads the TZ strings it always accepted here.
    """
    if name == "UTC":
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        from dateutil import tz as dateutil_tz

        zone: tzinfo | None = dateutil_tz.gettz(name)
        return zone


def _timezone(path: Path, value: str) -> str:
    # An IANA name only: dateutil would also open a file named by an absolute path.
    if not _ZONE_NAME.fullmatch(value) or ".." in value or find_zone(value) is None:
        raise ConfigError(f"{path}: timezone: unknown time zone {value!r}")
    return value
