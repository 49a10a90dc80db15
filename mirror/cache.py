"""The status cache: fresh for a TTL, stale while revalidating, bounded.

One entry per image. After the TTL a request gets the stale answer at
once while one background refresh runs; a stale answer stands in for a
failing upstream for up to a day. Not-found answers are cached for the
TTL like any answer; upstream failures are not cached at all.

Concurrent requests for one cold image share one lookup (single-flight).
Waiting holds a server thread, so at most ``cold_slots`` requests wait at
once; the rest are told to retry, which keeps threads free for warm
answers when the upstream is slow.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cachetools

from mirror.errors import Busy, MirrorError, NotFound, UpstreamTimeout

log = logging.getLogger(__name__)

STALE_LIMIT = 24 * 3600.0


@dataclass
class Entry:
    value: object
    stored: float


@dataclass
class Flight:
    done: threading.Event = field(default_factory=threading.Event)
    value: object = None
    error: MirrorError | None = None


class StatusCache:
    """Answers ``lookup(image)`` through a bounded, single-flight cache."""

    def __init__(self, lookup, *, ttl=60.0, maxsize=10000, wait=15.0,
                 cold_slots=6, clock=time.monotonic, refreshers=2):
        self.lookup = lookup
        self.ttl = ttl
        self.wait = wait
        self.clock = clock
        self._entries = cachetools.LRUCache(maxsize)
        self._flights = {}
        self._lock = threading.Lock()
        self._cold = threading.BoundedSemaphore(max(1, cold_slots))
        self._pool = ThreadPoolExecutor(refreshers, "refresh")
        self.observers = []

    def get(self, key, lookup=None):
        """The status of ``key``; raises NotFound or an upstream error.

        With ``lookup``, a miss is looked up by that function alone,
        outside single-flight (for peers' requests, which must not wait
        on lookups that may ask peers in turn).
        """
        with self._lock:
            entry = self._entries.get(key)
            age = self.clock() - entry.stored if entry else None
            if entry and age < self.ttl:
                self._notify("hit")
                return unwrap(entry.value)
            if entry and age < STALE_LIMIT and not is_error(entry.value):
                self._notify("stale")
                self._refresh_later(key)
                return entry.value.with_source("cache")
            flight, leader = (Flight(), True) if lookup else self._join(key)
        self._notify("miss")
        return unwrap(self._cold_wait(key, flight, leader, lookup))

    def refresh(self, key):
        """Look ``key`` up now, whatever the cache holds or a lookup
        already under way would bring (for webhooks: after a push)."""
        flight = Flight()
        with self._lock:
            self._flights[key] = flight
        self._run(key, flight)

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __len__(self):
        return len(self._entries)

    def _join(self, key):
        flight = self._flights.get(key)
        if flight is not None:
            return flight, False
        flight = self._flights[key] = Flight()
        return flight, True

    def _cold_wait(self, key, flight, leader, lookup=None):
        if not self._cold.acquire(blocking=False):
            if leader and lookup is None:
                self._pool.submit(self._run, key, flight)
            raise Busy("this mirror is busy with other lookups; retry in "
                       "a few seconds", retry_after=2)
        try:
            if leader:
                self._run(key, flight, lookup)
            elif not flight.done.wait(self.wait):
                raise UpstreamTimeout("Docker Hub did not answer in time")
        finally:
            self._cold.release()
        if flight.error is not None:
            return flight.error
        return flight.value

    def _refresh_later(self, key):
        if key in self._flights:
            return
        flight, _ = self._join(key)
        self._pool.submit(self._run, key, flight)

    def _run(self, key, flight, lookup=None):
        try:
            flight.value = (lookup or self.lookup)(key)
        except NotFound as error:
            flight.value = error
        except MirrorError as error:
            flight.error = error
        except Exception as error:
            log.exception("lookup of %s failed unexpectedly", key)
            flight.error = MirrorError(
                "the mirror failed unexpectedly; the operator's log has "
                "the details")
            flight.error.__cause__ = error
        with self._lock:
            if flight.error is None:
                self._entries[key] = Entry(flight.value, self.clock())
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.done.set()

    def _notify(self, outcome):
        for observer in self.observers:
            observer(outcome)


def is_error(value):
    return isinstance(value, MirrorError)


def unwrap(value):
    if is_error(value):
        raise value
    return value
