"""`publisher serve` over real HTTP on 127.0.0.1: types, validators, gzip, refusals, load."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from http.server import ThreadingHTTPServer
from pathlib import Path, PurePosixPath

import pytest

from feedpub.errors import ConfigError
from feedpub.headers import (
    LONG_CACHE,
    SHORT_CACHE,
    accepts_gzip,
    cache_control,
    content_type,
    is_not_modified,
)
from feedpub.serve import start_server
from tests.conftest import ROOT, Site

HOST = "127.0.0.1"
SECRET = b"TOP-SECRET: bytes from outside feeds/"
ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
    + b"<entry><title>Harbour news</title><summary>The council met.</summary></entry>" * 100
    + b"</feed>\n"
)
FILES = {
    "atom.xml": ATOM,
    "rss.xml": b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>\n',
    "feed.json": b'{"version": "https://jsonfeed.org/version/1.1", "items": []}\n',
    "index.html": b"<!doctype html><html lang=en><title>Notes</title></html>\n",
    "style.css": b"body { margin: 0 auto; max-width: 40em }\n",
    "sitemap.xml": b'<?xml version="1.0"?><urlset/>\n',
    "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    "archive/1.atom.xml": b"<feed>page 1</feed>\n",
    "archive/2.atom.xml": b"<feed>page 2</feed>\n",
    "archive/1.rss.xml": b"<rss>page 1</rss>\n",
    "archive/2.rss.xml": b"<rss>page 2</rss>\n",
    "articles/index.html": b"<!doctype html><title>Articles</title>\n",
    ".feedpub-k2j4h5.tmp": b"half a feed",
    ".publisher/state.sqlite3": b"SQLite format 3\x00",
}


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    feeds = tmp_path / "feeds"
    for name, data in FILES.items():
        (feeds / name).parent.mkdir(parents=True, exist_ok=True)
        (feeds / name).write_bytes(data)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return feeds


@pytest.fixture
def server(feeds: Path) -> Iterator[ThreadingHTTPServer]:
    server = start_server(feeds, host=HOST, port=0)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def port(server: ThreadingHTTPServer) -> int:
    return int(server.server_address[1])


def request(
    port: int, path: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> Reply:
    with contextlib.closing(http.client.HTTPConnection(HOST, port, timeout=10)) as conn:
        conn.request(method, path, headers=headers or {})
        with conn.getresponse() as response:
            return Reply(response.status, response.headers, response.read())


def raw_request(port: int, target: bytes) -> tuple[int, bytes]:
    """Send a request line as it is, without a client's checks; the status and whole answer."""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def etag_of(port: int, path: str, **headers: str) -> str:
    reply = request(port, path, headers=headers)
    assert reply.status == 200
    return str(reply.headers["ETag"])


# Content types and cache policy


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/archive/2.atom.xml", "application/atom+xml; charset=utf-8"),
        ("/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/archive/1.rss.xml", "application/rss+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/articles/", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/sitemap.xml", "application/xml; charset=utf-8"),
        ("/logo.png", "application/octet-stream"),
    ],
)
def test_each_kind_of_file_has_its_content_type(port: int, path: str, expected: str) -> None:
    reply = request(port, path)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == expected
    assert reply.headers["Content-Length"] == str(len(reply.body))


def test_root_serves_index_html(port: int) -> None:
    assert request(port, "/").body == FILES["index.html"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ATOM.XML", "application/atom+xml; charset=utf-8"),
        ("tag-python.atom.xml", "application/atom+xml; charset=utf-8"),
        ("tag-python.rss.xml", "application/rss+xml; charset=utf-8"),
        ("notatom.xml", "application/xml; charset=utf-8"),
        ("feed.JSON", "application/feed+json; charset=utf-8"),
        ("notes.txt", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ],
)
def test_content_type_by_name(name: str, expected: str) -> None:
    assert content_type(name) == expected


