"""The seed format: date forms, titles, bodies, encodings, and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from dateutil import tz
from hypothesis import given
from hypothesis import strategies as st

from feedpub.errors import SeedError
from feedpub.model import Article
from feedpub.seeds import parse_seed

BERLIN = tz.gettz("Europe/Berlin")


def parse(text: str | bytes, **kwargs: object) -> Article:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_seed(data, source="seeds/x.txt", slug="x", **kwargs)  # type: ignore[arg-type]


GOOD_DATES = [
    ("2023-12-22", datetime(2023, 12, 22, tzinfo=UTC)),
    ("2023-12-22T09:30", datetime(2023, 12, 22, 9, 30, tzinfo=UTC)),
    ("2023-12-22T09:30:15", datetime(2023, 12, 22, 9, 30, 15, tzinfo=UTC)),
    ("2023-12-22T09:30:00+08:00", datetime(2023, 12, 22, 1, 30, tzinfo=UTC)),
    ("2023-12-22T01:30:00Z", datetime(2023, 12, 22, 1, 30, tzinfo=UTC)),
    ("2023-12-22T09:30:00.250-03:30", datetime(2023, 12, 22, 13, 0, 0, 250000, tzinfo=UTC)),
    ("2023-12-22T09:30+05:45", datetime(2023, 12, 22, 3, 45, tzinfo=UTC)),
    ("Fri, 22 Dec 2023 09:30:00 +0800", datetime(2023, 12, 22, 1, 30, tzinfo=UTC)),
    ("22 Dec 2023 09:30:00 +0800", datetime(2023, 12, 22, 1, 30, tzinfo=UTC)),
    ("Fri, 22 Dec 2023 09:30 GMT", datetime(2023, 12, 22, 9, 30, tzinfo=UTC)),
    ("Fri, 22 Dec 2023 09:30:00 UT", datetime(2023, 12, 22, 9, 30, tzinfo=UTC)),
    ("Fri, 22 Dec 2023 09:30:00 EST", datetime(2023, 12, 22, 14, 30, tzinfo=UTC)),
    ("Fri, 2 Jun 2023 09:30:00 PDT", datetime(2023, 6, 2, 16, 30, tzinfo=UTC)),
    ("1990-01-01T00:00Z", datetime(1990, 1, 1, tzinfo=UTC)),
    ("9999-12-31", datetime(9999, 12, 31, tzinfo=UTC)),
]


@pytest.mark.parametrize(("date", "expected"), GOOD_DATES)
def test_good_dates_are_read_exactly(date: str, expected: datetime) -> None:
    article = parse(f"date {date} The title\n\nBody.\n")
    assert article.published == expected
    assert article.title == "The title"


BAD_DATES = [
    "2023-02-30",
    "2023-13-01",
    "2023-12-22T24:61",
    "2023-12",
    "2023",
    "20231222",
    "yesterday",
    "2023-12-22T09:30:00+25:00",
    "Fri, 30 Feb 2023 09:30:00 +0000",
    "Fri, 22 Foo 2023 09:30:00 +0000",
    "Fri, 22 Dec 2023 09:30:00 XYZ",
    "Fri, 22 Dec 23 09:30:00 +0000",
    "0001-01-01T00:00+05:00",
    "0001-01-01",
    "1969-07-20T20:17Z",
    "1989-12-31T23:59:59Z",
    "1990-01-01T00:30+01:00",
]


@pytest.mark.parametrize("date", BAD_DATES)
def test_bad_date_names_file_and_line(date: str) -> None:
    with pytest.raises(SeedError) as caught:
        parse(f"date {date} The title\n\nBody.\n")
    assert str(caught.value).startswith("seeds/x.txt:1: ")
    assert "date" in caught.value.reason


def test_bad_date_message_shows_the_value() -> None:
    with pytest.raises(SeedError, match=r"^seeds/x.txt:1: bad date '2023-02-30'"):
        parse("date 2023-02-30 Title\n")


def test_no_field_is_filled_from_today() -> None:
    with pytest.raises(SeedError):
        parse("date 2024-03 Title\n")


def test_date_without_offset_is_in_the_configured_timezone() -> None:
    winter = parse("date 2023-12-22T09:30 Title\n", timezone=BERLIN)
    summer = parse("date 2023-06-22 Title\n", timezone=BERLIN)
    assert winter.published == datetime(2023, 12, 22, 8, 30, tzinfo=UTC)
    assert summer.published == datetime(2023, 6, 21, 22, 0, tzinfo=UTC)


def test_local_time_in_a_daylight_saving_gap_is_an_error() -> None:
    with pytest.raises(SeedError, match="no such local time"):
        parse("date 2023-03-26T02:30 Title\n", timezone=BERLIN)


@pytest.mark.parametrize(
    ("line", "zone", "reason"),
    [
        ("date 0001-01-01 Typo", "Europe/Berlin", "date out of range '0001-01-01'"),
        ("date 0001-01-01T00:30 Typo", "Asia/Tokyo", "date out of range '0001-01-01T00:30'"),
        ("date 9999-12-31T23:00 Late", "America/Los_Angeles", "date out of range"),
        ("date 0001-01-01 Typo", "America/New_York", "date before 1990"),
    ],
)
def test_a_local_time_that_utc_cannot_hold_is_an_error_naming_the_date(
    line: str, zone: str, reason: str
) -> None:
    with pytest.raises(SeedError, match=reason) as caught:
        parse(line + "\n", timezone=tz.gettz(zone))
    assert str(caught.value).startswith("seeds/x.txt:1: ")


def test_explicit_offset_wins_over_the_configured_timezone() -> None:
    article = parse("date 2023-12-22T09:30+02:00 Title\n", timezone=BERLIN)
    assert article.published == datetime(2023, 12, 22, 7, 30, tzinfo=UTC)
    assert article.published.utcoffset() == timedelta(0)
    assert article.published.tzinfo in (UTC, UTC)


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("date 2023-12-22 2024 plans", "2024 plans"),
        ("date 2023-12-22 10 Dec things", "10 Dec things"),
        ("date 2023-12-22 May the fourth", "May the fourth"),
        ("date Fri, 22 Dec 2023 09:30:00 +0000 22 Dec is a Friday", "22 Dec is a Friday"),
        ("date\t2023-12-22\t  Tabs   and spaces  ", "Tabs   and spaces"),
        ("Date 2023-12-22 Capitalised keyword", "Capitalised keyword"),
        ("DATE 2023-12-22 Upper-case keyword", "Upper-case keyword"),
    ],
)
def test_title_is_the_rest_of_the_line_trimmed(line: str, title: str) -> None:
    assert parse(line + "\n").title == title


def test_wrong_day_name_is_accepted_with_a_warning() -> None:
    article = parse("date Mon, 22 Dec 2023 09:30:00 +0000 Title\n")
    assert article.published == datetime(2023, 12, 22, 9, 30, tzinfo=UTC)
    assert "Mon" in article.warnings[0].reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty seed"),
        ("   \n\n\t\n", "empty seed"),
        ("2023-12-22 No keyword\n", "expected 'date <DATE> <TITLE>'"),
        ("title: x\ndate 2023-12-22 Later\n", "expected 'date <DATE> <TITLE>'"),
        ("date 2023-12-22\n\nBody\n", "missing title"),
        ("date 2023-12-22    \n", "missing title"),
        ("date\n", "expected 'date <DATE> <TITLE>'"),
        ("date 2023-12-22 Title\nNot blank\n", "expected 'key: value' or a blank line"),
    ],
)
def test_malformed_seeds_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(SeedError) as caught:
        parse(text)
    assert reason in caught.value.reason


def test_second_line_must_be_blank_names_line_two() -> None:
    with pytest.raises(SeedError) as caught:
        parse("date 2023-12-22 Title\nNot blank\n")
    assert caught.value.line == 2


def test_paragraphs_split_on_blank_lines_and_lines_join_with_a_space() -> None:
    article = parse("date 2023-12-22 T\n\none\ntwo\n\n\n  \nthree  \n   four\n\n")
    assert article.paragraphs == ("one two", "three four")


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbfdate 2023-12-22 T\n\nA\nB\n\nC\n",
        b"date 2023-12-22 T\r\n\r\nA\r\nB\r\n\r\nC\r\n",
        b"date 2023-12-22 T\r\rA\rB\r\rC\r",
        "date 2023-12-22 T\n\nA\nB\n\nC\n".encode("utf-16"),
    ],
    ids=["utf8-bom", "crlf", "cr", "utf16-bom"],
)
def test_bom_and_line_endings_give_the_same_article(data: bytes) -> None:
    article = parse(data)
    assert (article.title, article.paragraphs) == ("T", ("A B", "C"))


def test_title_only_seed_has_no_paragraphs_and_no_summary() -> None:
    article = parse("date 2023-12-22 Only a title\n")
    assert article.paragraphs == ()
    assert article.summary is None


def test_summary_is_the_first_paragraph_cut_on_a_word_boundary() -> None:
    words = " ".join(f"word{i}" for i in range(200))
    article = parse(f"date 2023-12-22 T\n\n{words}\n\nsecond\n")
    assert article.summary is not None
    assert article.summary.endswith("\u2026")
    assert 250 < len(article.summary) <= 301
    assert words.startswith(article.summary[:-1])
    assert article.summary[-2] != " "


def test_short_first_paragraph_is_the_whole_summary() -> None:
    assert parse("date 2023-12-22 T\n\nShort & sweet.\n\nMore.\n").summary == "Short & sweet."


def test_not_utf8_is_refused_with_the_byte_offset() -> None:
    data = "date 2023-12-22 Caf\u00e9\n\nsmart \u201cquotes\u201d\n".encode("cp1252")
    with pytest.raises(SeedError, match=r"not UTF-8: byte 0xe9 at offset 19"):
        parse(data)


def test_forbidden_characters_are_removed_with_a_warning() -> None:
    article = parse("date 2023-12-22 Ti\x00tle\x1b\n\nbo\x85dy\ufffe\n")
    assert article.title == "Title"
    assert article.paragraphs == ("body",)
    assert article.warnings
    assert "removed 4 character(s)" in article.warnings[0].reason


@pytest.mark.parametrize("noncharacter", ["\ufffe", "\uffff"])
def test_a_noncharacter_among_full_width_punctuation_is_removed(noncharacter: str) -> None:
    # U+FFFE and U+FFFF start with the byte 0xEF, as the full-width comma does: looked for in
    # the text when that byte is there, alone or beside the punctuation.
    for body in (f"\u4e2d\uff0c\u6587{noncharacter}", f"plain{noncharacter}"):
        article = parse(f"date 2023-12-22 T\n\n{body}\n")
        assert article.paragraphs == (body.replace(noncharacter, ""),)
        assert "removed 1 character(s)" in article.warnings[0].reason
        assert article.body_utf8 is None  # not the bytes as read


def test_full_width_punctuation_alone_is_no_warning() -> None:
    article = parse("date 2023-12-22 T\n\n\u4e2d\uff0c\u6587\uff01\n")
    assert article.warnings == ()
    assert article.body_utf8 == "\u4e2d\uff0c\u6587\uff01".encode()


def test_markup_and_emoji_are_kept_as_text() -> None:
    title = (
        'A & B <b>bold</b> "q" \u2019s \U0001f389 \u05e9\u05dc\u05d5\u05dd'
        " e\u0301 \U0001f469\u200d\U0001f4bb"
    )
    article = parse(f"date 2023-12-22 {title}\n\n]]> &amp; <script>x</script>\n")
    assert article.title == title
    assert article.paragraphs == ("]]> &amp; <script>x</script>",)


@given(st.text())
def test_any_text_gives_an_article_or_a_seed_error(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    try:
        article = parse(data)
    except SeedError as exc:
        error = exc
        assert (error.path, error.line >= 1, bool(error.reason)) == ("seeds/x.txt", True, True)
    else:
        assert article.title
        assert article.title == article.title.strip()
        assert article.published.tzinfo is not None


@given(st.text(), st.sampled_from(["2023-12-22", "Fri, 22 Dec 2023 09:30:00 +0000"]))
def test_any_title_after_a_good_date_parses(title: str, date: str) -> None:
    try:
        article = parse(f"date {date} {title}\n\nbody\n".encode("utf-8", "surrogatepass"))
    except SeedError as exc:
        error = exc
        assert error.reason
    else:
        assert article.title


_ISO_DIGITS = st.integers(0, 9999).map("{:04d}".format)
_TWO = st.integers(0, 99).map("{:02d}".format)
_ISO_TOKENS = st.one_of(
    st.builds("{}-{}-{}".format, _ISO_DIGITS, _TWO, _TWO),
    st.builds("{}-{}-{}T{}:{}:{}".format, _ISO_DIGITS, _TWO, _TWO, _TWO, _TWO, _TWO),
    st.builds(
        "{}-{}-{}T{}:{}:{}{}".format, _ISO_DIGITS, _TWO, _TWO, _TWO, _TWO, _TWO,
        st.one_of(st.just("Z"), st.builds("{}{}:{}".format, st.sampled_from("+-"), _TWO, _TWO)),
    ),
)  # fmt: skip


def _read_line(line: str, zone: object) -> object:
    """What parse_seed makes of a seed with `line` first: its date and title, or its error."""
    try:
        article = parse(f"{line}\n\nbody\n", timezone=zone)
    except SeedError as exc:
        return str(exc)
    return article.published, article.title, article.warnings


@given(_ISO_TOKENS, st.text(), st.sampled_from([UTC, BERLIN, timezone(timedelta(hours=-3))]))
def test_the_usual_date_line_reads_as_the_general_rules_read_it(
    token: str, title: str, zone: object
) -> None:
    # `date <token> <title>` with one space each side is read by a shorter path; a tab after
    # `date` sends the same line down the general one. Both must agree, errors included.
    usual = _read_line(f"date {token} {title}", zone)
    general = _read_line(f"date\t{token} {title}", zone)
    assert usual == general


@pytest.mark.parametrize(
    "line",
    [
        "date 2023-12-22 ",  # no title: the general rules say so
        "date 2023-12-22   \t",
        "date 2023-02-30 Title",
        "date 1989-12-31T23:59:59Z Title",
        "date \u0662\u0660\u0662\u0663-12-22 Arabic-Indic digits",
        "date 2023-12-22T09:30:00+25:00 Title",
        "date 2023-03-26T02:30:00 In the gap",
    ],
)
def test_usual_looking_lines_fail_as_the_general_rules_say(line: str) -> None:
    message = _read_line(line, BERLIN)
    assert isinstance(message, str)
    assert message.startswith("seeds/x.txt:1: ")
    assert message == _read_line(line.replace(" ", "\t", 1), BERLIN)


def test_headers_fill_the_optional_fields() -> None:
    article = parse(
        "date 2024-01-02 Title\n"
        "Author: Ann Author <ann@example.org>\n"
        "tags: News, release notes , news,  \n"
        "summary: Short & plain.\n"
        "link: https://example.org/posts/x.html\n"
        "lang: de-AT\n"
        "id: tag:example.org,2020:x\n"
        "\n"
        "Body.\n"
    )
    assert (article.author, article.author_email) == ("Ann Author", "ann@example.org")
    assert article.tags == ("News", "release notes", "news")
    assert article.summary == "Short & plain."
    assert article.link == "https://example.org/posts/x.html"
    assert article.language == "de-AT"
    assert article.pinned_id == "tag:example.org,2020:x"
    assert article.paragraphs == ("Body.",)


def test_author_without_email() -> None:
    article = parse("date 2024-01-02 T\nauthor: Ann\n")
    assert (article.author, article.author_email) == ("Ann", None)


def test_unknown_header_is_a_warning_naming_the_key() -> None:
    article = parse("date 2024-01-02 T\ncolour: blue\n\nBody.\n")
    (warning,) = article.warnings
    assert (warning.line, warning.reason) == (2, "unknown header 'colour' ignored")
    assert article.paragraphs == ("Body.",)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("author: ann@example.org", "bad author"),
        ("author: <ann@example.org>", "bad author"),
        ("link: /relative.html", "bad link"),
        ("link: javascript:alert(1)", "bad link"),
        ("lang: english please", "bad lang"),
        ("id: not an id", "bad id"),
        ("summary:", "bad summary"),
        ("no colon here", "expected 'key: value'"),
    ],
)
def test_bad_header_names_its_line(header: str, reason: str) -> None:
    with pytest.raises(SeedError) as caught:
        parse(f"date 2024-01-02 T\nlang: en\n{header}\n\nBody.\n")
    assert caught.value.line == 3
    assert reason in caught.value.reason


def test_markdown_seed_keeps_its_body_as_written() -> None:
    data = "date 2024-01-02 T\ntags: a\n\n# Heading\n\n* one\n* two\n\n"
    article = parse_seed(data.encode(), source="x.md", slug="x", markdown=True)
    assert article.markdown == "# Heading\n\n* one\n* two"
    assert article.paragraphs == ()
    assert article.tags == ("a",)
