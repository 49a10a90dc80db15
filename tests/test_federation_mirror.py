"""The mirror in the federation: peer fallback, the signed list, joining."""

import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import bottle
import pytest
import webtest
from conftest import free_port, wait_for
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.app import make_app
from mirror.config import Config
from mirror.federation import HOP_HEADER, Federation, FederationError
from mirror.server import Server
from registry.envelope import make_payload, sign_envelope
from registry.node import Announcer, Challenges, add_node_routes

REGISTRY = "https://registry.example.org"
DEAD = "http://127.0.0.1:9"


def public_text(key):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def signed_list(key, mirrors, version, issued=None, registry=REGISTRY):
    issued = issued or datetime.now(UTC)
    return sign_envelope(make_payload(registry, mirrors, version, issued,
                                      allow_private=True), key)


class Running:
    """A mirror app served by waitress on a free loopback port."""

    def __init__(self, config):
        self.app = make_app(config)
        self.server = Server(self.app, "127.0.0.1", 0, 4)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.requests = []
        self.app.add_hook("before_request", self.count)
        self.thread = threading.Thread(target=self.server.serve,
                                       kwargs={"drain": 1}, daemon=True)
        self.thread.start()

    def count(self):
        self.requests.append((bottle.request.path,
                              dict(bottle.request.headers)))

    def stop(self):
        self.server.stop()
        self.thread.join(5)
        self.app.config["mirror"].close()


@pytest.fixture
def peer(upstream):
    running = Running(Config(upstream=upstream))
    wait_for(running.url + "/v1/health")
    yield running
    running.stop()


@pytest.fixture
def lonely_mirror():
    """Makes mirrors whose Docker Hub is dead; each is closed after the
    test, so no registration check outlives it."""
    made = []

    def make(peers, **options):
        config = Config(upstream=DEAD, peer=peers, allow_private=True,
                        **options)
        made.append(make_app(config))
        return webtest.TestApp(made[-1])

    yield make
    for wsgi in made:
        wsgi.config["mirror"].close()


def test_dead_upstream_answers_through_a_peer(peer, lonely_mirror):
    app = lonely_mirror([peer.url])

    answer = app.get("/build/exampleorg/webapp").json

    assert (answer["status"], answer["source"]) == (10, "peer")
    asked = [headers for path, headers in peer.requests
             if path.startswith("/build/")]
    assert asked and HOP_HEADER in asked[0]


def test_peer_not_found_is_not_found(peer, lonely_mirror):
    app = lonely_mirror([peer.url])

    answer = app.get("/build/exampleorg/does-not-exist", status=404).json

    assert "not found" in answer["description"]


def test_a_forwarded_request_is_never_forwarded_again(peer, lonely_mirror):
    app = lonely_mirror([peer.url])

    app.get("/build/exampleorg/webapp", status=503,
            headers={HOP_HEADER: "1"})

    assert not [p for p, _ in peer.requests if p.startswith("/build/")]


def test_without_healthy_peers_the_upstream_error_stands(lonely_mirror):
    app = lonely_mirror([f"http://127.0.0.1:{free_port()}"])

    answer = app.get("/build/exampleorg/webapp", status=503).json

    assert "could not be reached" in answer["description"]


def test_peer_urls_are_refused_without_allow_private():
    with pytest.raises(FederationError):
        Federation(Config(peer=["http://127.0.0.1:8080"]))


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def federation(key, tmp_path, **options):
    return Federation(Config(
        registry=REGISTRY, trusted_key=[public_text(key)],
        state_dir=str(tmp_path), allow_private=True, **options))


def test_newer_list_is_kept_and_served_byte_for_byte(key, tmp_path):
    node = federation(key, tmp_path)
    first = signed_list(key, ["https://a.example.org"], 100)
    second = signed_list(key, ["https://b.example.org"], 101)

    assert node.offer_list(first, "test") is True
    assert node.offer_list(second, "test") is True

    assert node.signed_list_bytes() == second
    assert node.list_version() == 101
    assert "https://b.example.org" in node.healthy_peers()


@pytest.mark.parametrize("case", ["tampered", "unpinned", "expired",
                                  "older", "wrong-issuer"])