@pytest.mark.parametrize(
    ("rel", "siblings", "expected"),
    [
        ("atom.xml", [], SHORT_CACHE),
        ("index.html", [], SHORT_CACHE),
        ("archive/1.atom.xml", ["1.atom.xml", "2.atom.xml"], SHORT_CACHE),
        ("archive/1.atom.xml", ["1.atom.xml", "2.atom.xml", "3.atom.xml"], LONG_CACHE),
        ("archive/2.atom.xml", ["1.atom.xml", "2.atom.xml", "3.atom.xml"], SHORT_CACHE),
        ("archive/1.atom.xml", ["1.atom.xml", "2.rss.xml"], SHORT_CACHE),
        ("archive/2.atom.xml", ["2.atom.xml", "10.atom.xml"], LONG_CACHE),
        ("archive/9.atom.xml", ["9.atom.xml", "10.atom.xml"], SHORT_CACHE),
        ("archive/10.atom.xml", ["9.atom.xml", "10.atom.xml"], SHORT_CACHE),
        ("archive/01.atom.xml", ["01.atom.xml", "2.atom.xml"], SHORT_CACHE),
        ("archive/0.atom.xml", ["0.atom.xml", "1.atom.xml"], SHORT_CACHE),
        ("archive/1.atom.xml", ["1.atom.xml", ".feedpub-2.atom.xml.tmp"], SHORT_CACHE),
        ("archive/3.rss.xml", ["3.rss.xml", "5.rss.xml", "6.atom.xml"], LONG_CACHE),
        ("archive/3.rss.xml", ["3.rss.xml", "4.rss.xml", "5.atom.xml"], SHORT_CACHE),
        ("archive/sub/1.atom.xml", ["1.atom.xml", "2.atom.xml"], SHORT_CACHE),
        ("other/1.atom.xml", ["1.atom.xml", "2.atom.xml"], SHORT_CACHE),
        ("archive/index.html", ["index.html", "1.atom.xml"], SHORT_CACHE),
    ],
)
def test_only_full_archive_pages_are_cached_long(
    rel: str, siblings: list[str], expected: str
) -> None:
    assert cache_control(PurePosixPath(rel), lambda: siblings) == expected


def test_cache_policy_lists_the_folder_only_for_archive_pages() -> None:
    def siblings() -> Iterable[str]:
        raise AssertionError("listed a folder for a subscription document")

    assert cache_control(PurePosixPath("atom.xml"), siblings) == SHORT_CACHE


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/archive/1.atom.xml", SHORT_CACHE),
        ("/archive/2.atom.xml", SHORT_CACHE),
        ("/archive/1.rss.xml", SHORT_CACHE),
        ("/atom.xml", SHORT_CACHE),
        ("/", SHORT_CACHE),
    ],
)
def test_cache_control_over_http(port: int, path: str, expected: str) -> None:
    assert request(port, path).headers["Cache-Control"] == expected


def test_a_newer_page_makes_an_older_one_full(feeds: Path, port: int) -> None:
    assert request(port, "/archive/1.atom.xml").headers["Cache-Control"] == SHORT_CACHE
    (feeds / "archive" / "3.atom.xml").write_bytes(b"<feed>page 3</feed>\n")
    assert request(port, "/archive/1.atom.xml").headers["Cache-Control"] == LONG_CACHE
    assert request(port, "/archive/2.atom.xml").headers["Cache-Control"] == SHORT_CACHE


# Conditional GET


def test_200_then_304_with_the_etag(port: int) -> None:
    first = request(port, "/atom.xml")
    etag = first.headers["ETag"]
    assert first.status == 200
    assert first.body == ATOM
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert first.headers["Last-Modified"].endswith(" GMT")
    second = request(port, "/atom.xml", headers={"If-None-Match": etag})
    assert second.status == 304
    assert second.body == b""
    for name in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert second.headers[name] == first.headers[name]


@pytest.mark.parametrize(
    "template", ["{etag}", "W/{etag}", '"stale", {etag}', '"a",{etag} , "b"', "*"]
)
def test_if_none_match_forms_that_match(port: int, template: str) -> None:
    etag = etag_of(port, "/rss.xml")
    reply = request(port, "/rss.xml", headers={"If-None-Match": template.format(etag=etag)})
    assert reply.status == 304


@pytest.mark.parametrize("value", ['"stale"', 'W/"stale"', "", "garbage"])
def test_if_none_match_that_does_not_match_gets_the_file(port: int, value: str) -> None:
    reply = request(port, "/rss.xml", headers={"If-None-Match": value})
    assert reply.status == 200
    assert reply.body == FILES["rss.xml"]


def test_if_modified_since_not_newer_gets_304(port: int, feeds: Path) -> None:
    last_modified = request(port, "/atom.xml").headers["Last-Modified"]
    later = formatdate((feeds / "atom.xml").stat().st_mtime + 3600, usegmt=True)
    for since in (last_modified, later):
        assert request(port, "/atom.xml", headers={"If-Modified-Since": since}).status == 304


def test_if_modified_since_older_or_unreadable_gets_200(port: int, feeds: Path) -> None:
    earlier = formatdate((feeds / "atom.xml").stat().st_mtime - 3600, usegmt=True)
    for since in (earlier, "yesterday", "Sun, 99 Foo 1994 08:49:37 GMT"):
        assert request(port, "/atom.xml", headers={"If-Modified-Since": since}).status == 200


