"""The status cache: TTL, stale answers, single-flight, bounds."""

import threading
import time

import pytest

from mirror.cache import STALE_LIMIT, StatusCache
from mirror.errors import Busy, NotFound, UpstreamUnavailable
from mirror.status import Status

OK = Status(10, "success", "latest", "buildhistory")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Lookup:
    """A lookup that answers from a script and counts its calls."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, key):
        self.calls += 1
        self.gate.wait(5)
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def settle(cache):
    """Wait for background refreshes to finish."""
    deadline = time.monotonic() + 5
    while cache._flights and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def clock():
    return Clock()


def test_fresh_answer_makes_no_second_lookup(clock):
    lookup = Lookup(OK)
    cache = StatusCache(lookup, ttl=60, clock=clock)

    cache.get("k")
    clock.now += 59
    answer = cache.get("k")

    assert answer == OK
    assert lookup.calls == 1


def test_stale_answer_is_served_at_once_while_one_refresh_runs(clock):
    failed = Status(-1, "failed", "latest", "buildhistory")
    lookup = Lookup(OK, failed)
    cache = StatusCache(lookup, ttl=60, clock=clock)
    cache.get("k")
    clock.now += 61
    lookup.gate.clear()

    answers = [cache.get("k") for _ in range(5)]
    lookup.gate.set()
    settle(cache)

    assert all(a.status == 10 and a.source == "cache" for a in answers)
    assert lookup.calls == 2
    assert cache.get("k") == failed


def test_stale_answer_stands_in_for_a_failing_upstream(clock):
    lookup = Lookup(OK, UpstreamUnavailable("down"))
    cache = StatusCache(lookup, ttl=60, clock=clock)
    cache.get("k")

    clock.now += 3600
    first = cache.get("k")
    settle(cache)
    second = cache.get("k")

    assert first.status == second.status == 10
    assert second.source == "cache"


def test_answers_older_than_a_day_are_not_served(clock):
    lookup = Lookup(OK, UpstreamUnavailable("down"))
    cache = StatusCache(lookup, ttl=60, clock=clock)
    cache.get("k")

    clock.now += STALE_LIMIT + 1
    with pytest.raises(UpstreamUnavailable):
        cache.get("k")


def test_not_found_is_cached_for_the_ttl(clock):
    lookup = Lookup(NotFound("gone"), OK)
    cache = StatusCache(lookup, ttl=60, clock=clock)

    for _ in range(3):
        with pytest.raises(NotFound):
            cache.get("k")
    clock.now += 61
    answer = cache.get("k")

    assert answer == OK
    assert lookup.calls == 2


def test_upstream_failures_are_not_cached(clock):
    lookup = Lookup(UpstreamUnavailable("down"), OK)
    cache = StatusCache(lookup, ttl=60, clock=clock)

    with pytest.raises(UpstreamUnavailable):
        cache.get("k")

    assert cache.get("k") == OK
    assert lookup.calls == 2


def test_concurrent_cold_requests_share_one_lookup():
    lookup = Lookup(OK)
    lookup.gate.clear()
    cache = StatusCache(lookup, ttl=60, cold_slots=50)
    answers = []

    def ask():
        answers.append(cache.get("k"))

    threads = [threading.Thread(target=ask) for _ in range(40)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    lookup.gate.set()
    for thread in threads:
        thread.join(5)

    assert lookup.calls == 1
    assert answers == [OK] * 40


def test_waiters_beyond_the_cold_slots_are_told_to_retry():
    lookup = Lookup(OK)
    lookup.gate.clear()
    cache = StatusCache(lookup, ttl=60, cold_slots=2)
    threads = [threading.Thread(target=cache.get, args=("k",))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)

    with pytest.raises(Busy) as caught:
        cache.get("k")
    lookup.gate.set()
    for thread in threads:
        thread.join(5)

    assert caught.value.retry_after
    assert lookup.calls == 1


def test_warm_answers_are_served_while_a_cold_lookup_hangs():
    slow = Lookup(OK)
    cache = StatusCache(slow, ttl=60, cold_slots=2)
    cache.get("warm")
    slow.gate.clear()
    hanging = threading.Thread(target=cache.get, args=("cold",))
    hanging.start()
    time.sleep(0.05)

    started = time.monotonic()
    answer = cache.get("warm")
    elapsed = time.monotonic() - started
    slow.gate.set()
    hanging.join(5)

    assert answer == OK
    assert elapsed < 1


def test_cache_is_bounded(clock):
    cache = StatusCache(Lookup(OK), ttl=60, maxsize=100, clock=clock)

    for number in range(1000):
        cache.get(f"k{number}")

    assert len(cache) == 100
