"""Markdown bodies: CommonMark to sanitized HTML with absolute URLs, and plain-text summaries.

Every HTML check parses the output the way the W3C feed validator does (html5lib, strict: the first
parse error raises) and walks the tree, rather than looking for substrings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import html5lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from feedpub.markdown import ATTRIBUTES, TAGS, markdown_html, markdown_summary
from feedpub.model import Document, Entry, FeedInfo
from feedpub.render import render_atom

BASE = "https://example.org/feeds/articles/2024/launch.html"
ROOT = Path(__file__).resolve().parent.parent
# The W3C feed validator's HTMLValidator.acceptable_elements (src/feedvalidator/validators.py):
# any other element in a feed's HTML content is reported as a security risk.
VALIDATOR_ACCEPTABLE = frozenset({
    "a", "abbr", "acronym", "address", "area", "article", "aside", "audio", "b", "bdi", "big",
    "blockquote", "br", "button", "canvas", "caption", "center", "cite", "code", "col", "colgroup",
    "command", "data", "datagrid", "datalist", "dd", "del", "details", "dfn", "dialog", "dir",
    "div", "dl", "dt", "em", "eventsource", "fieldset", "figcaption", "figure", "footer", "font",
    "form", "header", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "hr", "i", "img", "input",
    "ins", "keygen", "kbd", "label", "legend", "li", "m", "main", "map", "mark", "menu", "meter",
    "multicol", "nav", "nextid", "ol", "output", "optgroup", "option", "p", "picture", "pre",
    "progress", "q", "rp", "rt", "ruby", "s", "samp", "section", "select", "small", "sound",
    "source", "spacer", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "template", "textarea", "time", "tfoot", "th", "thead", "tr", "track", "tt", "u", "ul",
    "var", "video", "noscript", "wbr",
})  # fmt: skip


def fragment(html: str) -> Element:
    """The fragment's tree, as the feed validator parses it: html5lib raises on any parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    root: Element = parser.parseFragment(html)
    return root


def render(text: str, base_url: str | None = BASE) -> Element:
    return fragment(markdown_html(text, base_url=base_url))


def elements(root: Element, tag: str | None = None) -> list[Element]:
    return [e for e in root.iter() if e is not root and (tag is None or e.tag == tag)]


def only(root: Element, tag: str) -> Element:
    found = elements(root, tag)
    assert len(found) == 1, (tag, [e.tag for e in elements(root)])
    return found[0]


def text(element: Element) -> str:
    return "".join(element.itertext())


def assert_safe(root: Element, *, base_url: str | None = BASE) -> None:
    """Only allowed tags and attributes; URLs absolute http(s) (mailto for links), when based."""
    for element in elements(root):
        assert isinstance(element.tag, str), "a comment or processing instruction"
        assert element.tag in TAGS, element.tag
        allowed = ATTRIBUTES["*"] | ATTRIBUTES.get(element.tag, frozenset()) | {"align"}
        for name in element.attrib:
            assert name in allowed, (element.tag, name)
            assert not name.lower().startswith("on"), name
        for name in ("href", "src"):
            url = element.get(name)
            if url is not None and base_url is not None:
                schemes = {"http", "https", "mailto"} if name == "href" else {"http", "https"}
                assert urlsplit(url).scheme in schemes, url


# Structure ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "tag", "shown"),
    [
        ("# Launch day", "h1", "Launch day"),
        ("###### Small print", "h6", "Small print"),
        ("Setext\n======", "h1", "Setext"),
        ("Some *emphasis* here", "em", "emphasis"),
        ("Some _emphasis_ here", "em", "emphasis"),
        ("Some **strong** words", "strong", "strong"),
        ("Some ~~struck~~ words", "s", "struck"),
        ("Call `main()` first", "code", "main()"),
        ("> Quoted words", "blockquote", "Quoted words"),
        ("Before\n\n---\n\nAfter", "hr", ""),
        ("Line one  \nline two", "br", ""),
    ],
)
def test_markdown_becomes_its_elements(markdown: str, tag: str, shown: str) -> None:
    root = render(markdown)
    assert text(only(root, tag)).strip() == shown
    assert_safe(root)


