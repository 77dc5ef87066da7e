"""WebSub pings against real hubs on 127.0.0.1: one POST per changed feed, retries, give-ups,
and hubs that hang without holding up notify(), other hubs or close()."""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from feedpub import __version__
from feedpub.errors import ConfigError
from feedpub.websub import HubNotifier, backoff_delay, judge, parse_retry_after

HOST = "127.0.0.1"
DEADLINE = 10.0  # seconds any wait here may take before the test fails
HANG = -1  # a hub's answer: hold the request until the test releases it
ATOM = "https://example.org/feeds/atom.xml"
RSS = "https://example.org/feeds/rss.xml"
JSON = "https://example.org/feeds/feed.json"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]  # names in lower case
    form: dict[str, list[str]]


class Hub:
    """A hub on 127.0.0.1 that records each POST and answers from a script, then `default`."""

    def __init__(
        self, answers: Sequence[int], *, default: int = 204, retry_after: str | None = None
    ) -> None:
        self.answers = list(answers)
        self.default = default
        self.retry_after = retry_after
        self.released = threading.Event()  # lets every HANG answer go, with 204
        self.posts: list[Post] = []
        self._cond = threading.Condition()
        self.server = _HubServer((HOST, 0), _HubHandler)
        self.server.hub = self
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.socket.getsockname()[1]}/hub"

    def record(self, post: Post) -> int:
        with self._cond:
            self.posts.append(post)
            self._cond.notify_all()
            return self.answers.pop(0) if self.answers else self.default

    def wait_posts(self, count: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.posts) >= count, DEADLINE)

    def urls(self) -> list[str]:
        with self._cond:
            return [post.form["hub.url"][0] for post in self.posts]

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _HubServer(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() joins the handler threads
    hub: Hub

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: its getfqdn() may ask DNS
        self.server_name, self.server_port = HOST, self.socket.getsockname()[1]


class _HubHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, _HubServer)
        hub = self.server.hub
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("ascii")
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = hub.record(Post(self.path, headers, parse_qs(body, keep_blank_values=True)))
        if answer == HANG:
            hub.released.wait(DEADLINE * 3)
            answer = 204
        try:
            self.send_response(answer)
            if hub.retry_after is not None:
                self.send_header("Retry-After", hub.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:  # the notifier timed out and went away
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Net:
    """Hubs and notifiers started by a test, released, closed and joined after it."""

    def __init__(self) -> None:
        self.hubs: list[Hub] = []
        self.notifiers: list[HubNotifier] = []

    def hub(self, *answers: int, default: int = 204, retry_after: str | None = None) -> Hub:
        self.hubs.append(Hub(answers, default=default, retry_after=retry_after))
        return self.hubs[-1]

    def notifier(
        self, hubs: Sequence[str], *, timeout: float = 5.0, max_attempts: int = 5
    ) -> HubNotifier:
        """A notifier with backoff in hundredths of a second, so that retries take no time."""
        notifier = HubNotifier(
            hubs, timeout=timeout, max_attempts=max_attempts, backoff=0.01, backoff_cap=0.05
        )
        self.notifiers.append(notifier)
        return notifier

    def finish(self) -> None:
        for hub in self.hubs:
            hub.released.set()
        closed = [notifier.close(DEADLINE) for notifier in self.notifiers]
        for hub in self.hubs:
            hub.stop()
        assert all(closed), "a notifier thread outlived its test"


@pytest.fixture
def net() -> Iterator[Net]:
    net = Net()
    yield net
    net.finish()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="feedpub.websub")
    return caplog


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_one_form_post_per_changed_feed(net: Net, logs: pytest.LogCaptureFixture) -> None:
    hub = net.hub()
    notifier = net.notifier([hub.url])
    notifier.notify([ATOM, RSS])
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM, RSS]
    for post in hub.posts:
        assert post.path == "/hub"
        assert post.headers["content-type"] == "application/x-www-form-urlencoded"
        assert post.headers["user-agent"] == f"feedpub/{__version__}"
        assert post.form["hub.mode"] == ["publish"]
        assert sorted(post.form) == ["hub.mode", "hub.url"]
    assert messages(logs, logging.INFO) == messages(logs, logging.WARNING) == []


