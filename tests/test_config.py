"""publisher.toml: validation names the key; creation and feed_id minting keep the user's lines."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from feedpub.config import create_config, load_config
from feedpub.errors import ConfigError
from tests.conftest import CONFIG_TEXT, FEED_ID


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "publisher.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("colour = 'blue'\n", "'colour'"),
        ("max_entries = 'ten'\n", "max_entries"),
        ("max_entries = 0\n", "max_entries"),
        ("max_entries = true\n", "max_entries"),
        ("author_email = 5\n", "author_email"),
        ("feed_url = 'feeds/'\n", "feed_url"),
        ("feed_url = 'ftp://example.org/'\n", "feed_url"),
        ("link_template = 'https://example.org/posts/'\n", "link_template"),
        ("link_template = 'posts/{slug}.html'\n", "link_template"),
        ("timezone = 'Mars/Olympus'\n", "timezone"),
        ("timezone = '/etc/localtime'\n", "timezone"),
        ("author_email = 'not-an-address'\n", "author_email"),
        ("language = 'english please'\n", "language"),
        ("[extra]\nkey = 1\n", "'extra'"),
        ("feed_url = 'http://[x/'\n", "feed_url"),
        ("link_template = 'http://[x/{slug}'\n", "link_template"),
        ("websub_hub = 'http://[x/'\n", "websub_hub"),
        ('websub_hub = ["https://hub.example.org/\\u0001"]\n', "websub_hub"),
        ('websub_hub = "https://hub.example.org/\\u0085x"\n', "websub_hub"),
        ('feed_url = "https://example.org/a\\tb/"\n', "feed_url"),
        ('feeds_dir = "out\\u0000"\n', "feeds_dir: holds U[+]0000"),
    ],
)
def test_bad_values_are_config_errors_naming_the_key(tmp_path: Path, extra: str, key: str) -> None:
    path = write(tmp_path, CONFIG_TEXT + extra)
    with pytest.raises(ConfigError, match=key):
        load_config(path)


def test_bad_base_url_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG_TEXT.replace("https://example.org/", "example.org"))
    with pytest.raises(ConfigError, match="base_url"):
        load_config(path)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("https://example.org/", "http://[x/", "base_url"),
        ("Test site", "Notes\\u000c", "title: holds U[+]000C"),
        ("Articles for the tests", "Notes \\ufffe", "description: holds U[+]FFFE"),
        ("Test Author", "Ann\\u0085", "author: holds U[+]0085"),
    ],
)
def test_text_a_feed_cannot_carry_is_a_config_error(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = write(tmp_path, CONFIG_TEXT.replace(old, new))
    with pytest.raises(ConfigError, match=key):
        load_config(path)


@pytest.mark.parametrize("author", ["Ann <ann@example.org>", "ann@example.org"])
def test_author_with_an_email_address_is_refused(tmp_path: Path, author: str) -> None:
    path = write(tmp_path, CONFIG_TEXT.replace("Test Author", author))
    with pytest.raises(ConfigError, match="author"):
        load_config(path)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "title = \n"))


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONFIG_TEXT))
    assert config.feed_url == "https://example.org/feeds/"
    assert (config.language, config.timezone, config.max_entries) == ("en", "UTC", 50)
    assert config.seeds_dir == tmp_path / "seeds"
    assert config.feeds_dir == tmp_path / "feeds"
    assert config.state_dir == tmp_path / ".publisher"
    assert config.feed_id == FEED_ID


def test_urls_get_a_trailing_slash(tmp_path: Path) -> None:
    text = CONFIG_TEXT.replace("https://example.org/", "https://example.org/blog")
    config = load_config(write(tmp_path, text))
    assert config.base_url == "https://example.org/blog/"
    assert config.feed_url == "https://example.org/blog/feeds/"


def test_created_config_has_defaults_and_a_feed_id(tmp_path: Path) -> None:
    site = tmp_path / "My Site"
    site.mkdir()
    path = site / "publisher.toml"
    create_config(path)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert raw["title"] == "My Site"
    assert raw["author"] == "My Site"
    assert raw["base_url"] == "http://localhost:8000/"
    assert raw["feed_id"].startswith("urn:uuid:")
    assert load_config(path).feed_id == raw["feed_id"]


def test_missing_feed_id_is_appended_and_other_lines_kept(tmp_path: Path) -> None:
    original = "# my comment\ntitle = 'Mine'   # keep me\nauthor = 'Me'"
    path = write(tmp_path, original)
    first = load_config(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(original + "\n")
    assert text.count("feed_id") == 1
    second = load_config(path)
    assert first.feed_id == second.feed_id
    assert path.read_text(encoding="utf-8") == text