def test_lists_keep_their_items_and_start_number() -> None:
    root = render("- apples\n- pears\n\n3. three\n4. four\n   - nested")
    bullets, nested = elements(root, "ul")
    assert [text(li) for li in elements(bullets, "li")] == ["apples", "pears"]
    numbered = only(root, "ol")
    assert numbered.get("start") == "3"
    assert text(nested).strip() == "nested"
    assert_safe(root)


def test_paragraphs_are_separate_and_soft_breaks_join_lines() -> None:
    root = render("First line\nsame paragraph.\n\nSecond paragraph.")
    assert [text(p) for p in elements(root, "p")] == [
        "First line\nsame paragraph.",
        "Second paragraph.",
    ]


def test_code_shows_lt_and_amp_as_text() -> None:
    root = render("```\nif a < b && c > d: print('<b>&amp;</b>')\n```\n\nInline `x<y && <i>` too")
    block = only(root, "pre")
    assert text(block) == "if a < b && c > d: print('<b>&amp;</b>')\n"
    assert text(elements(root, "code")[1]) == "x<y && <i>"
    assert not elements(root, "b")
    assert not elements(root, "i")


def test_fenced_code_keeps_only_its_language_class() -> None:
    root = render('```python\npass\n```\n\n<code class="evil language-js x">y</code>')
    fenced, raw = elements(root, "code")
    assert fenced.get("class") == "language-python"
    assert raw.get("class") == "language-js"
    assert only(root, "p").get("class") is None


def test_tables_keep_cells_and_alignment_without_style() -> None:
    root = render("| Name | Count | Note |\n|:-----|------:|:----:|\n| a & b | 12 | ok |")
    headers = [(th.get("align"), text(th)) for th in elements(root, "th")]
    assert headers == [("left", "Name"), ("right", "Count"), ("center", "Note")]
    assert [text(td) for td in elements(root, "td")] == ["a & b", "12", "ok"]
    assert all(e.get("style") is None for e in elements(root))
    assert_safe(root)


def test_allowed_raw_html_stays() -> None:
    raw = (
        '<figure><img src="a.png" alt="A cat" width="640" height="480"></figure>\n\n'
        "H<sub>2</sub>O, E=mc<sup>2</sup>, <del>old</del> <ins>new</ins>, "
        '<abbr title="Atom">A</abbr>'
    )
    root = render(raw)
    image = only(only(root, "figure"), "img")
    assert dict(image.attrib) == {
        "src": "https://example.org/feeds/articles/2024/a.png",
        "alt": "A cat",
        "width": "640",
        "height": "480",
    }
    assert [text(only(root, tag)) for tag in ("sub", "sup", "del", "ins")] == [
        "2",
        "2",
        "old",
        "new",
    ]
    assert only(root, "abbr").get("title") == "Atom"
    assert_safe(root)


def test_image_sizes_must_be_numbers() -> None:
    image = only(render('<img src="a.png" width="100%" height="expression(alert(1))">'), "img")
    assert image.get("width") is None
    assert image.get("height") is None


def test_entities_are_decoded_once() -> None:
    assert text(only(render("&copy; &amp;amp; &lt;b&gt; AT&T"), "p")) == "© &amp; <b> AT&T"


@pytest.mark.parametrize("markdown", ["", "   \n\n\t\n", "<!-- only a comment -->"])
def test_no_content_is_an_empty_string(markdown: str) -> None:
    assert markdown_html(markdown, base_url=BASE) == ""


# Links and images -----------------------------------------------------------------------------

RELATIVE = [
    ("../img/a.png", "https://example.org/feeds/articles/img/a.png"),
    ("/abs.png", "https://example.org/abs.png"),
    ("#frag", "https://example.org/feeds/articles/2024/launch.html#frag"),
    ("?q=1", "https://example.org/feeds/articles/2024/launch.html?q=1"),
    ("other.html", "https://example.org/feeds/articles/2024/other.html"),
    ("//cdn.example.net/x.png", "https://cdn.example.net/x.png"),
    ("", "https://example.org/feeds/articles/2024/launch.html"),
]


@pytest.mark.parametrize(("url", "expected"), RELATIVE)
def test_relative_links_and_images_are_made_absolute(url: str, expected: str) -> None:
    markdown = f'[link](<{url}>) ![image](<{url}>)\n\n<a href="{url}">raw</a><img src="{url}">'
    root = render(markdown)
    assert [a.get("href") for a in elements(root, "a")] == [expected, expected]
    assert [img.get("src") for img in elements(root, "img")] == [expected, expected]


@pytest.mark.parametrize(
    "url",
    [
        "https://other.example/x?y=1#z",
        "http://other.example/",
        "mailto:someone@example.org",
    ],
)
def test_absolute_and_mailto_links_are_kept(url: str) -> None:
    root = render(f'[link]({url}) <a href="{url}">raw</a>')
    assert [a.get("href") for a in elements(root, "a")] == [url, url]


def test_an_image_from_mailto_is_dropped() -> None:
    assert only(render('<img src="mailto:x@example.org" alt="x">'), "img").get("src") is None


@pytest.mark.parametrize(("url", "_"), RELATIVE)
def test_without_base_url_relative_urls_are_left_as_written(url: str, _: str) -> None:
    root = render(f'[link](<{url}>) <img src="{url}">', base_url=None)
    assert only(root, "a").get("href") == url
    assert only(root, "img").get("src") == url


@pytest.mark.parametrize(
    "base_url", ["example.org/a.html", "/feeds/a.html", "ftp://example.org/a", "https:a.html"]
)
def test_a_base_url_must_be_absolute_http(base_url: str) -> None:
    with pytest.raises(ValueError, match="markdown: base URL is not an absolute http"):
        markdown_html("text", base_url=base_url)


def test_links_get_no_rel_and_no_target() -> None:
    link = only(render('<a href="x.html" target="_blank" rel="opener">x</a>'), "a")
    assert dict(link.attrib) == {"href": "https://example.org/feeds/articles/2024/x.html"}


# Hostile HTML ---------------------------------------------------------------------------------

DANGEROUS = {"script", "style", "iframe", "object", "embed", "form", "input", "button", "svg"}
DANGEROUS |= {"math", "meta", "base", "link", "textarea", "select", "template", "noscript"}


@pytest.mark.parametrize(
    ("markdown", "kept"),
    [
        ("<script>alert(1)</script>", ""),
        ("Text <script>alert(1)</script> more", "Text  more"),
        ('<img src=x onerror="alert(1)">', ""),
        ('<a href="javascript:alert(1)">j</a>', "j"),
        ('<a href="  JaVa&#x09;ScRiPt:alert(1)">j</a>', "j"),
        ('<a href="vbscript:msgbox(1)">v</a>', "v"),
        ("[md](javascript:alert(1))", "[md](javascript:alert(1))"),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">d</a>', "d"),
        ("![png](data:image/png;base64,iVBORw0KGgo=)", ""),
        ('<img src="data:image/svg+xml,<svg onload=alert(1)>">', ""),
        ('<iframe src="https://evil.example/"></iframe>', ""),
        ("<style>body { display: none }</style>", ""),
        ('<div style="position:fixed;inset:0" onclick="steal()">div</div>', "div"),
        ('<p onmouseover="x()" id="main" class="hero">p</p>', "p"),
        ("<svg onload=alert(1)><script>alert(1)</script><text>t</text></svg>", ""),
        ('<math><mi xlink:href="javascript:alert(1)">m</mi></math>', ""),
        ('<form action="https://evil.example/"><input name=q><button>Go</button></form>', ""),
        ('<object data="x.swf">fallback</object><embed src="x.swf">', ""),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example/">', ""),
        ('<base href="https://evil.example/"><link rel=stylesheet href="x.css">', ""),
        ("<template><p>later</p></template><noscript>ns</noscript>", ""),
        ("<textarea>t</textarea><select><option>o</option></select>", ""),
        ("<!-- c --><![CDATA[ cdata ]]>", ""),
        ("end ]]> of CDATA", "end ]]> of CDATA"),
        ("<p>]]></p>", "]]>"),
        (
            "nul &#0; one &#1; non &#xFFFE; half &#xD800;",
            "nul \ufffd one \ufffd non \ufffd half \ufffd",
        ),
        ("<p>&#1;&#x7f;&#x85;\x01\x0b\x7f\ud800</p>", "\u2026"),
        ('<a href="https://ok.example/" onclick="x()" style="color:red">ok</a>', "ok"),
    ],
)
def test_hostile_html_is_removed_or_neutralized(markdown: str, kept: str) -> None:
    html = markdown_html(markdown, base_url=BASE)
    root = fragment(html)
    assert_safe(root)
    assert not {e.tag for e in elements(root)} & DANGEROUS
    assert all(e.get("style") is None for e in elements(root))
    assert text(root).strip() == kept.strip()
    assert "alert" not in html.replace("(javascript:alert(1))", "")


