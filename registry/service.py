"""The registry service: membership, health checks, the signed list.

Members are a :class:`~registry.health.HealthTable`: ``--mirror`` URLs
start listed, registrations proven through :class:`Registrations` start
on probation. A background loop health-checks the members that are due
(in a small thread pool, never holding the lock), records the results,
and signs a new list when the listed mirrors change (at most once per
health interval) and at least hourly. A list is never empty: while no
mirror is healthy the last signed list stays published.

State lives in ``--state-dir``: the members with their health history
and the version counter in one JSON file, the last signed list beside it
byte for byte. The counter is written before the list signed with it is
written or served, so a kill at any instant leaves a loadable state and
a restarted registry never serves a lower version than it ever did.

Usage::

    registry = Registry(config)
    app = make_registry_app(config, registry)
    registry.start()
    ...
    registry.stop()
"""

import base64
import binascii
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import bottle

from mirror import SOFTWARE, __version__, plugins
from registry import state
from registry.envelope import (
    EnvelopeError,
    make_payload,
    next_version,
    sign_envelope,
    verify_envelope,
)
from registry.health import (
    API_VERSION,
    CheckResult,
    HealthPolicy,
    HealthTable,
    check_health,
)
from registry.keys import KeyFileError, load_key
from registry.node import Challenges, Registrations, add_node_routes

log = logging.getLogger(__name__)

STATE_FILE = "registry-state.json"
LIST_FILE = "mirrors.json"
RESIGN_EVERY = 3600.0
SAVE_EVERY = 60.0
TICK = 1.0
CHECK_WORKERS = 8


