"""The registry service with a fake clock: membership, signing, state."""

import base64
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import webtest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import state
from registry.config import RegistryConfig
from registry.envelope import verify_envelope
from registry.health import CheckResult
from registry.service import (
    LIST_FILE,
    STATE_FILE,
    Registry,
    RegistryError,
    make_registry_app,
)

REGISTRY = "https://registry.example.org"
A = "https://a.example.org"
B = "https://b.example.org"
C = "https://c.example.org"
OK = CheckResult(True, 0.01, None)
FAIL = CheckResult(False, None, "connection refused")
INTERVAL = 60.0
HOUR = 3600.0


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def health():
    return FakeChecks()


@pytest.fixture
def make(key, clock, health, tmp_path):
    made = []

    def make(mirrors=(A,), state_dir=tmp_path, **options):
        registry = new_registry(key, clock, health, mirrors, state_dir,
                                **options)
        made.append(registry)
        return registry

    yield make
    for registry in made:
        registry.registrations.close()


# -- the first list ----------------------------------------------------


def test_listed_mirrors_are_signed_at_once(make, key, clock):
    registry = make(mirrors=(A, B))

    assert registry.publish_if_due() is True

    signed = verify(registry, key, clock)
    assert signed.urls == (A, B)
    assert signed.version == int(clock.now)
    assert signed.registry == REGISTRY


def test_without_a_mirror_nothing_is_signed(make):
    registry = make(mirrors=())

    registry.tick()

    assert registry.signed_list_bytes() is None
    assert registry.list_version() is None


# -- when to sign again ------------------------------------------------


def test_a_membership_change_is_signed_at_most_once_per_interval(
        make, clock):
    registry = make(mirrors=(A,))
    registry.publish_if_due()
    first = registry.list_version()

    clock.now += 10
    registry.members.add(B, listed=True)
    assert registry.publish_if_due() is False
    clock.now += INTERVAL - 10.5
    assert registry.publish_if_due() is False

    clock.now += 0.5
    assert registry.publish_if_due() is True
    assert listed_urls(registry) == [A, B]
    assert registry.list_version() > first

    clock.now += 1
    registry.members.add(C, listed=True)
    assert registry.publish_if_due() is False
    clock.now += INTERVAL
    assert registry.publish_if_due() is True
    assert listed_urls(registry) == [A, B, C]


def test_an_unchanged_list_is_signed_again_every_hour(make, clock):
    registry = make(mirrors=(A,))
    registry.publish_if_due()
    first = registry.signed_list_bytes()

    clock.now += HOUR - 1
    assert registry.publish_if_due() is False
    assert registry.signed_list_bytes() == first

    clock.now += 1
    assert registry.publish_if_due() is True
    assert registry.signed_list_bytes() != first
    assert registry.list_version() == int(clock.now)


def test_an_empty_list_is_never_signed(make, clock, health):
    registry = make(mirrors=(A,))
    registry.tick()
    last = registry.signed_list_bytes()

    health.results[A] = FAIL
    for _ in range(200):
        clock.now += INTERVAL
        registry.tick()

    assert registry.members.nodes[A].state == "down"
    assert registry.signed_list_bytes() == last
    assert clock.now - registry.published.signed_at > 2 * HOUR


def test_a_dead_mirror_leaves_the_list_after_three_checks(make, clock,
                                                          health):
    registry = make(mirrors=(A, B))
    registry.tick()
    health.results[B] = FAIL

    for _ in range(3):
        clock.now += INTERVAL * 1.3
        registry.tick()

    assert listed_urls(registry) == [A]


def test_a_proven_registration_is_listed_after_probation(make, clock):
    registry = make(mirrors=(A,), probation=2)
    registry.tick()

    registry.mirror_registered(B)
    assert registry.members.nodes[B].state == "probation"
    clock.now += INTERVAL * 1.3
    registry.tick()
    assert listed_urls(registry) == [A]

    clock.now += INTERVAL * 1.3
    registry.tick()
    assert listed_urls(registry) == [A, B]


# -- health checks -----------------------------------------------------


def test_checks_run_outside_the_lock(make, clock, health):
    registry = make(mirrors=(A, B))
    health.during = lambda url: health.seen.append(registry.lock.locked())

    clock.now += INTERVAL * 1.3
    registry.tick()

    assert health.seen == [False, False]


def test_a_slow_check_does_not_hold_up_the_others(key, clock, tmp_path):
    release = threading.Event()

    def check(url):
        if url == B:
            release.wait(10)
        return OK

    pool = ThreadPoolExecutor(4)
    registry = Registry(config(mirrors=(A, B), state_dir=tmp_path), key,
                        clock, FixedRandom(), check, pool)
    nodes = registry.members.nodes
    try:
        clock.now += INTERVAL * 1.3
        wait_until(lambda: registry.check_round() or nodes[A].last_check)

        assert nodes[A].last_check == clock.now
        assert nodes[B].last_check is None
        assert B in registry.in_flight
    finally:
        release.set()
        pool.shutdown()
        registry.registrations.close()


# -- state across restarts ---------------------------------------------


def test_a_restart_serves_the_saved_list(make):
    registry = make(mirrors=(A,))
    registry.tick()

    again = make(mirrors=())

    assert again.signed_list_bytes() == registry.signed_list_bytes()
    assert list(again.members.nodes) == [A]
    assert again.publish_if_due() is False


def test_version_never_decreases_across_a_restart(make, clock):
    registry = make(mirrors=(A,))
    registry.tick()
    served = registry.list_version()

    clock.now -= 1000  # the clock went back while the registry was down
    again = make(mirrors=(A, B))
    clock.now += INTERVAL
    assert again.publish_if_due() is True

    assert again.list_version() == served + 1