@pytest.mark.parametrize(
    "markdown",
    [
        "<h1><isindex><h1>x",  # dropping the unknown element alone would nest two headings
        "<dd><summary><dd>x",  # html5lib and html5ever disagree on what closes a dd here
        "<dd><figcaption><dd>x",
        "<p><object><p>x</object>",
        "<table><tr><td>a<td>b</table><p>x",
        "<b><p>x</b>y</p>",
        "<a href=a><div><a href=b>x</a></div></a>",
        "<ul><li>a<li>b<dl><dt>t<dd>d</ul>",
    ],
)
def test_misnested_raw_html_comes_out_parseable_without_errors(markdown: str) -> None:
    assert_safe(render(markdown))  # fragment() raises on the first parse error


PIECES = [f"<{name}>" for name in sorted(TAGS | DANGEROUS | {"isindex", "font", "center", "p"})]
PIECES += [f"</{name}>" for name in sorted(TAGS | DANGEROUS)]
PIECES += [
    "x", " ", "\n", "\n\n", "- ", "1. ", "> ", "# ", "```\n", "    ", "*", "_", "`", "|", "---\n",
    "[", "](", ")", "![", "<!--", "-->", "&", "&#0;", "]]>", '<a href="javascript:x">',
    '<a href="../up">', '<img src="#f" onerror=x>', '<p style="x" onclick="y">', "<summary>",
    "<figcaption>", "<details>", "<marquee>", "<listing>", "<plaintext>", "<frameset>",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_any_markup_soup_comes_out_safe_and_parseable(pieces: list[str]) -> None:
    root = render("".join(pieces))
    assert_safe(root)


def test_allowed_tags_are_all_acceptable_to_the_feed_validator() -> None:
    assert TAGS <= VALIDATOR_ACCEPTABLE


def test_output_survives_an_atom_feed_as_text() -> None:
    html = markdown_html("end ]]> &#1; <b>bold</b> & `<code>`\n\n![i](../i.png)", base_url=BASE)
    moment = datetime(2024, 1, 2, tzinfo=UTC)
    info = FeedInfo(
        id="urn:uuid:00000000-0000-4000-8000-000000000001",
        title="T",
        description="D",
        site_url="https://example.org/",
        feed_url="https://example.org/feeds/",
        author="A",
    )
    entry = Entry(
        id="urn:uuid:00000000-0000-4000-8000-000000000002",
        title="E",
        published=moment,
        updated=moment,
        summary=None,
        content_html=html,
    )
    feed = etree.fromstring(render_atom(info, [entry], Document(info.feed_url + "atom.xml")))
    content = feed.find(".//{http://www.w3.org/2005/Atom}content")
    assert content is not None
    assert content.get("type") == "html"
    assert content.text == html


# Summary --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "summary"),
    [
        ("First *para*\nsecond   line.\n\nSecond para.", "First para second line."),
        ("# Heading\n\nBody text.", "Body text."),
        ("![Hero image](hero.png)\n\nThe words.", "The words."),
        ("Hello <script>alert(1)</script><b>world</b>", "Hello world"),
        ("a &amp; b &lt;c&gt; `x<y` \\*", "a & b <c> x<y *"),
        ("[A link](x.html) and [a ref][r].\n\n[r]: /y", "A link and a ref."),
        ("> Quoted first.\n\nThen prose.", "Quoted first."),
        ("- item one\n- item two", "item one"),
        ("tab\tand\u00a0nbsp  \n  next", "tab and nbsp next"),
        ("", None),
        ("   \n\n", None),
        ("# Only a heading", None),
        ("```\ncode only\n```", None),
        ("<div>raw HTML block</div>", None),
        ("![just a picture](p.png)", None),
        ("\x01\x02\x0b \ud800", None),
    ],
)
def test_summary_is_the_first_paragraph_as_plain_text(markdown: str, summary: str | None) -> None:
    assert markdown_summary(markdown) == summary


