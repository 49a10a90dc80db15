"""The HTTP client for Docker Hub: one pooled session, caps and back-off.

Every call has connect and read timeouts and shares a deadline with the
other calls of its lookup; bodies over the size cap are refused; a 429
puts the whole upstream host in back-off, during which nothing is sent.
"""

import email.utils
import json
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from mirror import SOFTWARE, __version__
from mirror.errors import RateLimited, UpstreamTimeout, UpstreamUnavailable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
MAX_BODY = 2 * 1024 * 1024
DEFAULT_BACKOFF = 60.0
MAX_BACKOFF = 3600.0
USER_AGENT = f"{SOFTWARE}/{__version__} (+mirror)"


@dataclass(frozen=True)
class Reply:
    """An upstream answer: its status and its JSON body, if it had one."""

    status: int
    data: object = None

    @property
    def json_object(self):
        """The body if it was a JSON object, else None."""
        return self.data if isinstance(self.data, dict) else None


def origin(url):
    parts = urlsplit(url)
    return (parts.scheme.lower(), parts.netloc.lower())


def parse_json(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


def make_session(pool_size=16):
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=4, pool_maxsize=pool_size, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session


def backoff_seconds(headers, now):
    """How long a 429 asks us to wait, from Retry-After or the reset time."""
    retry_after = headers.get("Retry-After", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    if retry_after:
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
            return when.timestamp() - now
        except (TypeError, ValueError):
            pass
    reset = headers.get("X-RateLimit-Reset", "").strip()
    if reset.isdigit():
        return float(reset) - now
    return DEFAULT_BACKOFF


class Upstream:
    """Docker Hub's API at ``base_url``, reached politely."""

    def __init__(self, base_url, *, session=None, max_body=MAX_BODY,
                 clock=time.monotonic, wallclock=time.time,
                 auth=None):
        self.base_url = base_url.rstrip("/")
        self.origin = origin(self.base_url)
        self.session = session or make_session()
        self.max_body = max_body
        self.clock = clock
        self.wallclock = wallclock
        self.auth = auth
        self._backoff_until = 0.0
        self._lock = threading.Lock()
        self.observers = []

    def url(self, path):
        return self.base_url + path

    def same_origin(self, url):
        return origin(url) == self.origin

    def resolve(self, current, link):
        """The absolute form of a ``next`` link, or None if off-origin."""
        absolute = urljoin(current, link)
        return absolute if self.same_origin(absolute) else None

    def backoff_remaining(self):
        return max(0.0, self._backoff_until - self.wallclock())

    def get(self, url, deadline):
        """GET ``url`` before the monotonic ``deadline``; return a Reply."""
        wait = self.backoff_remaining()
        if wait > 0:
            raise RateLimited(
                "Docker Hub rate-limited this mirror; retry in "
                f"{int(wait) + 1} s", retry_after=int(wait) + 1)
        started = self.clock()
        remaining = deadline - started
        if remaining <= 0:
            raise UpstreamTimeout("Docker Hub did not answer in time")
        try:
            reply, headers = self._fetch(url, remaining, deadline)
            if reply.status == 401 and self.auth:
                self.auth.invalidate()
                reply, headers = self._fetch(
                    url, deadline - self.clock(), deadline)
        except (UpstreamTimeout, UpstreamUnavailable) as error:
            self._notify("error", started)
            log.warning("upstream %s failed: %s", url, error.description)
            raise
        self._notify(str(reply.status), started)
        self._note_rate_limit(reply.status, headers)
        return reply

    def _fetch(self, url, remaining, deadline):
        if remaining <= 0:
            raise UpstreamTimeout("Docker Hub did not answer in time")
        timeout = (min(CONNECT_TIMEOUT, remaining),
                   min(READ_TIMEOUT, remaining))
        headers = self.auth.headers() if self.auth else None
        try:
            with self.session.get(url, timeout=timeout, stream=True,
                                  allow_redirects=False,
                                  headers=headers) as response:
                body = self._read(response, deadline)
                return (Reply(response.status_code, parse_json(body)),
                        response.headers)
        except requests.Timeout as error:
            raise UpstreamTimeout(
                "Docker Hub did not answer in time") from error
        except requests.RequestException as error:
            raise UpstreamUnavailable(
                "Docker Hub could not be reached") from error

    def _read(self, response, deadline):
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise UpstreamUnavailable("Docker Hub sent an oversized answer")
        chunks, size = [], 0
        for chunk in response.iter_content(65536):
            size += len(chunk)
            if size > self.max_body:
                raise UpstreamUnavailable(
                    "Docker Hub sent an oversized answer")
            if self.clock() > deadline:
                raise UpstreamTimeout("Docker Hub did not answer in time")
            chunks.append(chunk)
        return b"".join(chunks)

    def _note_rate_limit(self, status, headers):
        if status == 429:
            self._enter_backoff(headers)
            raise RateLimited(
                "Docker Hub rate-limited this mirror; retry in "
                f"{int(self.backoff_remaining()) + 1} s",
                retry_after=int(self.backoff_remaining()) + 1)
        if headers.get("X-RateLimit-Remaining", "").strip() == "0":
            self._enter_backoff(headers, announced=False)

    def _enter_backoff(self, headers, announced=True):
        now = self.wallclock()
        seconds = backoff_seconds(headers, now)
        if not announced and not headers.get("X-RateLimit-Reset"):
            return
        seconds = min(max(seconds, 1.0), MAX_BACKOFF)
        with self._lock:
            self._backoff_until = max(self._backoff_until, now + seconds)
        log.warning("upstream %s in back-off for %.0f s",
                    self.base_url, seconds)

    def _notify(self, outcome, started):
        for observer in self.observers:
            observer(outcome, self.clock() - started)
