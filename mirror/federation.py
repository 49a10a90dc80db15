"""The mirror's part in the federation: peers, the signed list, fallback.

The mirror keeps a peer table (from ``--peer``, registrations it received
and the verified signed list) and health-checks it; it refreshes the
signed list from its registry, else from any peer, keeps it only if it
verifies and is newer, and relays it byte for byte; it registers with its
registry and peers, and again when the list leaves it out. When Docker
Hub cannot answer, up to three healthy peers are asked, each told by the
hop header not to ask further.
"""

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from mirror.errors import NotFound, UpstreamUnavailable
from mirror.status import Status
from registry import guard, state
from registry.envelope import (
    EnvelopeError,
    SameVersionError,
    load_trusted_key,
    mirror_url,
    verify_envelope,
)
from registry.health import UP, HealthPolicy, HealthTable, check_health
from registry.node import Announcer, Challenges, Registrations

log = logging.getLogger(__name__)

HOP_HEADER = "X-Dockerhub-Status-Hop"
PEERS_ASKED = 3
PEER_TIMEOUT = (2.0, 4.0)
STATE_FILE = "mirror-state.json"
LIST_FILE = "mirrors.json"
TICK = 1.0


class FederationError(ValueError):
    """A federation option that cannot work; the message says which."""


class Federation:
    """Peers, signed list and registration for one mirror."""

    def __init__(self, config, clock=time.time, rng=None):
        self.config = config
        self.allow_private = config.allow_private
        self.public_url = self.url_option(config.public_url, "--public-url")
        self.registry_url = self.url_option(config.registry, "--registry")
        self.trusted_keys = trusted_keys(config.trusted_key)
        if self.registry_url and not self.trusted_keys:
            log.warning("--registry without --trusted-key: the signed list "
                        "cannot be verified, so it is not used")
        self.clock = clock
        self.rng = rng or random.Random()
        self.lock = threading.Lock()
        self.peers = HealthTable(HealthPolicy(
            interval=config.health_interval, probation=config.probation),
            clock=clock, rng=self.rng)
        self.challenges = Challenges()
        self.registrations = Registrations(
            self.peer_registered, own_url=self.public_url,
            allow_private=self.allow_private)
        self.announcer = (Announcer(self.public_url, self.challenges,
                                    self.allow_private)
                          if self.public_url else None)
        self.signed = None
        self.highest_version = None
        self.stopping = threading.Event()
        self.threads = []
        self.checks = ThreadPoolExecutor(4, "health")
        for url in config.peer:
            self.add_peer(self.url_option(url, "--peer"), listed=True)
        self.load_state()

    def url_option(self, url, flag):
        if not url:
            return None
        try:
            return mirror_url(url, self.allow_private)
        except EnvelopeError as error:
            raise FederationError(f"{flag}: {error}") from None

    # -- the peer table ------------------------------------------------

    def add_peer(self, url, listed=False):
        if url == self.public_url:
            return
        with self.lock:
            self.peers.add(url, listed=listed)

    def peer_registered(self, url):
        self.add_peer(url)

    def healthy_peers(self):
        with self.lock:
            return [url for url, node in self.peers.nodes.items()
                    if node.state == UP]

    def peers_view(self):
        with self.lock:
            table = self.peers.to_dict()["nodes"]
        return {"peers": [{key: node[key] for key in (
            "url", "state", "latency", "last_check", "last_success",
            "last_error", "listed_since")} for node in table]}

    def check_round(self):
        """Health-check the peers that are due; returns how many."""
        with self.lock:
            due = self.peers.due()
        if not due:
            return 0
        results = dict(zip(due, self.checks.map(
            lambda url: check_health(url, self.allow_private), due),
            strict=True))
        with self.lock:
            report = self.peers.record_round(results)
        if report.down or report.up or report.removed:
            self.save_state()
        return len(due)

    # -- asking peers ----------------------------------------------------

    def ask_peers(self, image, deadline):
        """The status from up to three healthy peers, or an error."""
        peers = self.healthy_peers()
        self.rng.shuffle(peers)
        for url in peers[:PEERS_ASKED]:
            remaining = deadline - time.monotonic()
            if remaining <= 0.5:
                break
            status = self.ask_peer(url, image, remaining)
            if status is not None:
                return status
        raise UpstreamUnavailable("neither Docker Hub nor any peer answered")

    def ask_peer(self, url, image, remaining):
        target = (f"{url}/build/{image.namespace}/{image.repository}"
                  f"?tag={quote(image.tag)}")
        try:
            answer = guard.fetch(
                target, allow_private=self.allow_private,
                timeout=PEER_TIMEOUT, deadline=min(remaining, 6.0),
                max_bytes=16384, headers={HOP_HEADER: "1"})
            body = answer.json()
        except guard.GuardError as error:
            log.info("peer %s gave no answer: %s", url, error.reason)
            return None
        if not isinstance(body, dict):
            return None
        if answer.status == 404 and body.get("request") == "error":
            raise NotFound(str(body.get("description", "not found"))[:300])
        try:
            return Status.from_json(body, "peer") if (
                answer.status == 200) else None
        except ValueError:
            log.info("peer %s sent an invalid answer", url)
            return None

    # -- the signed list -------------------------------------------------

    def signed_list_bytes(self):
        signed = self.signed
        return signed.envelope if signed else None

    def list_version(self):
        signed = self.signed
        return signed.version if signed else None

    def refresh_list(self):
        """Fetch the list from the registry, else from peers; True if a
        newer list was accepted."""
        if not (self.registry_url and self.trusted_keys):
            return False
        sources = [self.registry_url] + self.rng.sample(
            self.healthy_peers(), len(self.healthy_peers()))
        for source in sources:
            outcome = self.fetch_list(source)
            if outcome is not None:
                return outcome
        return False

    def fetch_list(self, source):
        """True if ``source`` gave a newer list, False if the same one,
        None if it gave nothing usable."""
        try:
            answer = guard.fetch(source + "/v1/mirrors.json",
                                 allow_private=self.allow_private,
                                 max_bytes=64 * 1024)
        except guard.GuardError as error:
            log.info("no signed list from %s: %s", source, error.reason)
            return None
        if answer.status != 200:
            return None
        return self.offer_list(answer.body, source)

    def offer_list(self, data, source):
        """Verify ``data`` and keep it if newer; see :meth:`fetch_list`."""
        try:
            signed = verify_envelope(
                data, self.trusted_keys, self.registry_url,
                self.highest_version, self.now(), self.allow_private)
        except SameVersionError:
            return False
        except EnvelopeError as error:
            log.warning("rejected the signed list from %s: %s", source,
                        error)
            return None
        self.accept(signed)
        log.info("accepted signed list version %s from %s (%d mirrors)",
                 signed.version, source, len(signed.mirrors))
        return True

    def accept(self, signed):
        with self.lock:
            self.signed = signed
            self.highest_version = signed.version
        for url in signed.urls:
            self.add_peer(url, listed=True)
        self.save_state()
        if self.public_url and self.public_url not in signed.urls:
            self.register_with(self.registry_url)

    def now(self):
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- registration ----------------------------------------------------

    def register_with(self, url):
        if self.announcer and url:
            return self.announcer.register_with(url)
        return False

    def register_everywhere(self, targets=None):
        """Register with ``targets`` (default: the registry and every
        peer); returns those that could not be reached or refused."""
        if targets is None:
            targets = [self.registry_url, *self.config.peer]
        return [url for url in targets
                if url and not self.stopping.is_set()
                and not self.register_with(self.url_option(url, "--peer"))]

    # -- state -----------------------------------------------------------

    def state_path(self, name):
        return Path(self.config.state_dir) / name

    def load_state(self):
        if not self.config.state_dir:
            return
        saved = state.load_json(self.state_path(STATE_FILE), {}) or {}
        self.highest_version = saved.get("highest_version")
        for node in saved.get("peers", []):
            if isinstance(node, dict) and isinstance(node.get("url"), str):
                self.add_peer(node["url"], listed=node.get("state") == UP)
        self.load_list()

    def load_list(self):
        path = self.state_path(LIST_FILE)
        if not path.exists() or not (self.registry_url and
                                     self.trusted_keys):
            return
        try:
            signed = verify_envelope(
                path.read_bytes(), self.trusted_keys, self.registry_url,
                None, self.now(), self.allow_private)
        except EnvelopeError as error:
            log.info("not serving the saved signed list: %s", error)
            return
        if signed.version >= (self.highest_version or 0):
            self.signed = signed

    def save_state(self):
        if not self.config.state_dir:
            return
        with self.lock:
            data = {"highest_version": self.highest_version,
                    "peers": self.peers.to_dict()["nodes"]}
            signed = self.signed
        try:
            state.save_json(self.state_path(STATE_FILE), data)
            if signed:
                state.write_atomic(self.state_path(LIST_FILE),
                                   signed.envelope)
        except state.StateError as error:
            log.error("could not save the federation state: %s",
                      error.reason)

    # -- background work ---------------------------------------------------

    def start(self):
        """Register, then keep the list and the peer table fresh."""
        for work in (self.list_loop, self.health_loop):
            thread = threading.Thread(target=work, daemon=True,
                                      name=work.__name__)
            thread.start()
            self.threads.append(thread)

    def list_loop(self):
        # A registry that was down when we started would never hear of
        # us (it signs no list to find ourselves missing from): retry the
        # failed registrations at every refresh until they are taken.
        unregistered = self.register_everywhere()
        while not self.stopping.is_set():
            try:
                self.refresh_list()
                if unregistered:
                    unregistered = self.register_everywhere(unregistered)
            except Exception:
                log.exception("refreshing the signed list failed")
            pause = self.config.list_refresh * self.rng.uniform(0.8, 1.2)
            self.stopping.wait(pause)

    def health_loop(self):
        while not self.stopping.is_set():
            try:
                self.check_round()
            except Exception:
                log.exception("health round failed")
            self.stopping.wait(min(TICK, self.config.health_interval / 4))

    def stop(self):
        self.stopping.set()
        self.registrations.close()
        for thread in self.threads:
            thread.join(2)
        self.checks.shutdown(wait=False, cancel_futures=True)
        self.save_state()


def trusted_keys(texts):
    keys = []
    for text in texts:
        try:
            keys.append(load_trusted_key(text))
        except EnvelopeError as error:
            raise FederationError(f"--trusted-key: {error}") from None
    return keys