def test_every_hub_hears_of_every_feed_once(net: Net) -> None:
    first, second = net.hub(), net.hub()
    notifier = net.notifier([first.url, second.url, first.url])
    assert notifier.hubs == (first.url, second.url)
    notifier.notify([ATOM, RSS, ATOM])
    assert notifier.wait_idle(DEADLINE)
    assert first.urls() == second.urls() == [ATOM, RSS]


def test_notices_queued_behind_a_busy_hub_are_merged(net: Net) -> None:
    hub = net.hub(HANG)
    notifier = net.notifier([hub.url])
    notifier.notify([ATOM])
    assert hub.wait_posts(1)
    for _ in range(3):
        notifier.notify([RSS, JSON, RSS])
    notifier.notify([JSON])
    hub.released.set()
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM, RSS, JSON]


def test_a_feed_changed_while_its_notice_is_on_the_wire_is_sent_again(net: Net) -> None:
    hub = net.hub(HANG)
    notifier = net.notifier([hub.url])
    notifier.notify([ATOM])
    assert hub.wait_posts(1)
    notifier.notify([ATOM])
    notifier.notify([ATOM])
    hub.released.set()
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM, ATOM]


def test_5xx_is_retried_until_the_hub_accepts(net: Net, logs: pytest.LogCaptureFixture) -> None:
    hub = net.hub(500, 502, 503)
    notifier = net.notifier([hub.url])
    notifier.notify([ATOM])
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM] * 4
    assert messages(logs, logging.WARNING) == []
    assert (
        messages(logs, logging.INFO)[-1] == f"websub: notified {hub.url} of {ATOM} after 4 attempts"
    )


def test_a_hub_that_always_fails_is_given_up_with_one_warning(
    net: Net, logs: pytest.LogCaptureFixture
) -> None:
    hub = net.hub(default=500)
    notifier = net.notifier([hub.url], max_attempts=3)
    notifier.notify([ATOM])
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM] * 3
    assert messages(logs, logging.WARNING) == [
        f"websub: gave up notifying {hub.url} of {ATOM} after 3 attempt(s): "
        "HTTP 500 Internal Server Error"
    ]


@pytest.mark.parametrize("status", [400, 403, 404, 410, 301])
def test_a_refusal_is_not_retried(net: Net, logs: pytest.LogCaptureFixture, status: int) -> None:
    hub = net.hub(status)
    notifier = net.notifier([hub.url])
    notifier.notify([ATOM])
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM]
    [warning] = messages(logs, logging.WARNING)
    assert f"{hub.url} of {ATOM} after 1 attempt(s): HTTP {status} " in warning


def test_429_is_retried_and_a_long_retry_after_is_capped(net: Net) -> None:
    hub = net.hub(429, retry_after="3600")
    notifier = net.notifier([hub.url])  # backoff_cap=0.05
    notifier.notify([ATOM])
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM, ATOM]


