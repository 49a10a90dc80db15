"""Health checks of nodes: the policy, and the check itself.

The policy is pure logic with an injectable clock and random source; the
caller decides when to run checks (:meth:`HealthTable.due`) and hands
their results back (:meth:`HealthTable.record_round`). The numbers live
in :class:`HealthPolicy`:

- a new node is on probation and is listed after ``probation``
  consecutive successes;
- a node goes DOWN after 3 consecutive failures and is UP again after 2
  successes; while DOWN its check interval doubles, up to 15 minutes;
- a node without a success for 7 days is removed;
- checks are due every interval with +-20% jitter, the first one at a
  random moment within the first interval;
- when more than 70% of the UP nodes fail at once, the fault is most
  likely the checker's own, and the round changes nothing.

Usage::

    table = HealthTable(HealthPolicy(probation=3))
    table.add("https://mirror.example.org")
    ...
    results = {url: check_health(url) for url in table.due()}
    report = table.record_round(results)
    if report.listed_changed:
        mirrors = table.signed_list()   # None: keep the last signed list
"""

import logging
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import NamedTuple

from registry.guard import GuardError, fetch

log = logging.getLogger(__name__)

HEALTH_PATH = "/v1/health"
API_VERSION = 1

PROBATION = "probation"
UP = "up"
DOWN = "down"


@dataclass(frozen=True)
class HealthPolicy:
    """The numbers of the health-check policy, in seconds and counts."""

    interval: float = 60.0
    jitter: float = 0.2
    probation: int = 3
    down_after: int = 3
    up_after: int = 2
    max_interval: float = 15 * 60.0
    remove_after: float = 7 * 24 * 3600.0
    self_fault_ratio: float = 0.7
    # Below this many UP nodes one failure is no evidence either way, so
    # the self-fault rule waits for a population it can judge.
    self_fault_min_nodes: int = 3


class CheckResult(NamedTuple):
    """The outcome of one health check; ``latency`` in seconds."""

    ok: bool
    latency: float | None
    error: str | None


@dataclass
class NodeHealth:
    """What the checker knows about one node (times are Unix seconds)."""

    url: str
    state: str = PROBATION
    successes: int = 0
    failures: int = 0
    added: float = 0.0
    next_check: float = 0.0
    last_check: float | None = None
    last_success: float | None = None
    latency: float | None = None
    last_error: str | None = None
    listed_since: float | None = None
    passed_probation: bool = False

    @property
    def listed(self):
        return self.state == UP

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        names = {f.name for f in fields(cls)}
        node = cls(**{k: v for k, v in data.items() if k in names})
        if node.state not in (PROBATION, UP, DOWN):
            raise ValueError(f"unknown health state {node.state!r}")
        return node


@dataclass
class RoundReport:
    """What one round of results changed.

    ``ignored`` is true when the self-fault rule discarded the round.
    ``listed_changed`` tells a registry to sign a new list.
    """

    checked: int = 0
    failed: int = 0
    ignored: bool = False
    up: list = field(default_factory=list)
    down: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    listed_changed: bool = False