class RegistryError(Exception):
    """The registry cannot start; ``reason`` tells the operator why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Published(NamedTuple):
    """The signed list being served, and what it was signed from."""

    envelope: bytes
    version: int
    urls: frozenset
    signed_at: float


class Registry:
    """Members, their health, and the signed list of the healthy ones.

    ``key`` defaults to the one in ``config.key``; ``clock`` (Unix
    seconds), ``rng``, ``checker`` (``url -> CheckResult``) and
    ``executor`` (runs the checks) are injectable for tests.
    """

    def __init__(self, config, key=None, clock=time.time, rng=None,
                 checker=None, executor=None):
        self.config = config
        self.public_url = config.public_url
        self.key = key or self.load_key(config.key)
        self.clock = clock
        self.rng = rng or random.Random()
        self.policy = HealthPolicy(interval=config.health_interval,
                                   probation=config.probation)
        self.checker = checker or self.check
        self.checks = executor or ThreadPoolExecutor(CHECK_WORKERS, "health")
        self.in_flight = {}

        self.lock = threading.Lock()
        self.saving = threading.Lock()
        self.members = HealthTable(self.policy, clock, self.rng)
        self.version = None
        self.published = None
        self.dirty = False
        self.saved_at = None
        self.warned_empty = False

        self.challenges = Challenges()
        self.registrations = Registrations(
            self.mirror_registered, own_url=self.public_url,
            allow_private=config.allow_private)
        self.stopping = threading.Event()
        self.thread = None

        self.load_state()
        for url in config.mirror:
            self.members.add(url, listed=True)

    @staticmethod
    def load_key(path):
        if not path:
            raise RegistryError("no signing key: give --key FILE")
        try:
            return load_key(path)
        except KeyFileError as error:
            raise RegistryError(error.reason) from None

    def check(self, url):
        return check_health(url, self.config.allow_private)

    # -- what the routes serve ---------------------------------------------

    def signed_list_bytes(self):
        published = self.published
        return published.envelope if published else None

    def list_version(self):
        published = self.published
        return published.version if published else None

    def health(self):
        return {"ok": True, "software": SOFTWARE, "version": __version__,
                "api_version": API_VERSION,
                "list_version": self.list_version()}

    def peers_view(self):
        with self.lock:
            table = self.members.to_dict()["nodes"]
        return {"peers": [{key: node[key] for key in (
            "url", "state", "latency", "last_check", "last_success",
            "last_error", "listed_since")} for node in table]}

    def mirror_registered(self, url):
        """A registration was proven: the mirror starts probation."""
        with self.lock:
            known = url in self.members.nodes
            self.members.add(url)
            self.dirty = self.dirty or not known

    # -- health checks ---------------------------------------------------

    def check_round(self):
        """Start the checks that are due; record those that finished.

        Returns the :class:`~registry.health.RoundReport`, or None when
        no check finished.
        """
        with self.lock:
            due = [url for url in self.members.due()
                   if url not in self.in_flight]
        for url in due:
            self.in_flight[url] = self.checks.submit(self.checker, url)

        results = {url: self.outcome(future)
                   for url, future in list(self.in_flight.items())
                   if future.done()}
        for url in results:
            del self.in_flight[url]
        if not results:
            return None
        with self.lock:
            report = self.members.record_round(results)
        if report.up or report.down or report.removed:
            self.dirty = True
        return report

    @staticmethod
    def outcome(future):
        try:
            return future.result()
        except Exception as error:  # a check must never stop the loop
            log.exception("health check failed unexpectedly")
            return CheckResult(False, None, f"check failed: {error}")

    # -- signing -----------------------------------------------------------

    def publish_if_due(self):
        """Sign a new list if membership changed or the list is old.

        Membership changes are signed at most once per health interval,
        an unchanged list at least hourly. Returns True when it signed.
        """
        with self.lock:
            mirrors = self.members.signed_list()
            known = len(self.members.nodes)
        if mirrors is None:
            self.warn_empty(known)
            return False
        self.warned_empty = False

        published = self.published
        if published is None:
            return self.publish(mirrors)
        age = abs(self.clock() - published.signed_at)
        changed = set(mirrors) != published.urls
        if age >= RESIGN_EVERY or (changed and
                                   age >= self.policy.interval):
            return self.publish(mirrors)
        return False

    def warn_empty(self, known):
        if self.warned_empty:
            return
        self.warned_empty = True
        if not known:
            log.info("no mirror is known yet; the first list is signed "
                     "when one is listed")
        elif self.published:
            log.warning("no mirror is healthy; a signed list is never "
                        "empty, so the last one stays published")
        else:
            log.info("no mirror is listed yet; nothing to sign")

    def publish(self, mirrors):
        """Sign ``mirrors`` (URL to listed-since time) and serve the list.

        The new version reaches the state file before the list signed
        with it is written or served.
        """
        now = self.clock()
        with self.lock:
            version = next_version(self.version, now)
            self.version = version
        try:
            payload = make_payload(
                self.public_url, mirrors, version, now,
                allow_private=self.config.allow_private)
            envelope = sign_envelope(payload, self.key)
        except EnvelopeError as error:
            log.error("could not sign a list of %d mirrors: %s",
                      len(mirrors), error.reason)
            return False
        if not (self.save_state() and self.save_list(envelope)):
            return False

        self.published = Published(envelope, version, frozenset(mirrors),
                                   now)
        log.info("signed list version %s with %d mirrors", version,
                 len(mirrors))
        return True

    # -- state -------------------------------------------------------------

    def state_path(self, name):
        return Path(self.config.state_dir) / name

    def save_state(self):
        """Write members and the version counter; True when stored."""
        if not self.config.state_dir:
            return True
        with self.saving:
            with self.lock:
                data = {"version": self.version,
                        "members": self.members.to_dict()}
                self.dirty = False
            try:
                state.save_json(self.state_path(STATE_FILE), data)
            except state.StateError as error:
                log.error("could not save the registry state: %s",
                          error.reason)
                self.dirty = True
                return False
        self.saved_at = self.clock()
        return True

    def save_list(self, envelope):
        if not self.config.state_dir:
            return True
        try:
            state.write_atomic(self.state_path(LIST_FILE), envelope)
        except OSError as error:
            log.error("could not save the signed list, so it is not "
                      "published: %s", error)
            return False
        return True

    def save_if_needed(self):
        stale = (self.saved_at is None
                 or self.clock() - self.saved_at >= SAVE_EVERY)
        if self.dirty or stale:
            self.save_state()

    def load_state(self):
        """Continue from the state directory, if there is one.

        Raises :class:`RegistryError` when the state cannot be read.
        """
        if not self.config.state_dir:
            return
        try:
            saved = state.load_json(self.state_path(STATE_FILE), {}) or {}
            self.members = HealthTable.from_dict(
                saved.get("members", {}), self.policy, self.clock, self.rng)
        except (state.StateError, AttributeError, TypeError,
                ValueError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryError(f"cannot load the state: {reason}") from None

        counter = saved.get("version")
        self.version = counter if isinstance(counter, int) else None
        self.load_list()
        log.info("state from %s: %d members, version counter %s",
                 self.config.state_dir, len(self.members.nodes),
                 self.version)

    def load_list(self):
        """Serve the saved list again, and never count below it."""
        try:
            data = self.state_path(LIST_FILE).read_bytes()
        except FileNotFoundError:
            return
        except OSError as error:
            raise RegistryError(
                f"cannot read the saved signed list: {error}") from None

        known = [v for v in (self.version, envelope_version(data))
                 if v is not None]
        self.version = max(known, default=None)
        try:
            signed = verify_envelope(
                data, [self.key.public_key()], self.public_url, None,
                datetime.fromtimestamp(self.clock(), UTC),
                self.config.allow_private)
        except EnvelopeError as error:
            log.info("not serving the saved signed list: %s", error.reason)
            return
        self.published = Published(data, signed.version,
                                   frozenset(signed.urls),
                                   signed.issued.timestamp())

    # -- the background loop -----------------------------------------------

    def tick(self):
        """One step of the loop: checks, signing, saving."""
        self.check_round()
        self.publish_if_due()
        self.save_if_needed()

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True,
                                       name="registry")
        self.thread.start()

    def run(self):
        pause = min(TICK, self.policy.interval / 4)
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("the registry loop failed; going on")
            self.stopping.wait(pause)

    def stop(self):
        """Stop the loop and the checks, and flush the state."""
        self.stopping.set()
        self.registrations.close()
        if self.thread:
            self.thread.join(5)
        self.checks.shutdown(wait=False, cancel_futures=True)
        self.save_state()


def envelope_version(data):
    """The version a saved envelope claims, or None if unreadable.

    Read without verifying: the file is the registry's own, and its
    number only ever raises the counter.
    """
    try:
        envelope = json.loads(data)
        payload = json.loads(base64.b64decode(envelope["payload"]))
        version = payload["version"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        return None
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    return version


def make_registry_app(config, registry=None):
    """Build the registry's WSGI app; ``app.config['registry']`` holds
    the :class:`Registry`."""
    registry = registry or Registry(config)
    app = bottle.Bottle()
    app.config["registry"] = registry
    plugins.install(app)
    app.error(404)(no_such_endpoint)

    @app.get("/v1/health")
    def health():
        return plugins.json_response(registry.health())

    add_node_routes(app, registry)
    return app


def no_such_endpoint(error):
    """An unknown path, as the JSON envelope naming what is served."""
    plugins.add_common(bottle.response)
    bottle.response.content_type = "application/json"
    return json.dumps(plugins.error_body(
        f"no such endpoint: {bottle.request.path[:200]}; a registry "
        "serves GET /v1/mirrors.json, /v1/health, /v1/peers and POST "
        "/v1/register"))