def test_a_crash_before_the_list_is_written_loses_no_version(
        make, clock, monkeypatch):
    registry = make(mirrors=(A,))
    registry.tick()
    served = registry.signed_list_bytes()

    clock.now += HOUR
    monkeypatch.setattr(state, "write_atomic", refusing_the_list())
    assert registry.publish_if_due() is False
    assert registry.signed_list_bytes() == served
    counted = registry.version
    monkeypatch.undo()

    again = make(mirrors=())
    assert again.signed_list_bytes() == served
    again.publish_if_due()
    assert again.list_version() > counted


def test_a_counter_older_than_the_saved_list_is_raised(make, tmp_path):
    registry = make(mirrors=(A,))
    registry.tick()
    lower_the_saved_counter(tmp_path)

    again = make(mirrors=())

    assert again.version == registry.list_version()


def test_a_list_signed_by_another_key_is_counted_but_not_served(
        make, clock, health, tmp_path):
    registry = make(mirrors=(A,))
    registry.tick()
    lower_the_saved_counter(tmp_path)

    other = new_registry(Ed25519PrivateKey.generate(), clock, health,
                         (), tmp_path)
    other.registrations.close()

    assert other.signed_list_bytes() is None
    assert other.version == registry.list_version()


def test_unreadable_state_stops_the_start(make, tmp_path):
    (tmp_path / STATE_FILE).write_text("{torn")

    with pytest.raises(RegistryError, match="restore one of them"):
        make()


def test_stop_flushes_the_state(make, tmp_path):
    registry = make(mirrors=(A,))
    registry.tick()
    registry.mirror_registered(B)

    registry.stop()

    saved = state.load_json(tmp_path / STATE_FILE)
    assert [node["url"] for node in saved["members"]["nodes"]] == [A, B]
    assert saved["version"] == registry.list_version()
    assert (tmp_path / LIST_FILE).read_bytes() == (
        registry.signed_list_bytes())


# -- the app -----------------------------------------------------------


def test_health_reports_the_list_version(make):
    registry = make(mirrors=(A,))
    app = webtest.TestApp(make_registry_app(registry.config, registry))

    assert app.get("/v1/health").json["list_version"] is None
    registry.tick()
    body = app.get("/v1/health").json

    assert body == {"ok": True, "software": "dockerhub-build-status",
                    "version": body["version"], "api_version": 1,
                    "list_version": registry.list_version()}


def test_the_signed_list_is_served_byte_for_byte(make):
    registry = make(mirrors=(A,))
    app = webtest.TestApp(make_registry_app(registry.config, registry))

    app.get("/v1/mirrors.json", status=404)
    registry.tick()
    answer = app.get("/v1/mirrors.json")

    assert answer.body == registry.signed_list_bytes()
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_peers_show_every_member_with_its_health(make):
    registry = make(mirrors=(A,))
    registry.mirror_registered(B)
    app = webtest.TestApp(make_registry_app(registry.config, registry))

    peers = app.get("/v1/peers").json["peers"]

    assert [(p["url"], p["state"]) for p in peers] == [
        (A, "up"), (B, "probation")]


def test_unknown_paths_are_json_errors_naming_the_endpoints(make):
    registry = make()
    app = webtest.TestApp(make_registry_app(registry.config, registry))

    answer = app.get("/build/library/nginx", status=404)

    assert answer.json["request"] == "error"
    assert "/v1/mirrors.json" in answer.json["description"]
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_registrations_of_bad_urls_are_refused(make):
    registry = make()
    app = webtest.TestApp(make_registry_app(registry.config, registry))

    answer = app.post_json("/v1/register", {"url": "http://10.0.0.1"},
                           status=400)

    assert answer.json["request"] == "error"


# -- helpers and doubles -----------------------------------------------


def config(mirrors=(A,), state_dir=None, **options):
    return RegistryConfig(
        key=None, public_url=REGISTRY, mirror=list(mirrors),
        state_dir=str(state_dir) if state_dir else None,
        health_interval=INTERVAL, **options)


def new_registry(key, clock, health, mirrors, state_dir, **options):
    return Registry(config(mirrors, state_dir, **options), key, clock,
                    FixedRandom(), health, ImmediateExecutor())


def verify(registry, key, clock):
    return verify_envelope(
        registry.signed_list_bytes(), [key.public_key()], REGISTRY, None,
        datetime.fromtimestamp(clock.now, UTC))


def listed_urls(registry):
    envelope = json.loads(registry.signed_list_bytes())
    payload = json.loads(base64.b64decode(envelope["payload"]))
    return [mirror["url"] for mirror in payload["mirrors"]]


def refusing_the_list():
    """state.write_atomic, but the disk is full for the signed list."""
    write_atomic = state.write_atomic

    def write(path, raw):
        if Path(path).name == LIST_FILE:
            raise OSError(28, "No space left on device")
        return write_atomic(path, raw)

    return write


def lower_the_saved_counter(state_dir):
    saved = state.load_json(state_dir / STATE_FILE)
    saved["version"] -= 50
    (state_dir / STATE_FILE).write_text(json.dumps(saved))


def wait_until(condition, timeout=5.0):
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met in time")


class FakeClock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


class FixedRandom:
    """Picks the middle of every range: checks due at half an interval,
    no jitter."""

    def uniform(self, low, high):
        return (low + high) / 2


class FakeChecks:
    """Health checks that answer from a table (OK by default)."""

    def __init__(self):
        self.results = {}
        self.seen = []
        self.during = None

    def __call__(self, url):
        if self.during:
            self.during(url)
        return self.results.get(url, OK)


class ImmediateExecutor:
    """Runs each check when it is submitted, in the caller's thread."""

    def submit(self, function, *args):
        future = Future()
        future.set_result(function(*args))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass
