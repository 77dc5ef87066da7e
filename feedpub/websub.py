"""WebSub publish pings: tell each hub which feeds changed, in the background.

The WebSub recommendation leaves the publisher-to-hub notice to each hub ("any mechanism"); the
common convention, followed here, is a form-encoded POST of `hub.mode=publish` and
`hub.url=<feed URL>`, answered with any 2xx (usually 204). Each hub has its own queue and worker
thread, so a hub that is slow, failing or hanging delays only its own notices, and `notify`
never waits for the network. A feed named again while its notice is still queued (or waiting
to be retried) is sent once; a feed named again while its POST is on the wire is sent again,
since the hub may already have fetched the old bytes.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urlencode, urlsplit

from feedpub import __version__
from feedpub.errors import ConfigError

log = logging.getLogger(__name__)

USER_AGENT = f"feedpub/{__version__}"
_FORM = "application/x-www-form-urlencoded"
_RETRIED_STATUSES = frozenset({408, 429})  # and every 5xx


@dataclass(frozen=True)
class Outcome:
    """What one POST to a hub came to."""

    delivered: bool
    retry: bool
    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class _Policy:
    timeout: float
    max_attempts: int
    backoff: float
    backoff_cap: float


@dataclass(frozen=True)
class _Job:
    url: str
    attempts: int  # POSTs made so far
    due: float  # monotonic time of the next one


def _monotonic() -> float:
    return time.monotonic()


def _wall_now() -> datetime:
    return datetime.now(UTC)


def check_hub_url(url: str) -> None:
    """Raise ConfigError unless `url` is an http or https URL that a POST can be sent to."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 -- parsing the port is what raises on a bad one
    except ValueError as exc:
        raise ConfigError(f"websub_hub: bad port in {url!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"websub_hub: not an http or https URL: {url!r}")
    if parts.username is not None:
        raise ConfigError(f"websub_hub: credentials in a hub URL are not supported: {url!r}")


def backoff_delay(
    attempts: int, *, base: float, cap: float, retry_after: float | None, jitter: float
) -> float:
    """Seconds to wait after `attempts` failed POSTs (1, 2, ...) before the next one.

    Doubles from `base`, spread by +-10 % with `jitter` (in [0, 1)), never above `cap`; a hub's
    Retry-After is honoured when it asks for longer, still within `cap`.
    """
    delay = base * 2.0 ** min(attempts - 1, 32) * (0.9 + 0.2 * jitter)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP-date; None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def judge(status: int, reason: str, retry_after: str | None, *, now: datetime) -> Outcome:
    """Sort a hub's answer: 2xx delivered; 408, 429 and 5xx retried; anything else refused."""
    if 200 <= status < 300:
        return Outcome(delivered=True, retry=False, reason=f"HTTP {status}")
    text = f"HTTP {status} {reason}".rstrip()
    if status >= 500 or status in _RETRIED_STATUSES:
        seconds = parse_retry_after(retry_after, now=now)
        return Outcome(delivered=False, retry=True, reason=text, retry_after=seconds)
    return Outcome(delivered=False, retry=False, reason=text)


def post_publish(hub: str, feed_url: str, *, timeout: float) -> Outcome:
    """POST `hub.mode=publish&hub.url=<feed_url>` to `hub` once; never follows redirects."""
    parts = urlsplit(hub)
    body = urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode("ascii")
    headers = {"Content-Type": _FORM, "User-Agent": USER_AGENT}
    connection = _connect(parts, timeout)
    try:
        connection.request("POST", _target(parts), body=body, headers=headers)
        response = connection.getresponse()  # its body is not wanted: close() discards it
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(delivered=False, retry=True, reason=str(exc) or type(exc).__name__)
    finally:
        connection.close()
    return judge(
        response.status, response.reason, response.getheader("Retry-After"), now=_wall_now()
    )


def _connect(parts: SplitResult, timeout: float) -> http.client.HTTPConnection:
    # An explicit port always: http.client would misread a bare IPv6 host such as "::1".
    host = parts.hostname or ""
    if parts.scheme == "https":
        return http.client.HTTPSConnection(host, parts.port or 443, timeout=timeout)
    return http.client.HTTPConnection(host, parts.port or 80, timeout=timeout)


def _target(parts: SplitResult) -> str:
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


class _HubWorker:
    """One hub's queue of feed URLs and the daemon thread that empties it."""

    def __init__(self, hub: str, policy: _Policy) -> None:
        self.hub = hub
        self._policy = policy
        self._cond = threading.Condition()
        self._jobs: dict[str, _Job] = {}  # queued or waiting for a retry; insertion order
        self._in_flight: str | None = None
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name=f"websub {hub}", daemon=True)
        self.thread.start()

    def enqueue(self, urls: Sequence[str]) -> None:
        now = _monotonic()
        with self._cond:
            if self._stopped:
                return
            for url in urls:
                self._jobs.setdefault(url, _Job(url, attempts=0, due=now))
            self._cond.notify_all()

    def wait_idle(self, deadline: float) -> bool:
        with self._cond:
            while self._jobs or self._in_flight is not None:
                remaining = deadline - _monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def stop(self) -> list[str]:
        """Stop taking jobs; return the feed URLs given up on, the one on the wire first."""
        with self._cond:
            if self._stopped:
                return []
            self._stopped = True
            abandoned = [] if self._in_flight is None else [self._in_flight]
            abandoned.extend(self._jobs)
            self._jobs.clear()
            self._cond.notify_all()
        return abandoned

    def _run(self) -> None:
        while (job := self._take()) is not None:
            outcome = post_publish(self.hub, job.url, timeout=self._policy.timeout)
            self._settle(job, outcome)

    def _take(self) -> _Job | None:
        with self._cond:
            while not self._stopped:
                job = min(self._jobs.values(), key=lambda j: j.due, default=None)
                if job is None:
                    self._cond.wait()
                    continue
                wait = job.due - _monotonic()
                if wait <= 0:
                    del self._jobs[job.url]
                    self._in_flight = job.url
                    return job
                self._cond.wait(wait)
            return None

    def _settle(self, job: _Job, outcome: Outcome) -> None:
        attempts = job.attempts + 1
        retry_in = self._retry_in(attempts, outcome)
        if outcome.delivered or not self._stopped:  # else close() has logged it already
            self._log(job.url, attempts, outcome, retry_in)  # before wait_idle() can return
        with self._cond:
            self._in_flight = None
            if retry_in is not None and not self._stopped:
                # Replaces a notice queued meanwhile: the retry covers it, on the retry's schedule.
                self._jobs[job.url] = _Job(job.url, attempts, _monotonic() + retry_in)
            self._cond.notify_all()

    def _retry_in(self, attempts: int, outcome: Outcome) -> float | None:
        if not outcome.retry or attempts >= self._policy.max_attempts:
            return None
        return backoff_delay(
            attempts,
            base=self._policy.backoff,
            cap=self._policy.backoff_cap,
            retry_after=outcome.retry_after,
            jitter=random.random(),  # noqa: S311 -- spreads retries, no secret
        )

    def _log(self, url: str, attempts: int, outcome: Outcome, retry_in: float | None) -> None:
        if outcome.delivered and attempts == 1:
            log.debug("websub: notified %s of %s", self.hub, url)
        elif outcome.delivered:
            log.info("websub: notified %s of %s after %d attempts", self.hub, url, attempts)
        elif retry_in is None:
            log.warning(
                "websub: gave up notifying %s of %s after %d attempt(s): %s",
                self.hub,
                url,
                attempts,
                outcome.reason,
            )
        elif attempts == 1:
            log.info("websub: %s failed for %s: %s; retrying", self.hub, url, outcome.reason)
        else:
            log.debug("websub: %s failed again for %s: %s", self.hub, url, outcome.reason)


