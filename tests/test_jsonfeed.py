"""JSON Feed 1.1: the renderer's output, and the schema (written from the spec) that checks it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from lxml import etree

from feedpub.jsonfeed import render_json, rfc3339
from feedpub.model import Document, Entry, FeedInfo, entry_id
from feedpub.render import render_atom

SCHEMA_PATH = Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json"
FEED_ID = "urn:uuid:2f0c3b5e-7d4a-4c1e-9a6b-1f2e3d4c5b6a"
FEED_URL = "https://example.org/feeds/feed.json"
FIXED = datetime(2024, 3, 1, 12, 30, 45, tzinfo=UTC)
HOSTILE = (
    '<script>alert("x")</script> & \'quotes\' "double" back\\slash \\u0041 \\n '
    "emoji \U0001f600\U0001f469\u200d\U0001f4bb line\u2028sep para\u2029sep "
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202eoverride\u202c </p>]]>"
)

INFO = FeedInfo(
    id=FEED_ID,
    title="Example site",
    description="Notes from the example site",
    site_url="https://example.org/",
    feed_url="https://example.org/feeds/",
    author="Ada Lovelace",
)


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def make_entry(slug: str, **changes: Any) -> Entry:
    entry = Entry(
        id=entry_id(FEED_ID, slug),
        title=f"Title of {slug}",
        published=FIXED,
        updated=FIXED + timedelta(hours=1),
        summary=f"Summary of {slug}",
        content_html=f"<p>Body of {slug}</p>",
        link=f"https://example.org/{slug}/",
        slug=slug,
    )
    return replace(entry, **changes)


def render(entries: Sequence[Entry], info: FeedInfo = INFO) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_json(info, entries, feed_url=FEED_URL))
    return document


def assert_valid(validator: Draft202012Validator, document: object) -> None:
    errors = [error.message for error in validator.iter_errors(document)]
    assert errors == []


# The renderer


def test_small_feed_renders_these_exact_bytes() -> None:
    entry = make_entry("first", published=FIXED.replace(microsecond=250000), tags=("a", "b"))
    expected = f"""\
{{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Example site",
  "home_page_url": "https://example.org/",
  "feed_url": "{FEED_URL}",
  "description": "Notes from the example site",
  "authors": [
    {{
      "name": "Ada Lovelace"
    }}
  ],
  "language": "en",
  "items": [
    {{
      "id": "{entry.id}",
      "url": "https://example.org/first/",
      "title": "Title of first",
      "content_html": "<p>Body of first</p>",
      "summary": "Summary of first",
      "date_published": "2024-03-01T12:30:45.250000+00:00",
      "date_modified": "2024-03-01T13:30:45+00:00",
      "authors": [
        {{
          "name": "Ada Lovelace"
        }}
      ],
      "tags": [
        "a",
        "b"
      ]
    }}
  ]
}}
"""
    assert render_json(INFO, [entry], feed_url=FEED_URL) == expected.encode("utf-8")


def test_full_feed_is_valid_per_schema(validator: Draft202012Validator) -> None:
    info = replace(INFO, author_email="ada@example.org", hubs=("https://hub.example.net/",))
    entries = [
        make_entry("plain"),
        make_entry("rich", author="Grace Hopper", author_email="grace+feeds@example.com"),
        make_entry("tagged", tags=("python", "feeds"), language="fr-CA"),
        make_entry("linkless", link=None),
        make_entry("bare", content_html=None, summary=None, link=None),
    ]
    assert_valid(validator, render(entries, info))


def test_ids_are_the_entries_ids_in_order() -> None:
    entries = [make_entry(slug) for slug in ("c", "a", "b")]
    assert [item["id"] for item in render(entries)["items"]] == [e.id for e in entries]


def test_ids_are_the_same_as_in_the_atom_feed() -> None:
    entries = [make_entry(slug) for slug in ("one", "two", "three")]
    document = Document(self_url=INFO.feed_url + "atom.xml")
    atom = etree.fromstring(render_atom(INFO, entries, document))
    atom_ids = atom.xpath("//a:entry/a:id/text()", namespaces={"a": "http://www.w3.org/2005/Atom"})
    assert [item["id"] for item in render(entries)["items"]] == atom_ids


def test_hostile_text_round_trips_exactly(validator: Draft202012Validator) -> None:
    info = replace(INFO, title=HOSTILE, description=HOSTILE, author=HOSTILE)
    entry = make_entry(
        "hostile",
        title=HOSTILE,
        summary=HOSTILE,
        content_html=HOSTILE,
        author=HOSTILE,
        tags=(HOSTILE, "plain"),
    )
    document = render([entry, make_entry("bare", title=HOSTILE, content_html=None)], info)
    item, bare = document["items"]
    assert document["title"] == document["description"] == HOSTILE
    assert document["authors"] == [{"name": HOSTILE}]
    assert item["title"] == item["summary"] == item["content_html"] == HOSTILE
    assert item["authors"] == [{"name": HOSTILE}]
    assert item["tags"] == [HOSTILE, "plain"]
    assert bare["title"] == bare["content_text"] == HOSTILE
    assert bare["authors"] == [{"name": HOSTILE}]
    assert_valid(validator, document)


def test_output_is_utf8_with_text_unescaped_and_one_trailing_newline() -> None:
    data = render_json(INFO, [make_entry("x", title="caf\u00e9 \U0001f600")], feed_url=FEED_URL)
    assert "caf\u00e9 \U0001f600".encode() in data
    assert data.endswith(b"}\n")
    assert not data.endswith(b"\n\n")
    assert b"null" not in data


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # what seeds can hold


@given(title=TEXT, body=TEXT, tags=st.lists(TEXT, max_size=3), feed_title=TEXT)
def test_bytes_are_those_the_standard_library_writes(
    title: str, body: str, tags: list[str], feed_title: str
) -> None:
    info = replace(INFO, title=feed_title or "t", hubs=("https://hub.example.net/",))
    entries = [make_entry("a", title=title, content_html=body or None, tags=tuple(tags))]
    entries.append(make_entry("b"))
    data = render_json(info, entries, feed_url=FEED_URL)

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise orjson.JSONEncodeError("refused")

    with pytest.MonkeyPatch.context() as patch:  # the standard library's path, as before orjson
        patch.setattr(orjson, "dumps", refuse)
        before = render_json(info, entries, feed_url=FEED_URL)
    assert data == before  # feeds written before orjson are byte for byte the same
    item = json.loads(data)["items"][0]
    assert (item.get("title", ""), item.get("content_html", ""), item.get("tags", [])) == (
        title,
        body,
        tags,
    )


def test_a_lone_surrogate_fails_as_it_did_before_orjson() -> None:
    # Seeds cannot hold one (decoding drops it); were one to come, the error stays the same.
    with pytest.raises(UnicodeEncodeError):
        render_json(INFO, [make_entry("a", title="half \ud800")], feed_url=FEED_URL)


def test_same_input_gives_the_same_bytes() -> None:
    info = replace(INFO, hubs=("https://hub.example.net/",), author_email="ada@example.org")
    entries = [make_entry("a", tags=("x", "y")), make_entry("b", link=None, language="de")]
    first = render_json(info, entries, feed_url=FEED_URL)
    # Equal values that are other objects: nothing may depend on identity or the clock.
    again = copy.deepcopy(entries)
    assert render_json(copy.deepcopy(info), again, feed_url=FEED_URL) == first
    assert render_json(info, entries, feed_url=FEED_URL) == first


def test_empty_feed_is_valid_with_an_empty_items_list(validator: Draft202012Validator) -> None:
    document = render([])
    assert document["items"] == []
    assert_valid(validator, document)


def test_hubs_are_listed_when_configured(validator: Draft202012Validator) -> None:
    hubs = ("https://hub-one.example.net/", "https://hub-two.example.net/websub")
    document = render([make_entry("a")], replace(INFO, hubs=hubs))
    assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in hubs]
    assert_valid(validator, document)


def test_hubs_are_absent_when_none_is_configured() -> None:
    assert "hubs" not in render([make_entry("a")])


def test_entry_without_a_link_has_no_url(validator: Draft202012Validator) -> None:
    document = render([make_entry("a", link=None)])
    assert "url" not in document["items"][0]
    assert_valid(validator, document)


def test_title_only_entry_has_its_title_as_content_text(validator: Draft202012Validator) -> None:
    document = render([make_entry("a", content_html=None, summary=None, link=None)])
    item = document["items"][0]
    assert item["content_text"] == "Title of a"
    assert "content_html" not in item
    assert "summary" not in item
    assert_valid(validator, document)


def test_entry_with_a_body_has_no_content_text() -> None:
    assert "content_text" not in render([make_entry("a")])["items"][0]


def test_feed_email_becomes_a_mailto_url_on_feed_and_items() -> None:
    document = render([make_entry("a")], replace(INFO, author_email="ada@example.org"))
    expected = [{"name": "Ada Lovelace", "url": "mailto:ada@example.org"}]
    assert document["authors"] == expected
    assert document["items"][0]["authors"] == expected


def test_entry_author_replaces_the_feeds_on_that_item_only() -> None:
    entries = [
        make_entry("a", author="Grace Hopper", author_email="grace hopper@example.com"),
        make_entry("b"),
    ]
    first, second = render(entries)["items"]
    assert first["authors"] == [
        {"name": "Grace Hopper", "url": "mailto:grace%20hopper@example.com"}
    ]
    assert second["authors"] == [{"name": "Ada Lovelace"}]


def test_feed_without_an_author_name_or_email_has_no_authors(
    validator: Draft202012Validator,
) -> None:
    document = render([make_entry("a")], replace(INFO, author=""))
    assert "authors" not in document
    assert "authors" not in document["items"][0]
    assert_valid(validator, document)


def test_item_language_and_tags_only_when_the_entry_has_them() -> None:
    plain, own = render([make_entry("a"), make_entry("b", language="fr", tags=("t",))])["items"]
    assert "language" not in plain
    assert "tags" not in plain
    assert own["language"] == "fr"
    assert own["tags"] == ["t"]


def test_empty_feed_fields_are_left_out_not_written_as_null() -> None:
    document = render([], replace(INFO, description="", site_url=""))
    assert "description" not in document
    assert "home_page_url" not in document


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05+00:00"),
        (datetime(2024, 1, 2, 3, 4, 5, 120, tzinfo=UTC), "2024-01-02T03:04:05.000120+00:00"),
        (
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
            "2024-01-02T08:04:05+00:00",
        ),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "0999-12-31T23:59:59+00:00"),
    ],
)
def test_dates_are_rfc3339_in_utc_keeping_sub_seconds(moment: datetime, expected: str) -> None:
    assert rfc3339(moment) == expected


def test_dates_come_from_published_and_updated(validator: Draft202012Validator) -> None:
    published = datetime(2023, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    updated = datetime(2023, 6, 7, 8, 9, 10, tzinfo=UTC)
    document = render([make_entry("a", published=published, updated=updated)])
    item = document["items"][0]
    assert item["date_published"] == "2023-05-06T07:08:09.123456+00:00"
    assert item["date_modified"] == "2023-06-07T08:09:10+00:00"
    assert_valid(validator, document)


def test_naive_datetime_is_a_bug_not_a_date() -> None:
    naive = datetime(2024, 1, 2, 3, 4, 5)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        render_json(INFO, [make_entry("a", published=naive)], feed_url=FEED_URL)


# The schema: it must accept what the spec allows and reject what it forbids.


def spec_like_feed() -> dict[str, Any]:
    """A feed using most of what the spec defines, shaped after the spec's own examples."""
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "user_comment": "A podcast feed for tests",
        "title": "The Show",
        "home_page_url": "https://show.example/",
        "feed_url": "https://show.example/feed.json",
        "next_url": "https://show.example/feed.json?page=2",
        "icon": "https://show.example/icon.png",
        "favicon": "https://show.example/favicon.png",
        "authors": [
            {"name": "Host", "url": "https://host.example/", "avatar": "https://a.example/h.png"}
        ],
        "author": {"name": "Host"},
        "language": "en-US",
        "expired": False,
        "hubs": [{"type": "rssCloud", "url": "https://cloud.example/ping"}],
        "_blue_shed": {"about": "https://blueshed.example/docs", "explicit": False},
        "items": [
            {
                "id": "https://show.example/1",
                "url": "https://show.example/1",
                "external_url": "https://elsewhere.example/thing",
                "title": "Episode 1",
                "content_text": "Plain words.",
                "content_html": "<p>Plain words.</p>",
                "summary": "The first one.",
                "image": "https://show.example/1.png",
                "banner_image": "https://show.example/1-banner.png",
                "date_published": "2014-05-09T14:04:00-07:00",
                "date_modified": "2014-05-10T01:02:03.5Z",
                "authors": [{"url": "mailto:host@show.example"}],
                "tags": ["talk"],
                "language": "de",
                "_blue_shed": {"explicit": True},
                "attachments": [
                    {
                        "url": "https://show.example/1.m4a",
                        "mime_type": "audio/x-m4a",
                        "title": "Episode 1 audio",
                        "size_in_bytes": 89970236,
                        "duration_in_seconds": 6629.5,
                    }
                ],
            },
            {"id": "2", "content_text": "A microblog post, no title."},
        ],
    }


