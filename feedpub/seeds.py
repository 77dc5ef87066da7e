"""Seed text to Article. Pure: no open(), no clock.

A seed is `date <DATE> <TITLE>`, a blank line, then paragraphs separated by blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from datetime import timezone as fixed_offset  # `timezone` is a parameter's name below
from typing import Any

from feedpub.errors import SeedError
from feedpub.model import (
    FORBIDDEN_CHARACTERS,
    Article,
    Problem,
    is_http_url,
    is_language_tag,
)

#: Feed validators flag any date before this as implausible, and some readers drop such entries.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
#: HTML tags a Markdown seed may hold (raw, or in code: counting is cheaper than parsing).
MAX_MARKDOWN_TAGS = 5000
_HTML_TAG = re.compile(r"<[A-Za-z/!?]")
_DATE_LINE = re.compile(r"date[ \t]+(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?"
)
# The usual date line, `date 2024-05-01 Title` or `date 2024-05-01T09:30:00+02:00 Title`: one
# space after `date` and after the date, ASCII digits. Any other is read by the general rules.
_USUAL_DATE_LINE = re.compile(
    r"date (?P<token>[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})?)?) "
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ZONES = {
    "ut": 0, "gmt": 0, "z": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip
_RFC2822 = re.compile(
    r"(?:(?P<dow>[A-Za-z]{3}),[ \t]*)?"
    r"(?P<day>\d{1,2})[ \t]+(?P<mon>[A-Za-z]{3})[ \t]+(?P<year>\d{4})[ \t]+"
    r"(?P<hh>\d{2}):(?P<mm>\d{2})(?::(?P<ss>\d{2}))?[ \t]+"
    r"(?P<zone>[+-]\d{4}|[A-Za-z]{1,3})(?=[ \t]|$)"
)
_HEADER = re.compile(r"(?P<key>[A-Za-z][A-Za-z0-9_-]*)[ \t]*:(?P<value>.*)")
_EMAIL = re.compile(r"[^<>@\s]+@[^<>@\s]+")
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+")
_LOOKS_RFC = re.compile(r"([A-Za-z]{3},|\d{1,2}[ \t]+[A-Za-z]{3}[ \t])")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BOMS = (_UTF8_BOM, *_UTF16_BOMS)
_FORBIDDEN_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r") + b"\x7f"


def parse_seed(
    data: bytes, *, source: str, slug: str, timezone: tzinfo = UTC, markdown: bool = False
) -> Article:
    """Parse one seed's bytes; SeedError names `source` and the line of what can't be read.

    A Markdown seed keeps its body as written (`Article.markdown`), and so does a text seed
    (`Article.body`): its paragraphs are split when they are shown.
    """
    text, warnings = decode(data, source=source)
    # The text is the bytes decoded as they are: no BOM dropped, no line end or character
    # changed (a removal is a warning). Then the body's bytes can be stored as they are.
    verbatim = not warnings and b"\r" not in data and not data.startswith(_BOMS)
    end = text.find("\n")  # indexes, not slices: the text is kilobytes, each slice a copy
    first = text if end < 0 else text[:end]
    title, published, date_warnings = parse_date_line(first, source=source, timezone=timezone)
    warnings += date_warnings
    lines, start = _split_headers(text, len(text) if end < 0 else end + 1)
    body = text[start:]
    headers = parse_headers(lines, source=source, warnings=warnings)
    if markdown:
        _check_tags(body, source=source, first_line=len(lines) + 2)
    stripped = "" if markdown else body.strip()
    return Article(
        slug=slug,
        title=title,
        published=published,
        body=stripped,
        markdown=(body.strip("\n") or None) if markdown else None,
        warnings=tuple(warnings),
        body_utf8=_bytes_of(stripped, start, text, data) if stripped and verbatim else None,
        **headers,
    )


def _bytes_of(stripped: str, start: int, text: str, data: bytes) -> bytes:
    """The bytes of `stripped`, the text from `start` on stripped, `text` being `data` decoded.

    Only the text around it is encoded again: a few lines at most, where the body is kilobytes.
    """
    start = text.find(stripped[0], start)  # its first character: only spaces come before it
    head = len(text[:start].encode("utf-8", "surrogatepass"))
    tail = len(text[start + len(stripped) :].encode("utf-8", "surrogatepass"))
    return data[head : len(data) - tail]


def _split_headers(text: str, start: int) -> tuple[list[str], int]:
    """The header lines from `start` up to the first blank line, and where that blank line starts.

    Found line by line from the top: the body, most of the seed, is not split into lines.
    """
    headers: list[str] = []
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        line = text[start:end]
        if not line.strip():
            return headers, start
        headers.append(line)
        start = end + 1
    return headers, len(text)


def _check_tags(body: str, *, source: str, first_line: int) -> None:
    """Refuse a Markdown body with more HTML tags than the sanitizer can take in good time.

    The HTML5 parser behind the sanitizer takes quadratic time (or worse) on deeply nested or
    misnested elements: a megabyte of `<div>` would take hours. Articles hold far fewer tags.
    """
    for count, tag in enumerate(_HTML_TAG.finditer(body), 1):
        if count > MAX_MARKDOWN_TAGS:
            line = first_line + body.count("\n", 0, tag.start())
            reason = f"more than {MAX_MARKDOWN_TAGS} HTML tags: too many to sanitize in time"
            raise SeedError(source, line, reason)


def parse_headers(lines: list[str], *, source: str, warnings: list[Problem]) -> dict[str, Any]:
    """`key: value` lines between the date line and the first blank line."""
    fields: dict[str, Any] = {}
    unknown: set[str] = set()
    for number, line in enumerate(lines, 2):
        match = _HEADER.fullmatch(line.strip())
        if not match:
            raise SeedError(
                source, number, f"expected 'key: value' or a blank line, found {line[:60]!r}"
            )
        key, value = match["key"].lower(), match["value"].strip()
        reader = _HEADER_READERS.get(key)
        if reader is None:
            if key not in unknown:  # once a key: a seed of a million such lines is one warning
                unknown.add(key)
                warnings.append(Problem(source, number, f"unknown header {key!r} ignored"))
            continue
        try:
            fields.update(reader(value))
        except ValueError as exc:
            raise SeedError(source, number, f"bad {key} {value!r}: {exc}") from None
    return fields


def _author(value: str) -> dict[str, Any]:
    # Split at the last '<' first: one regular expression over the whole value backtracks in
    # quadratic time over a long run of spaces, and a seed may hold a megabyte of them.
    name, bracket, rest = value.rpartition("<") if value.endswith(">") else (value, "", "")
    email = _EMAIL.fullmatch(rest[:-1]) if bracket else None
    name = name.strip()
    if (bracket and not email) or not name or any(c in name for c in "<>@"):
        raise ValueError("expected 'Name' or 'Name <email>'")
    return {"author": name, "author_email": email.group() if email else None}


def _tags(value: str) -> dict[str, Any]:
    tags = dict.fromkeys(tag.strip() for tag in value.split(",") if tag.strip())
    return {"tags": tuple(tags)}


def _summary(value: str) -> dict[str, Any]:
    if not value:
        raise ValueError("empty")
    return {"summary_text": value}


def _link(value: str) -> dict[str, Any]:
    if not is_http_url(value):
        raise ValueError("not an absolute http(s) URL")
    return {"link": value}


def _lang(value: str) -> dict[str, Any]:
    if not is_language_tag(value):
        raise ValueError("not a language tag")
    return {"language": value}


def _id(value: str) -> dict[str, Any]:
    if not _IRI.fullmatch(value):
        raise ValueError("an id is a URI such as 'urn:uuid:...' or 'tag:example.org,2024:x'")
    return {"pinned_id": value}


_HEADER_READERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "author": _author,
    "tags": _tags,
    "summary": _summary,
    "link": _link,
    "lang": _lang,
    "id": _id,
}


def decode(data: bytes, *, source: str) -> tuple[str, list[Problem]]:
    """Bytes to text with `\\n` line ends; forbidden characters removed, each removal a warning.

    UTF-8 (a BOM allowed) or UTF-16 with a BOM. Anything else is refused at its first bad byte,
    with the byte's offset in the file: binary files end there too, quickly. Surrogates, which
    some tools write into UTF-8 (CESU-8) or UTF-16 alone, are forbidden characters like NUL.
    """
    if data.startswith(_UTF16_BOMS):
        text = _decode_utf16(data, source=source)
    else:
        bom = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
        try:
            text = data[bom:].decode("utf-8", errors="surrogatepass")
        except UnicodeDecodeError as exc:
            offset = bom + exc.start
            line = data.count(b"\n", 0, offset) + 1
            reason = f"not UTF-8: byte 0x{data[offset]:02x} at offset {offset}"
            raise SeedError(source, line, reason) from None
    if b"\r" in data and "\r" in text:  # a CR is that byte in UTF-8 and UTF-16: memchr first
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    warnings: list[Problem] = []
    found = FORBIDDEN_CHARACTERS.search(text) if _may_be_forbidden(data, text) else None
    if found:
        line = text.count("\n", 0, found.start()) + 1
        count = len(FORBIDDEN_CHARACTERS.findall(text))
        reason = f"removed {count} character(s) not allowed in feeds, first {found.group()!r}"
        warnings.append(Problem(source, line, reason))
        text = FORBIDDEN_CHARACTERS.sub("", text)
    if not text or text.isspace():  # isspace stops at the first letter; strip would copy
        raise SeedError(source, 1, "empty seed")
    return text, warnings


def _may_be_forbidden(data: bytes, text: str) -> bool:
    """Whether `text`, decoded from `data`, may hold a forbidden character: a quick look.

    A C0 control or DEL is that byte in UTF-8; a C1 control starts with 0xC2, a surrogate with
    0xED, U+FFFE and U+FFFF with 0xEF. 0xEF starts the full-width forms of CJK punctuation
    too: then those two are looked for in the text. Most seeds have none of these, and skip
    the slower search.
    """
    if data[:2] in _UTF16_BOMS or len(data.translate(None, _FORBIDDEN_BYTES)) != len(data):
        return True
    if text.isascii():
        return False
    if b"\xc2" in data or b"\xed" in data:
        return True
    return b"\xef" in data and ("\ufffe" in text or "\uffff" in text)


def _decode_utf16(data: bytes, *, source: str) -> str:
    try:
        return data.decode("utf-16", errors="surrogatepass")
    except UnicodeDecodeError as exc:
        raise SeedError(source, 1, f"bad UTF-16 at offset {exc.start}: {exc.reason}") from None


def parse_date_line(
    line: str, *, source: str, timezone: tzinfo = UTC
) -> tuple[str, datetime, list[Problem]]:
    """`date <DATE> <TITLE>` to (title, published in UTC, warnings)."""
    usual = _USUAL_DATE_LINE.match(line)
    title = line[usual.end() :].strip() if usual else ""
    if usual and title:  # what the general reading below makes of it, with fewer looks
        token: str = usual["token"]
        warnings: list[Problem] = []
        moment = _parse_iso(token, source=source, timezone=timezone, checked=True)
    else:
        token, title, moment, warnings = _read_date_line(line, source=source, timezone=timezone)
    try:
        published = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise SeedError(source, 1, f"date out of range {token!r}") from None
    if published < EARLIEST:
        raise SeedError(source, 1, f"date before 1990 {token!r}: readers take it for a mistake")
    return title, published, warnings


def _read_date_line(
    line: str, *, source: str, timezone: tzinfo
) -> tuple[str, str, datetime, list[Problem]]:
    """Any date line: (its first word after `date`, title, moment as written, warnings)."""
    match = _DATE_LINE.fullmatch(line.strip())
    if not match:
        shown = line.strip()[:60]
        raise SeedError(source, 1, f"expected 'date <DATE> <TITLE>', found {shown!r}")
    rest = match["rest"]
    word, *tail = rest.split(maxsplit=1)  # the date, when it is ISO; messages name it either way
    warnings: list[Problem] = []
    if _LOOKS_RFC.match(rest):
        moment, title, warning = _parse_rfc2822(rest, source=source)
        if warning:
            warnings.append(Problem(source, 1, warning))
    else:
        title = tail[0] if tail else ""
        moment = _parse_iso(word, source=source, timezone=timezone)
    title = title.strip()
    if not title:
        raise SeedError(source, 1, "missing title after the date")
    return word, title, moment, warnings


def _parse_iso(token: str, *, source: str, timezone: tzinfo, checked: bool = False) -> datetime:
    """`checked`: the token is known to match _ISO, with an upper-case T and Z."""
    if not checked and not _ISO.fullmatch(token):
        raise SeedError(source, 1, f"bad date {token!r}")
    try:
        # A date alone is its midnight; fromisoformat refuses a lower-case t or z.
        moment = datetime.fromisoformat(token if checked else token.upper())
    except ValueError as exc:
        raise SeedError(source, 1, f"bad date {token!r} ({exc})") from None
    if moment.tzinfo is None:
        moment = datetime.combine(moment, moment.time(), timezone)  # a third of replace()'s time
        if not isinstance(timezone, fixed_offset) and not _exists(moment):  # UTC has no gap
            raise SeedError(
                source, 1, f"bad date {token!r} (no such local time: a daylight-saving gap)"
            )
    return moment


def _exists(moment: datetime) -> bool:
    """Whether a local time exists (is not in a daylight-saving gap): a round trip keeps it.

    A time that UTC cannot hold (year 1 east of Greenwich) passes here: its caller refuses it.
    """
    try:
        back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    except (OverflowError, ValueError):
        return True
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _parse_rfc2822(rest: str, *, source: str) -> tuple[datetime, str, str | None]:
    match = _RFC2822.match(rest)
    shown = " ".join(rest.split()[:6])
    if not match:
        raise SeedError(source, 1, f"bad date {shown!r}")
    shown = match.group().strip()
    month = match["mon"].lower()
    zone = match["zone"]
    if month not in _MONTHS:
        raise SeedError(source, 1, f"bad date {shown!r} (unknown month {match['mon']!r})")
    if zone[0] in "+-":
        sign = -1 if zone[0] == "-" else 1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    elif zone.lower() in _ZONES:
        offset = timedelta(hours=_ZONES[zone.lower()])
    else:
        raise SeedError(source, 1, f"bad date {shown!r} (unknown time zone {zone!r})")
    try:
        moment = datetime(
            int(match["year"]),
            _MONTHS.index(month) + 1,
            int(match["day"]),
            int(match["hh"]),
            int(match["mm"]),
            int(match["ss"] or 0),
            tzinfo=timezone(offset),
        )
    except ValueError as exc:
        raise SeedError(source, 1, f"bad date {shown!r} ({exc})") from None
    warning = None
    dow = match["dow"]
    if dow and dow.lower() != _DAYS[moment.weekday()]:
        if dow.lower() not in _DAYS:
            raise SeedError(source, 1, f"bad date {shown!r} (unknown day name {dow!r})")
        actual = moment.strftime("%A")
        warning = f"day name {dow!r} does not match {moment.date()}, a {actual}; the date is used"
    return moment, rest[match.end() :], warning