def test_if_none_match_wins_over_if_modified_since(port: int) -> None:
    last_modified = request(port, "/atom.xml").headers["Last-Modified"]
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": last_modified}
    assert request(port, "/atom.xml", headers=headers).status == 200


def test_validators_without_a_server() -> None:
    mtime = 1_700_000_000.5
    date = formatdate(int(mtime), usegmt=True)
    assert is_not_modified(None, date, etag='"x"', mtime=mtime)
    assert is_not_modified(None, date.replace("GMT", "-0000"), etag='"x"', mtime=mtime)
    assert not is_not_modified(None, formatdate(mtime - 1, usegmt=True), etag='"x"', mtime=mtime)
    assert not is_not_modified('"y"', date, etag='"x"', mtime=mtime)
    assert not is_not_modified(None, None, etag='"x"', mtime=mtime)


def test_a_changed_file_gets_200_and_a_new_etag(port: int, feeds: Path) -> None:
    path = feeds / "atom.xml"
    old = etag_of(port, "/atom.xml")
    replace_atomically(path, ATOM.replace(b"Harbour", b"Harvest"))
    reply = request(port, "/atom.xml", headers={"If-None-Match": old})
    assert reply.status == 200
    assert reply.headers["ETag"] != old
    assert reply.body == ATOM.replace(b"Harbour", b"Harvest")


