"""Markdown seed bodies to safe HTML and plain-text summaries. Pure: no I/O, no clock.

CommonMark by markdown-it-py, with the two GFM extensions it ships (tables, strikethrough). Raw
HTML is allowed in the Markdown, and then the *whole* rendered HTML goes through nh3 (ammonia,
an HTML5 parser and sanitizer): only the tags and attributes below come out, and only http, https
and mailto URLs. What comes out is re-serialized by the parser, so it is well-formed, and it holds
nothing the W3C feed validator flags as a risk (every tag is in its list of acceptable elements;
no `on*`, no `style`). Relative links and images are made absolute against the article's URL,
because some feed readers ignore `xml:base`.
"""

from __future__ import annotations

import html
import re
from functools import partial
from itertools import pairwise
from urllib.parse import urljoin, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from feedpub.model import shorten

# "commonmark" allows raw HTML (`html: True`); the sanitizer below is what makes that safe.
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

#: Tags kept. Block and inline structure of articles, all in the feed validator's acceptable list.
#: Wrappers such as `div` and `section` are kept so that the text of two blocks never runs together.
TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code",
    "ul", "ol", "li", "dl", "dt", "dd", "figure", "img", "a",
    "em", "strong", "b", "i", "u", "s", "del", "ins", "sub", "sup", "small", "mark",
    "abbr", "cite", "dfn", "kbd", "samp", "var", "q", "time", "wbr", "span", "div",
    "section", "article", "aside", "header", "footer",
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
})  # fmt: skip
#: Attributes kept, per tag; "*" is every kept tag. No `id`, `class` (but code's `language-*`),
#: `style`, `on*`, `rel`, `target`, `srcset`, and no URL attribute other than a `href`, img `src`.
ATTRIBUTES = {
    "*": frozenset({"title", "lang"}),
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "td": frozenset({"colspan", "rowspan"}),
    "time": frozenset({"datetime"}),
    "code": frozenset({"class"}),
}
#: Table cell alignment, which markdown-it writes as a style attribute, is kept as `align`.
_ALIGN = frozenset({"left", "center", "right"})
_TAG_ATTRIBUTE_VALUES = {"th": {"align": _ALIGN}, "td": {"align": _ALIGN}}
#: Removed with everything inside them: their content is code, styling or a form, not text.
_DROPPED = frozenset({
    "script", "style", "template", "iframe", "object", "embed", "applet", "noscript",
    "noembed", "noframes", "xmp", "textarea", "select", "button", "svg", "math", "title",
    "form",
})  # fmt: skip
_URL_SCHEMES = {"a": frozenset({"http", "https", "mailto"}), "img": frozenset({"http", "https"})}
_SIZE = re.compile(r"[0-9]{1,5}")
_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+#.-]+")
# Characters XML 1.0 forbids (lxml raises on them), and those an HTML5 parser reports as errors: C0
# and C1 controls, lone surrogates and noncharacters. They are removed from the input (nh3 cannot
# take lone surrogates) and from the output (character references such as `&#1;` decode to them).
_UNFIT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)
    )
    + "]"
)


def markdown_html(text: str, *, base_url: str | None) -> str:
    """A Markdown body as sanitized HTML; "" when it shows nothing.

    With `base_url` (the article's absolute http(s) URL), relative `href` and `src` become
    absolute, fragments and queries included; with None, they are left as written.
    """
    if base_url is not None and not _is_http_url(base_url):
        raise ValueError(f"markdown: base URL is not an absolute http(s) URL: {base_url!r}")
    env: dict[str, object] = {}
    tokens = _MD.parse(_UNFIT.sub("", text), env)
    _align_cells(tokens)
    rendered = _MD.renderer.render(tokens, _MD.options, env)
    # Twice: the first pass can leave a tree no parser would build (dropping the `<x>` of
    # `<h1><x><h1>` nests two headings); the second re-parses that into one that round-trips
    # cleanly, so readers' parsers and the feed validator's see no error and the same tree.
    once = _sanitize(rendered, base_url)
    return _UNFIT.sub("", _sanitize(once, base_url)).strip()


def markdown_summary(text: str, limit: int = 300) -> str | None:
    """The first paragraph with text, as plain text cut at about `limit` characters; else None.

    Markup is stripped; images count as no text, so a leading picture gives way to the words.
    """
    tokens = _MD.parse(_UNFIT.sub("", text), {})
    for opening, inline in pairwise(tokens):
        if opening.type == "paragraph_open" and inline.type == "inline":
            plain = _text_content(_MD.renderer.render([inline], _MD.options, {}))
            if plain:
                return shorten(plain, limit)
    return None


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _sanitize(fragment: str, base_url: str | None) -> str:
    return nh3.clean(
        fragment,
        tags=TAGS,
        clean_content_tags=_DROPPED,
        attributes=ATTRIBUTES,
        tag_attribute_values=_TAG_ATTRIBUTE_VALUES,
        attribute_filter=partial(_filter_attribute, base_url),
        url_schemes=_URL_SCHEMES["a"],
        # None: no rel is added. These are the site owner's own links, and no `target` is allowed,
        # so there is no opener to protect; "noreferrer" would change where they send readers'
        # referrers without being asked to. Readers and browsers apply their own policies.
        link_rel=None,
    )


def _align_cells(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrGet("style")
            if isinstance(style, str) and style.startswith("text-align:"):
                token.attrs = {"align": style.removeprefix("text-align:")}


def _filter_attribute(base_url: str | None, tag: str, attribute: str, value: str) -> str | None:
    """nh3's last word on an allowed attribute: the value to write, or None to drop it."""
    if tag in _URL_SCHEMES and attribute in ("href", "src"):
        return _absolute(value, base_url, _URL_SCHEMES[tag])
    if attribute in ("width", "height"):
        return value if _SIZE.fullmatch(value) else None
    if attribute == "class":  # only on code: the fenced block's language, as CommonMark writes it
        return " ".join(name for name in value.split() if _LANGUAGE.fullmatch(name)) or None
    return value


def _absolute(url: str, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """`url` joined to `base_url` if it is relative; None unless its scheme is one of `schemes`.

    nh3 has already dropped absolute URLs of other schemes; the check here also covers what
    joining makes of a relative one, as Python reads it.
    """
    try:
        scheme = urlsplit(url).scheme
        if not scheme:
            if base_url is None:
                return url
            url = urljoin(base_url, url)
            scheme = urlsplit(url).scheme
    except ValueError:  # an unparsable authority such as `//[x`
        return None
    return url if scheme in schemes else None


def _text_content(fragment: str) -> str:
    """The text of an HTML fragment, whitespace collapsed; script and style content excluded."""
    text = html.unescape(nh3.clean(fragment, tags=set(), clean_content_tags=_DROPPED))
    return " ".join(_UNFIT.sub("", text).split())