def test_an_unreachable_hub_is_retried_then_given_up(
    net: Net, logs: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://{HOST}:{port}/"
    notifier = net.notifier([url], max_attempts=2)
    notifier.notify([ATOM])
    assert notifier.wait_idle(DEADLINE)
    [warning] = messages(logs, logging.WARNING)
    assert warning.startswith(f"websub: gave up notifying {url} of {ATOM} after 2 attempt(s): ")
    assert "refused" in warning


def test_a_hub_that_times_out_is_retried(net: Net, logs: pytest.LogCaptureFixture) -> None:
    hub = net.hub(HANG)
    notifier = net.notifier([hub.url], timeout=0.5)
    notifier.notify([ATOM])
    assert notifier.wait_idle(DEADLINE)
    assert hub.urls() == [ATOM, ATOM]
    assert not hub.released.is_set()
    assert (
        messages(logs, logging.INFO)[0]
        == f"websub: {hub.url} failed for {ATOM}: timed out; retrying"
    )


def test_a_hanging_hub_holds_up_neither_notify_nor_another_hub(net: Net) -> None:
    stuck, healthy = net.hub(default=HANG), net.hub()
    notifier = net.notifier([stuck.url, healthy.url], timeout=DEADLINE * 3)
    notifier.notify([ATOM])
    assert stuck.wait_posts(1)
    notifier.notify([RSS])  # returns though the stuck hub's worker is blocked on the wire
    assert healthy.wait_posts(2)
    assert healthy.urls() == [ATOM, RSS]
    assert notifier.wait_idle(0.05) is False
    assert stuck.urls() == [ATOM]
    assert not stuck.released.is_set()


def test_close_gives_up_on_a_hanging_hub(net: Net, logs: pytest.LogCaptureFixture) -> None:
    stuck = net.hub(default=HANG)
    notifier = net.notifier([stuck.url], timeout=DEADLINE * 3)
    notifier.notify([ATOM])
    assert stuck.wait_posts(1)
    notifier.notify([RSS])
    assert notifier.close(0.05) is False  # back while the hub still holds the request
    assert not stuck.released.is_set()
    assert messages(logs, logging.WARNING) == [
        f"websub: closed with 2 notification(s) to {stuck.url} undelivered: {ATOM}, {RSS}"
    ]
    with pytest.raises(RuntimeError):
        notifier.notify([ATOM])
    stuck.released.set()
    assert notifier.close(DEADLINE)
    assert stuck.urls() == [ATOM]
    assert len(messages(logs, logging.WARNING)) == 1


def test_close_first_delivers_what_it_can(net: Net) -> None:
    hub = net.hub(500)
    notifier = net.notifier([hub.url])
    notifier.notify([ATOM, RSS])
    assert notifier.close(DEADLINE)
    assert hub.urls() == [ATOM, RSS, ATOM]  # the retry waits its backoff; RSS does not


def test_without_hubs_nothing_happens() -> None:
    notifier = HubNotifier([])
    notifier.notify([ATOM])
    assert notifier.wait_idle(0)
    assert notifier.close(0)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hub.example/",
        "hub.example",
        "http://",
        "http://hub.example:99999/",
        "https://user:secret@hub.example/",
    ],
)
def test_a_hub_must_be_an_http_url(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^websub_hub: .*" + re.escape(repr(url))):
        HubNotifier([url])


def test_bad_tunables_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        HubNotifier([], max_attempts=0)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "jitter", "expected"),
    [
        (1, None, 0.5, 1.0),
        (2, None, 0.5, 2.0),
        (4, None, 0.5, 8.0),
        (1, None, 0.0, 0.9),
        (7, None, 0.5, 60.0),
        (1000, None, 0.5, 60.0),
        (1, 30.0, 0.5, 30.0),
        (1, 0.0, 0.5, 1.0),
        (1, 3600.0, 0.5, 60.0),
    ],
)
def test_backoff_doubles_honours_retry_after_and_stays_under_the_cap(
    attempts: int, retry_after: float | None, jitter: float, expected: float
) -> None:
    delay = backoff_delay(attempts, base=1.0, cap=60.0, retry_after=retry_after, jitter=jitter)
    assert delay == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(days=1), usegmt=True), 0.0),
        ("soon", None),
        ("-5", None),
        ("\u00b2", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_as_seconds_or_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "delivered", "retry"),
    [(200, True, False), (202, True, False), (204, True, False), (500, False, True),
     (503, False, True), (429, False, True), (408, False, True), (400, False, False),
     (404, False, False), (301, False, False), (304, False, False)],
)  # fmt: skip
def test_answers_are_sorted_into_delivered_retried_refused(
    status: int, delivered: bool, retry: bool
) -> None:
    outcome = judge(status, "Reason", "7", now=NOW)
    assert (outcome.delivered, outcome.retry) == (delivered, retry)
    assert outcome.retry_after == (7.0 if retry else None)