def test_a_replaced_file_with_same_size_and_mtime_gets_a_new_etag(port: int, feeds: Path) -> None:
    path = feeds / "atom.xml"
    before = path.stat()
    old = etag_of(port, "/atom.xml")
    replace_atomically(path, ATOM.replace(b"council", b"COUNCIL"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    reply = request(port, "/atom.xml", headers={"If-None-Match": old})
    assert reply.status == 200
    assert reply.body == ATOM.replace(b"council", b"COUNCIL")


def replace_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(".feedpub-test.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


# gzip


def test_gzip_when_accepted(port: int) -> None:
    plain = request(port, "/atom.xml")
    first = request(port, "/atom.xml", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    again = request(port, "/atom.xml", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    assert first.headers["Vary"] == "Accept-Encoding"
    assert first.headers["Content-Length"] == str(len(first.body))
    assert gzip.decompress(first.body) == ATOM
    assert len(first.body) < len(ATOM)
    assert again.body == first.body
    assert first.headers["ETag"] not in (plain.headers["ETag"], None)
    assert first.headers["ETag"] == again.headers["ETag"]


def test_gzip_etag_gets_304_only_with_gzip(port: int) -> None:
    etag = etag_of(port, "/atom.xml", **{"Accept-Encoding": "gzip"})
    zipped = {"Accept-Encoding": "gzip", "If-None-Match": etag}
    assert request(port, "/atom.xml", headers=zipped).status == 304
    plain = request(port, "/atom.xml", headers={"If-None-Match": etag})
    assert plain.status == 200
    assert plain.body == ATOM


@pytest.mark.parametrize("accept", ["gzip;q=0", "identity", "*;q=0", "br", "gzip; q=0.000"])
def test_no_gzip_unless_accepted(port: int, accept: str) -> None:
    reply = request(port, "/atom.xml", headers={"Accept-Encoding": accept})
    assert reply.body == ATOM
    assert "Content-Encoding" not in reply.headers
    assert reply.headers["Vary"] == "Accept-Encoding"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("*", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("gzip;q=0, *", False),
        ("*;q=0, gzip;q=0.1", True),
        ("gzip;q=bad", False),
        ("br, identity", False),
    ],
)
def test_accepts_gzip(value: str | None, expected: bool) -> None:
    assert accepts_gzip(value) is expected


def test_binary_files_are_neither_gzipped_nor_vary(port: int) -> None:
    reply = request(port, "/logo.png", headers={"Accept-Encoding": "gzip"})
    assert reply.body == FILES["logo.png"]
    assert "Content-Encoding" not in reply.headers
    assert "Vary" not in reply.headers


# HEAD


@pytest.mark.parametrize("accept", ["identity", "gzip"])
def test_head_has_the_headers_of_get_and_no_body(port: int, accept: str) -> None:
    with contextlib.closing(http.client.HTTPConnection(HOST, port, timeout=10)) as conn:
        replies = []
        for method in ("HEAD", "GET"):  # one connection: a body after HEAD would break the GET
            conn.request(method, "/atom.xml", headers={"Accept-Encoding": accept})
            with conn.getresponse() as response:
                replies.append(Reply(response.status, response.headers, response.read()))
    head, get = replies
    assert head.status == get.status == 200
    assert head.body == b""
    assert len(get.body) == int(get.headers["Content-Length"])
    del head.headers["Date"], get.headers["Date"]
    assert head.headers.items() == get.headers.items()


def test_head_of_a_missing_file_is_404_without_body(port: int) -> None:
    reply = request(port, "/missing.xml", method="HEAD")
    assert reply.status == 404
    assert reply.body == b""


# Safety: nothing outside feeds/, nothing hidden, no listings


TRAVERSALS = [
    b"/../etc/passwd",
    b"/../secret.txt",
    b"/" + b"../" * 40 + b"etc/passwd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/%2e%2e/secret.txt",
    b"/%2E%2E/secret.txt",
    b"/..%2f..%2fetc/passwd",
    b"/..%2fsecret.txt",
    b"/%2e%2e%2fsecret.txt",
    b"/archive/../../secret.txt",
    b"/archive/%2e%2e/%2e%2e/secret.txt",
    b"//etc/passwd",
    b"/..\\secret.txt",
    b"/%5c..%5csecret.txt",
    b"/..%5csecret.txt",
    b"/%c0%ae%c0%ae/secret.txt",
    b"/secret.txt%00.xml",
    b"/../secret.txt\x00.xml",
    b"/atom.xml\x00",
    b"/./atom.xml",
    b"../secret.txt",
    b"http://127.0.0.1/../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_attempts_get_404_or_400(port: int, target: bytes) -> None:
    status, answer = raw_request(port, target)
    assert status in (400, 404)
    assert SECRET not in answer
    assert b"root:" not in answer


def test_absolute_paths_stay_inside_feeds(port: int, tmp_path: Path) -> None:
    for path in (tmp_path / "secret.txt", Path("/etc/passwd")):
        status, answer = raw_request(port, b"/" + str(path).encode())
        assert status == 404
        assert SECRET not in answer


def test_symlinks_out_of_feeds_are_not_followed(port: int, feeds: Path, tmp_path: Path) -> None:
    (feeds / "leak.xml").symlink_to(tmp_path / "secret.txt")
    (feeds / "outside").symlink_to(tmp_path, target_is_directory=True)
    (feeds / "state").symlink_to(feeds / ".publisher", target_is_directory=True)
    for target in (b"/leak.xml", b"/outside/secret.txt", b"/state/state.sqlite3"):
        status, answer = raw_request(port, target)
        assert status == 404
        assert SECRET not in answer
        assert b"SQLite" not in answer


def test_symlinks_within_feeds_are_served(port: int, feeds: Path) -> None:
    (feeds / "latest.atom.xml").symlink_to("archive/2.atom.xml")
    assert request(port, "/latest.atom.xml").body == FILES["archive/2.atom.xml"]


@pytest.mark.parametrize(
    "path",
    [
        "/.feedpub-k2j4h5.tmp",
        "/%2efeedpub-k2j4h5.tmp",
        "/.publisher/state.sqlite3",
        "/.publisher/",
        "/.publisher",
    ],
)
def test_hidden_files_are_404(port: int, path: str) -> None:
    reply = request(port, path)
    assert reply.status == 404
    assert b"half a feed" not in reply.body
    assert b"SQLite" not in reply.body


def test_no_directory_listing(port: int) -> None:
    listing = request(port, "/archive/")
    assert listing.status == 404
    assert b"atom.xml" not in listing.body
    moved = request(port, "/archive")
    assert moved.status == 301
    assert moved.headers["Location"] == "/archive/"


def test_folder_with_an_index_serves_it(port: int) -> None:
    assert request(port, "/articles/").body == FILES["articles/index.html"]
    moved = request(port, "/articles?x=1")
    assert moved.status == 301
    assert moved.headers["Location"] == "/articles/?x=1"


def test_a_file_named_as_a_folder_is_404(port: int) -> None:
    assert request(port, "/atom.xml/").status == 404


def test_404_is_short_text_and_keeps_the_connection(port: int) -> None:
    with contextlib.closing(http.client.HTTPConnection(HOST, port, timeout=10)) as conn:
        conn.request("GET", "/missing.xml")
        with conn.getresponse() as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert response.read() == b"404 Not Found: no such file\n"
        conn.request("GET", "/rss.xml")
        with conn.getresponse() as response:
            assert response.read() == FILES["rss.xml"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_get_405_with_allow(port: int, method: str) -> None:
    reply = request(port, "/atom.xml", method=method)
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD"


def test_post_with_a_body_gets_405(port: int) -> None:
    with contextlib.closing(http.client.HTTPConnection(HOST, port, timeout=10)) as conn:
        conn.request("POST", "/atom.xml", body=b"x=1", headers={"Content-Length": "3"})
        with conn.getresponse() as response:
            assert response.status == 405
            response.read()


@pytest.mark.parametrize(
    "line", [b"GET /atom.xml HTTP/x.y", b"GET /atom.xml HTTP/1.1 extra", b"GET /%ff HTTP/1.1"]
)
def test_malformed_requests_get_400(port: int, line: bytes) -> None:
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(line + b"\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")


# Load


def test_50_concurrent_clients_are_all_answered(port: int) -> None:
    start = threading.Barrier(50, timeout=10)

    def fetch(_: int) -> Reply:
        start.wait()
        return request(port, "/atom.xml", headers={"Accept-Encoding": "gzip"})

    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(fetch, range(50)))
    assert [reply.status for reply in replies] == [200] * 50
    assert all(gzip.decompress(reply.body) == ATOM for reply in replies)


def test_a_silent_client_does_not_block_others(port: int) -> None:
    with socket.create_connection((HOST, port), timeout=10) as silent:
        with socket.create_connection((HOST, port), timeout=10) as half:
            half.sendall(b"GET /atom.xml HTTP/1.1\r\nHost:")
            started = time.monotonic()
            reply = request(port, "/rss.xml")
            assert reply.status == 200
            assert time.monotonic() - started < 5
        silent.sendall(b"GET /rss.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert silent.recv(12) == b"HTTP/1.1 200"


# Start, log, stop


def test_start_logs_the_url_and_requests_at_debug(
    feeds: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="feedpub"):
        server = start_server(feeds, host=HOST, port=0)
        try:
            port = int(server.server_address[1])
            request(port, "/atom.xml")
        finally:
            server.shutdown()
            server.server_close()
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info == [f"serving {feeds} on http://{HOST}:{port}/"]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any('"GET /atom.xml HTTP/1.1" 200' in message for message in debug)


def test_a_port_in_use_is_a_config_error(server: ThreadingHTTPServer, feeds: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1:"):
        start_server(feeds, host=HOST, port=int(server.server_address[1]))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_then_exits_0_on_signal(site: Site, signum: signal.Signals) -> None:
    site.feeds.mkdir()
    (site.feeds / "atom.xml").write_bytes(ATOM)
    port = free_port()
    command = [sys.executable, str(ROOT / "publisher.py"), "--config", str(site.config_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        cwd=site.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        try:
            reply = wait_for_server(process, port)
            assert reply.body == ATOM
            assert_exits_0(process, signum)
        finally:
            if process.poll() is None:
                process.kill()
            _, stderr = process.communicate(timeout=5)
    assert f"serving {site.feeds} on http://{HOST}:{port}/".encode() in stderr


def assert_exits_0(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send `signum`: the process must exit 0 within 5 s; if not, its stderr says why."""
    process.send_signal(signum)
    status = process.wait(timeout=5)
    if status != 0:
        stderr = process.stderr.read() if process.stderr else b""
        raise AssertionError(f"exit status {status}; stderr ends:\n{stderr[-4000:].decode()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_server(process: subprocess.Popen[bytes], port: int) -> Reply:
    deadline = time.monotonic() + 15
    while True:
        try:
            return request(port, "/atom.xml")
        except ConnectionRefusedError:
            assert process.poll() is None, "publisher serve exited before it answered"
            assert time.monotonic() < deadline, "publisher serve did not answer in 15 s"
            time.sleep(0.05)


def test_serve_watch_previews_a_new_seed_live(site: Site) -> None:
    site.write("first", "date 2024-01-01 First\n")
    port = free_port()
    command = [sys.executable, str(ROOT / "publisher.py"), "--config", str(site.config_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [*command, "serve", "--watch", "--port", str(port)],
        cwd=site.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        try:
            deadline = time.monotonic() + 20
            while b"First" not in wait_for_server(process, port).body:
                assert time.monotonic() < deadline, "the first run did not publish"
                time.sleep(0.05)
            site.write("second", "date 2024-01-02 Second\n")
            while b"Second" not in request(port, "/atom.xml").body:
                assert time.monotonic() < deadline, "the daemon did not publish the new seed"
                time.sleep(0.05)
            page = request(port, "/articles/second.html")
            assert page.status == 200
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            assert_exits_0(process, signal.SIGTERM)
        finally:
            if process.poll() is None:
                process.kill()
            _, stderr = process.communicate(timeout=5)
    assert b"INFO" in stderr  # the daemon's log format: times and levels