class HubNotifier:
    """Pings WebSub hubs in the background: one daemon thread per hub, retries with backoff.

    `notify` returns at once. `wait_idle` waits, bounded, for every queue to empty (delivered or
    given up). `close` stops the workers after at most its timeout, logging what it gives up on.
    """

    def __init__(
        self,
        hubs: Sequence[str],
        *,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff: float = 1.0,
        backoff_cap: float = 60.0,
    ) -> None:
        for hub in hubs:
            check_hub_url(hub)
        if timeout <= 0 or max_attempts < 1 or backoff < 0 or backoff_cap < backoff:
            raise ValueError("websub: timeout > 0, max_attempts >= 1, 0 <= backoff <= backoff_cap")
        policy = _Policy(timeout, max_attempts, backoff, backoff_cap)
        self._workers = [_HubWorker(hub, policy) for hub in dict.fromkeys(hubs)]
        self._closed = False

    @property
    def hubs(self) -> tuple[str, ...]:
        return tuple(worker.hub for worker in self._workers)

    def notify(self, feed_urls: Iterable[str]) -> None:
        """Queue one publish notice per hub and feed URL; duplicates still queued are merged."""
        if self._closed:
            raise RuntimeError("websub: notify() after close()")
        if isinstance(feed_urls, str):
            raise TypeError("websub: notify() takes a collection of URLs, not one string")
        urls = list(dict.fromkeys(feed_urls))
        if urls:
            for worker in self._workers:
                worker.enqueue(urls)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every notice is delivered or given up on; False if `timeout` ran out first."""
        return self._wait_idle_until(_monotonic() + timeout)

    def close(self, timeout: float) -> bool:
        """Deliver what can be within `timeout`, give up on the rest, and stop the workers.

        Returns True when every worker thread has ended; False leaves daemon threads blocked on a
        hub that does not answer: they end within the request timeout, or with the process.
        Calling it again waits for them once more.
        """
        self._closed = True
        deadline = _monotonic() + timeout
        self._wait_idle_until(deadline)
        for worker in self._workers:
            abandoned = worker.stop()
            if abandoned:
                log.warning(
                    "websub: closed with %d notification(s) to %s undelivered: %s",
                    len(abandoned),
                    worker.hub,
                    ", ".join(abandoned),
                )
        for worker in self._workers:
            worker.thread.join(max(0.0, deadline - _monotonic()))
        return not any(worker.thread.is_alive() for worker in self._workers)

    def _wait_idle_until(self, deadline: float) -> bool:
        return all(worker.wait_idle(deadline) for worker in self._workers)