def test_summary_is_cut_on_a_word_boundary_with_an_ellipsis() -> None:
    markdown = " ".join(f"word{i}" for i in range(200))
    summary = markdown_summary(markdown)
    assert summary is not None
    assert summary.endswith("\u2026")
    assert len(summary) <= 301
    assert markdown.startswith(summary.removesuffix("\u2026"))
    assert markdown[len(summary) - 1] == " "
    assert markdown_summary("one two three", limit=8) == "one two\u2026"


# Determinism and big inputs -------------------------------------------------------------------

RICH = """# Title

Some *text* with [a link](../x.html "t"), ![img](/i.png), <b title="b" lang="en">raw</b>.

| a | b |
|:--|--:|
| 1 | 2 |

```py
x < y
```
"""


def test_same_input_same_output_across_processes() -> None:
    code = (
        "import sys; from feedpub.markdown import markdown_html; "
        f"sys.stdout.write(markdown_html(sys.stdin.read(), base_url={BASE!r}))"
    )
    outputs = {markdown_html(RICH, base_url=BASE), markdown_html(RICH, base_url=BASE)}
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], input=RICH, capture_output=True, text=True, env=env,
            cwd=ROOT, check=True,
        )  # fmt: skip
        outputs.add(done.stdout)
    assert len(outputs) == 1


def big_fragment(html: str) -> lxml_html.HtmlElement:
    """libxml2's HTML parser: html5lib, in pure Python, takes seconds on megabytes."""
    return lxml_html.fragment_fromstring(html, create_parent="div")


def test_a_one_mebibyte_paragraph_renders() -> None:
    words = "lorem ipsum *dolor* sit amet, [consectetur](../a.html) `a<b` elit &amp; sed do "
    markdown = words * ((1 << 20) // len(words)) + "THE-END"
    root = big_fragment(markdown_html(markdown, base_url=BASE))
    assert [child.tag for child in root] == ["p"]
    assert root.text_content().endswith("THE-END")
    assert root.findall(".//a")[-1].get("href") == "https://example.org/feeds/articles/a.html"
    summary = markdown_summary(markdown)
    assert summary is not None
    assert summary.startswith("lorem ipsum dolor sit amet, consectetur a<b elit & sed do lorem")
    assert summary.endswith("\u2026")


@pytest.mark.parametrize("unit", ["x", "ab *c* <i>d</i> "])
def test_a_hundred_thousand_character_line_renders(unit: str) -> None:
    markdown = unit * (100_000 // len(unit))
    root = big_fragment(markdown_html(markdown, base_url=BASE))
    assert [child.tag for child in root] == ["p"]
    assert (
        root.text_content()
        == markdown.replace("*", "").replace("<i>", "").replace("</i>", "").strip()
    )