def test_bad_lists_are_refused_and_the_old_one_kept(key, tmp_path, case):
    node = federation(key, tmp_path)
    good = signed_list(key, ["https://a.example.org"], 100)
    node.offer_list(good, "test")
    bad = {
        "tampered": tamper(signed_list(key, ["https://b.example.org"], 101)),
        "unpinned": signed_list(Ed25519PrivateKey.generate(),
                                ["https://b.example.org"], 101),
        "expired": signed_list(key, ["https://b.example.org"], 101,
                               datetime.now(UTC) - timedelta(days=2)),
        "older": signed_list(key, ["https://b.example.org"], 99),
        "wrong-issuer": signed_list(key, ["https://b.example.org"], 101,
                                    registry="https://evil.example.org"),
    }[case]

    assert node.offer_list(bad, "test") is None

    assert node.signed_list_bytes() == good


def tamper(envelope):
    data = json.loads(envelope)
    payload = json.loads(base64.b64decode(data["payload"]))
    payload["mirrors"].append({"url": "https://evil.example.org",
                               "since": payload["issued"]})
    data["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return json.dumps(data).encode()


def test_highest_version_survives_a_restart(key, tmp_path):
    node = federation(key, tmp_path)
    node.offer_list(signed_list(key, ["https://a.example.org"], 200), "t")
    node.stop()

    again = federation(key, tmp_path)

    assert again.list_version() == 200
    assert again.offer_list(
        signed_list(key, ["https://b.example.org"], 150), "t") is None


def test_mirror_serves_the_list_and_its_version(key, tmp_path):
    config = Config(upstream=DEAD, registry=REGISTRY,
                    trusted_key=[public_text(key)], allow_private=True)
    wsgi = make_app(config)
    app = webtest.TestApp(wsgi)
    envelope = signed_list(key, ["https://a.example.org"], 300)

    app.get("/v1/mirrors.json", status=404)
    wsgi.config["mirror"].federation.offer_list(envelope, "t")

    assert app.get("/v1/mirrors.json").body == envelope
    assert app.get("/v1/health").json["list_version"] == 300
    assert app.get("/v1/peers").json["peers"][0]["url"] == (
        "https://a.example.org")


@pytest.mark.parametrize(("body", "status"), [
    (b"not json", 400),
    (b'{"url": 5}', 400),
    (b'{"url": "ftp://x.example.org"}', 400),
    (b'{"url": "https://x.example.org/path"}', 400),
    (b'{"url": "https://user@x.example.org"}', 400),
    (b'{"url": "' + b"a" * 5000 + b'"}', 400),
])
def test_bad_registrations_are_refused(body, status, lonely_mirror):
    app = lonely_mirror([], public_url="https://me.example.org")
    app.app.config["mirror"].federation.registrations.allow_private = False

    answer = app.post("/v1/register", body, status=status,
                      content_type="application/json")

    assert answer.json["request"] == "error"


def test_registration_limits_per_client(lonely_mirror):
    app = lonely_mirror([], public_url="https://me.example.org")
    statuses = [app.post_json("/v1/register",
                              {"url": f"http://127.0.0.1:{port}"},
                              expect_errors=True).status_int
                for port in range(20001, 20006)]

    assert statuses[:3] == [202, 202, 202]
    assert statuses[3:] == [429, 429]


def test_a_registered_peer_is_proven_and_put_on_probation(peer):
    announced = Federation(Config(public_url=peer.url, allow_private=True))
    add_node_routes(peer.app, announced)
    me = Running(Config(upstream=DEAD, public_url="http://127.0.0.1:1",
                        allow_private=True))
    try:
        assert announced.register_with(me.url)
        nodes = me.app.config["mirror"].federation.peers.nodes
        deadline = time.monotonic() + 10
        while peer.url not in nodes and time.monotonic() < deadline:
            time.sleep(0.1)
        assert nodes[peer.url].state == "probation"
    finally:
        me.stop()


def test_a_challenge_is_served_only_for_known_tokens(lonely_mirror):
    app = lonely_mirror([], public_url="https://me.example.org")
    federation = app.app.config["mirror"].federation
    federation.challenges.add("known-token")

    assert app.get("/.well-known/dockerhub-status/challenge/known-token"
                   ).text == "known-token"
    app.get("/.well-known/dockerhub-status/challenge/other", status=404)


def test_registering_makes_a_post_with_our_url(peer):
    seen = []

    def register():
        seen.append(bottle.request.json)
        return bottle.HTTPResponse(
            json.dumps({"token": "t0k", "expires_in": 600}), 202)

    peer.app.route("/v1/register", "POST", register)
    challenges = Challenges()

    assert Announcer("https://me.example.org", challenges,
                     allow_private=True).register_with(peer.url)
    assert seen == [{"url": "https://me.example.org"}]
    assert challenges.knows("t0k")