class HealthTable:
    """The health of every known node, and the policy that moves it.

    ``clock`` returns Unix seconds; ``rng`` is a :class:`random.Random`
    (both injectable for tests). Not thread-safe: one checker owns it.
    """

    def __init__(self, policy=None, clock=time.time, rng=None):
        self.policy = policy or HealthPolicy()
        self.clock = clock
        self.rng = rng or random.Random()
        self.nodes = {}
        self._latest = {}

    def add(self, url, listed=False):
        """Start tracking ``url``; ``listed`` skips probation.

        The first check is due at a random moment within one interval.
        Adding a known node changes nothing and returns it.
        """
        if url in self.nodes:
            return self.nodes[url]
        now = self.clock()
        node = NodeHealth(url, added=now)
        node.next_check = now + self.rng.uniform(0, self.policy.interval)
        if listed:
            node.state, node.passed_probation = UP, True
            node.listed_since = now
        self.nodes[url] = node
        return node

    def remove(self, url):
        self.nodes.pop(url, None)
        self._latest.pop(url, None)

    def due(self):
        """URLs whose next check is due now, soonest first."""
        now = self.clock()
        due = [n for n in self.nodes.values() if n.next_check <= now]
        return [n.url for n in sorted(due, key=lambda n: n.next_check)]

    def listed(self):
        """Listed (UP) nodes: URL to the Unix time they were listed."""
        return {
            url: node.listed_since
            for url, node in sorted(self.nodes.items())
            if node.listed
        }

    def signed_list(self):
        """The mirrors that belong on the next signed list, or None.

        None means no node is healthy: a signed list is never empty, so
        the caller keeps publishing the last list it signed.
        """
        return self.listed() or None

    def record_round(self, results):
        """Apply ``results`` (URL to :class:`CheckResult`) of one round.

        Results for unknown URLs are ignored. Returns a
        :class:`RoundReport`.
        """
        now = self.clock()
        results = {u: r for u, r in results.items() if u in self.nodes}
        report = RoundReport(
            checked=len(results),
            failed=sum(not r.ok for r in results.values()),
        )
        before = set(self.listed())
        self._remember(results, now)

        if self._own_fault(now):
            self._reschedule(results, now)
            report.ignored = True
            log.warning(
                "%d of %d health checks failed; assuming the "
                "fault is local and changing nothing",
                report.failed,
                report.checked,
            )
            return report

        for url, result in results.items():
            self._apply(self.nodes[url], result, now, report)
        self._remove_silent(now, report)
        report.listed_changed = set(self.listed()) != before
        return report

    def _remember(self, results, now):
        for url, result in results.items():
            if self.nodes[url].state == UP:
                self._latest[url] = (now, result.ok)
            else:
                self._latest.pop(url, None)

    def _own_fault(self, now):
        """More than 70% of the UP nodes failed within one round?

        A round is one interval (plus jitter): with jittered schedules,
        nodes are checked at different moments, so the latest result of
        each UP node within that window stands for the round.
        """
        policy = self.policy
        window = policy.interval * (1 + policy.jitter)
        latest = [
            ok
            for url, (at, ok) in self._latest.items()
            if now - at <= window and self.nodes[url].state == UP
        ]
        if len(latest) < policy.self_fault_min_nodes:
            return False
        return latest.count(False) > policy.self_fault_ratio * len(latest)

    def _reschedule(self, results, now):
        for url in results:
            node = self.nodes[url]
            node.next_check = now + self._delay(node)

    def _apply(self, node, result, now, report):
        node.last_check = now
        node.latency = result.latency
        if result.ok:
            self._succeeded(node, now, report)
        else:
            node.last_error = result.error or "failed"
            self._failed(node, report)
        node.next_check = now + self._delay(node)

    def _succeeded(self, node, now, report):
        node.failures = 0
        node.successes += 1
        node.last_success = now
        node.last_error = None
        needed = (
            self.policy.up_after
            if node.passed_probation
            else self.policy.probation
        )
        if node.state != UP and node.successes >= needed:
            log.info(
                "node %s is up after %d successful checks",
                node.url,
                node.successes,
            )
            node.state, node.passed_probation = UP, True
            node.listed_since = now
            report.up.append(node.url)

    def _failed(self, node, report):
        node.successes = 0
        node.failures += 1
        if node.state != DOWN and node.failures >= self.policy.down_after:
            log.info(
                "node %s is down after %d failed checks: %s",
                node.url,
                node.failures,
                node.last_error,
            )
            node.state = DOWN
            node.listed_since = None
            self._latest.pop(node.url, None)
            report.down.append(node.url)

    def _delay(self, node):
        policy = self.policy
        factor = self.rng.uniform(1 - policy.jitter, 1 + policy.jitter)
        if node.state != DOWN or node.failures == 0:
            return policy.interval * factor
        doublings = node.failures - policy.down_after + 1
        backoff = policy.interval * 2 ** min(doublings, 32)
        return max(policy.interval, min(backoff * factor, policy.max_interval))

    def _remove_silent(self, now, report):
        for node in list(self.nodes.values()):
            last = node.last_success or node.added
            if now - last > self.policy.remove_after:
                log.info(
                    "node %s removed: no successful check since %s",
                    node.url,
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last)),
                )
                self.remove(node.url)
                report.removed.append(node.url)

    def to_dict(self):
        """The table as JSON-ready data (for state files and /v1/peers)."""
        return {"nodes": [self.nodes[u].to_dict() for u in sorted(self.nodes)]}

    @classmethod
    def from_dict(cls, data, policy=None, clock=time.time, rng=None):
        """Rebuild a table saved by :meth:`to_dict`.

        Each node's next check is scheduled afresh at a random moment
        within one interval.
        """
        table = cls(policy, clock, rng)
        now = clock()
        for item in data.get("nodes", []):
            node = NodeHealth.from_dict(item)
            node.next_check = now + table.rng.uniform(0, table.policy.interval)
            table.nodes[node.url] = node
        return table


def check_health(
    url, allow_private=False, *, timeout=(3, 5), deadline=10, context=None
):
    """Check the node at ``url`` through the SSRF guard.

    Requires HTTP 200 and a JSON object with ``"ok": true`` and
    ``"api_version": 1`` at ``/v1/health``. Returns a
    :class:`CheckResult` ``(ok, latency, error)``; never raises for the
    node's faults.
    """
    started = time.monotonic()
    try:
        response = fetch(
            url.rstrip("/") + HEALTH_PATH,
            allow_private=allow_private,
            timeout=timeout,
            deadline=deadline,
            max_bytes=16384,
            context=context,
        )
        info = response.json() if response.status == 200 else None
    except GuardError as exc:
        return CheckResult(False, None, exc.reason)

    latency = time.monotonic() - started
    if response.status != 200:
        return CheckResult(False, latency, f"HTTP {response.status}")
    if not _healthy(info):
        return CheckResult(
            False,
            latency,
            f'the answer is not {{"ok": true, "api_version": {API_VERSION}}}',
        )
    return CheckResult(True, latency, None)


def _healthy(info):
    if not isinstance(info, dict) or info.get("ok") is not True:
        return False
    version = info.get("api_version")
    return type(version) is int and version == API_VERSION
