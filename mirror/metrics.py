"""Prometheus metrics: what the mirror serves and what Docker Hub does.

Each app gets its own collector registry, so several apps in one process
(tests, the demo) keep separate counts.
"""

from bottle import HTTPResponse, request, response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class Metrics:
    """The mirror's metrics, fed by observers and one Bottle hook."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self._children = {}
        self.requests = Counter(
            "mirror_requests", "HTTP requests answered, by route and status",
            ["route", "status"], registry=self.registry)
        self.upstream = Counter(
            "mirror_upstream_requests",
            "Requests sent to Docker Hub, by outcome (HTTP status or error)",
            ["outcome"], registry=self.registry)
        self.upstream_latency = Histogram(
            "mirror_upstream_latency_seconds",
            "Time Docker Hub took to answer", registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.cache = Counter(
            "mirror_cache_lookups", "Status cache lookups, by result",
            ["result"], registry=self.registry)
        self.backoff = Gauge(
            "mirror_upstream_backoff_active",
            "1 while Docker Hub rate-limits us and nothing is sent",
            registry=self.registry)
        self.peers = Gauge(
            "mirror_peers", "Known peers, by health state", ["state"],
            registry=self.registry)
        self.list_version = Gauge(
            "mirror_list_version", "Version of the accepted signed list",
            registry=self.registry)

    def watch(self, mirror):
        """Subscribe to the mirror's upstream and cache."""
        mirror.upstream.observers.append(self.on_upstream)
        mirror.cache.observers.append(self.on_cache)
        self.backoff.set_function(
            lambda: 1 if mirror.upstream.backoff_remaining() > 0 else 0)
        if mirror.federation:
            self.watch_federation(mirror.federation)

    def watch_federation(self, federation):
        for state in ("probation", "up", "down"):
            self.peers.labels(state=state).set_function(
                lambda state=state: sum(
                    node["state"] == state
                    for node in federation.peers_view()["peers"]))
        self.list_version.set_function(
            lambda: federation.list_version() or 0)

    def counter(self, family, **labels):
        """A labelled child, looked up once and kept (labels() is slow)."""
        key = (id(family), *labels.values())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(**labels)
        return child

    def on_upstream(self, outcome, seconds):
        self.counter(self.upstream, outcome=outcome).inc()
        self.upstream_latency.observe(seconds)

    def on_cache(self, result):
        self.counter(self.cache, result=result).inc()

    def on_request(self):
        route = request.environ.get("bottle.route")
        rule = route.rule if route is not None else "unmatched"
        self.counter(self.requests, route=rule,
                     status=response.status_code).inc()

    def page(self):
        return HTTPResponse(generate_latest(self.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})


def install(app, metrics):
    app.add_hook("after_request", metrics.on_request)
    app.route("/metrics", "GET", metrics.page)