def test_schema_accepts_a_feed_using_the_whole_spec(validator: Draft202012Validator) -> None:
    assert_valid(validator, spec_like_feed())


Mutation = Callable[[dict[str, Any]], object]


def _item(doc: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = doc["items"][0]
    return item


BROKEN: dict[str, Mutation] = {
    "missing version": lambda d: d.pop("version"),
    "version 1.0": lambda d: d.update(version="https://jsonfeed.org/version/1"),
    "missing title": lambda d: d.pop("title"),
    "missing items": lambda d: d.pop("items"),
    "item without id": lambda d: _item(d).pop("id"),
    "numeric id": lambda d: _item(d).update(id=1),
    "blank id": lambda d: _item(d).update(id=""),
    "item without content": lambda d: [_item(d).pop(k) for k in ("content_html", "content_text")],
    "bad date": lambda d: _item(d).update(date_published="2024-02-30T00:00:00Z"),
    "date without zone": lambda d: _item(d).update(date_modified="2024-02-01T00:00:00"),
    "date only": lambda d: _item(d).update(date_published="2024-02-01"),
    "relative url": lambda d: _item(d).update(url="/posts/1"),
    "feed_url not a url": lambda d: d.update(feed_url="not a url"),
    "empty author": lambda d: d.update(authors=[{}]),
    "author with email": lambda d: d.update(authors=[{"name": "x", "email": "x@example.org"}]),
    "hub without url": lambda d: d.update(hubs=[{"type": "WebSub"}]),
    "tags not strings": lambda d: _item(d).update(tags=["ok", 3]),
    "expired as string": lambda d: d.update(expired="true"),
    "attachment without mime_type": lambda d: _item(d)["attachments"][0].pop("mime_type"),
    "negative size": lambda d: _item(d)["attachments"][0].update(size_in_bytes=-1),
    "unknown key": lambda d: d.update(updated="2024-01-01T00:00:00Z"),
    "unknown item key": lambda d: _item(d).update(content="x"),
    "extension without a letter": lambda d: d.update(_1x={}),
    "extension with a dot": lambda d: d.update({"_blue.shed": {}}),
    "extension member with a dot": lambda d: d.update(_blue_shed={"a.b": 1}),
    "language not a tag": lambda d: d.update(language="English (US)"),
}


@pytest.mark.parametrize("mutation", BROKEN.values(), ids=BROKEN.keys())
def test_schema_rejects_broken_documents(
    validator: Draft202012Validator, mutation: Mutation
) -> None:
    document = spec_like_feed()
    mutation(document)
    assert not validator.is_valid(document)
