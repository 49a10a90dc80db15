"""A federation of real processes on loopback: a registry, three mirrors.

The mirrors start first, so they must keep trying to register until the
registry is up. Mirror A and B have the replay as upstream; mirror C's
upstream is a closed port, so it can only answer through its peers.
Health checks run every 0.5 s with a probation of 2, mirrors refresh the
list every second.
"""

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from conftest import free_port, wait_for

from registry import state
from registry.envelope import make_payload, sign_envelope
from registry.keys import load_key
from registry.service import LIST_FILE, STATE_FILE, envelope_version

pytestmark = pytest.mark.slow

INTERVAL = "0.5"
KILL_LOOPS = 15


# -- the federation ----------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("federation")


@pytest.fixture(scope="module")
def key(workdir):
    """A registry key made by the command line: (file, public key)."""
    path = workdir / "registry.pem"
    result = subprocess.run(
        [sys.executable, "-m", "registry", "keygen", "--key", str(path)],
        capture_output=True, text=True, check=True, env=clean_env())
    lines = dict(line.split("=", 1) for line in result.stdout.split())
    return path, lines["public_key"]


@pytest.fixture(scope="module")
def nodes(workdir):
    """Every process started here; all are killed at the end."""
    started = []
    yield started
    for node in started:
        node.kill()


@pytest.fixture(scope="module")
def registry_port():
    return free_port()


@pytest.fixture(scope="module")
def mirrors(workdir, key, upstream, registry_port, nodes):
    """Mirrors a, b and c, started before their registry is up."""
    registry_url = f"http://127.0.0.1:{registry_port}"
    dead = f"http://127.0.0.1:{free_port()}"
    started = {
        name: start_mirror(workdir / name, registry_url, key[1], nodes,
                           upstream=upstream if name != "c" else dead)
        for name in ("a", "b", "c")}
    for node in started.values():
        wait_for(node.url + "/v1/health")
    return started


@pytest.fixture(scope="module")
def registry(workdir, key, registry_port, mirrors, nodes):
    # The mirrors could not register at their start; they keep trying.
    node = start_registry(workdir / "registry", key[0], nodes,
                          port=registry_port)
    wait_for(node.url + "/v1/health")
    return node


def test_the_list_reaches_all_three_mirrors(registry, mirrors):
    urls = {node.url for node in mirrors.values()}

    envelope = eventually(
        lambda: everyone_serves_a_list_of(registry, mirrors.values(), urls),
        "every mirror serves a list of all three", registry, *mirrors.values())

    for node in mirrors.values():
        assert get(node.url + "/v1/mirrors.json").content == envelope
    health = get(mirrors["a"].url + "/v1/health").json()
    assert health["list_version"] == payload_of(envelope)["version"]


def test_a_mirror_with_a_dead_upstream_answers_through_a_peer(mirrors):
    answer = get(mirrors["c"].url + "/build/exampleorg/webapp",
                 timeout=20).json()

    assert answer["source"] == "peer"
    assert (answer["status"], answer["state"]) == (10, "success")


def test_a_killed_mirror_leaves_the_next_list(registry, mirrors):
    before = payload_of(get(registry.url + "/v1/mirrors.json").content)
    mirrors["b"].kill()
    remaining = [mirrors["a"], mirrors["c"]]
    urls = {node.url for node in remaining}

    envelope = eventually(
        lambda: everyone_serves_a_list_of(registry, remaining, urls),
        "the list without b reaches a and c", registry, *remaining)

    assert payload_of(envelope)["version"] > before["version"]
    peers = get(registry.url + "/v1/peers").json()["peers"]
    assert {p["url"]: p["state"] for p in peers}[mirrors["b"].url] == "down"


def test_sigterm_stops_a_mirror_and_the_registry_cleanly(registry,
                                                         mirrors):
    for node in (mirrors["c"], registry):
        node.process.send_signal(signal.SIGTERM)
        assert node.process.wait(15) == 0, node.log()

    saved = state.load_json(registry.state_dir / STATE_FILE)
    served = envelope_version((registry.state_dir / LIST_FILE).read_bytes())
    assert saved["version"] >= served
    assert "registry stopped" in registry.log()


# -- bad lists over HTTP -----------------------------------------------


def test_bad_lists_are_refused_and_the_mirror_keeps_its_own(
        workdir, key, upstream, nodes):
    signing_key = load_key(key[0])
    fake = FakeRegistry()
    try:
        mirror = start_mirror(workdir / "d", fake.url, key[1], nodes,
                              upstream=upstream, refresh="0.3")
        wait_for(mirror.url + "/v1/health")
        good = fake.sign(signing_key, 1000)
        fake.serve(good)
        eventually(lambda: served_list(mirror) == good,
                   "the mirror takes the good list", mirror)

        bad_lists = {
            "tampered": tamper(fake.sign(signing_key, 1001)),
            "rolled back": fake.sign(signing_key, 999),
            "expired": fake.sign(signing_key, 1002,
                                 datetime.now(UTC) - timedelta(days=2)),
            "forged": fake.sign(FakeRegistry.other_key(), 1003),
        }
        for case, bad in bad_lists.items():
            fake.serve(bad)
            asked = fake.hits
            eventually(lambda asked=asked: fake.hits >= asked + 2,
                       f"the mirror fetches the {case} list", mirror)
            assert served_list(mirror) == good, case
            assert version_of(mirror) == 1000, case

        newer = fake.sign(signing_key, 1004)
        fake.serve(newer)
        eventually(lambda: served_list(mirror) == newer,
                   "the mirror takes the next good list", mirror)
        assert "rejected the signed list" in mirror.log()
    finally:
        fake.close()


# -- the registry killed while publishing --------------------------------


def test_a_registry_killed_at_any_instant_never_goes_back(
        workdir, key, nodes):
    directory = workdir / "killed"
    port = free_port()
    rng = random.Random(20)
    highest = 0
    published = set()

    for loop in range(KILL_LOOPS):
        # A new mirror each time changes the membership: a list is signed
        # right after the start, and the kill may land in the middle.
        node = start_registry(directory, key[0], nodes, port=port,
                              mirrors=[f"http://127.0.0.1:{free_port()}"])
        if loop % 2:
            versions = watch_versions(node, 3.0, highest)
        else:
            versions = watch_versions(node, rng.uniform(0.2, 1.0))
        node.kill()

        assert all(version >= highest for version in versions), (
            loop, highest, versions, node.log())
        highest = max([highest, *versions])
        published.update(versions)
        assert loadable_state(directory) >= highest, (loop, node.log())

    assert len(published) >= KILL_LOOPS // 2
    node = start_registry(directory, key[0], nodes, port=port)
    wait_for(node.url + "/v1/health")
    assert version_of(node) >= highest
    node.process.send_signal(signal.SIGTERM)
    assert node.process.wait(15) == 0


def watch_versions(node, seconds, beyond=None):
    """The versions served for ``seconds``, or until one is higher than
    ``beyond``."""
    deadline = time.monotonic() + seconds
    versions = []
    while time.monotonic() < deadline:
        try:
            version = get(node.url + "/v1/health", timeout=0.5).json()[
                "list_version"]
        except requests.RequestException:
            time.sleep(0.01)
            continue
        if version is not None:
            versions.append(version)
        if beyond is not None and version and version > beyond:
            break
        time.sleep(0.01)
    return versions


def loadable_state(directory):
    """The highest version the state holds; fails if it cannot load."""
    saved = state.load_json(directory / STATE_FILE, default={})
    counter = saved.get("version") or 0
    try:
        envelope = (directory / LIST_FILE).read_bytes()
    except FileNotFoundError:
        return counter
    assert envelope_version(envelope) is not None
    return max(counter, envelope_version(envelope))


# -- processes ---------------------------------------------------------


class Node:
    """A process started by the tests, its URL and its log file."""

    def __init__(self, args, url, log_path, state_dir):
        self.url = url
        self.log_path = log_path
        self.state_dir = state_dir
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=log,
                env=clean_env())

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def log(self):
        text = self.log_path.read_text(errors="replace")
        return f"--- {self.url} ---\n{text[-4000:]}"


def start_registry(directory, key_file, nodes, mirrors=(), port=None):
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "registry", "serve",
            "--key", str(key_file), "--public-url", url,
            "--host", "127.0.0.1", "--port", str(port),
            "--state-dir", str(directory), "--allow-private",
            "--health-interval", INTERVAL, "--probation", "2"]
    for mirror in mirrors:
        args += ["--mirror", mirror]
    directory.mkdir(parents=True, exist_ok=True)
    node = Node(args, url, directory.parent / f"{directory.name}.log",
                directory)
    nodes.append(node)
    return node


def start_mirror(directory, registry_url, public_key, nodes, upstream,
                 refresh="1"):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "mirror", "serve",
            "--host", "127.0.0.1", "--port", str(port), "--threads", "4",
            "--public-url", url, "--registry", registry_url,
            "--trusted-key", public_key, "--allow-private",
            "--state-dir", str(directory), "--upstream", upstream,
            "--health-interval", INTERVAL, "--probation", "2",
            "--list-refresh", refresh]
    node = Node(args, url, directory.parent / f"{directory.name}.log",
                directory)
    nodes.append(node)
    return node


def clean_env():
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("MIRROR_", "REGISTRY_", "DOCKERHUB_"))
            and name != "PORT"}


# -- checks ------------------------------------------------------------


def everyone_serves_a_list_of(registry, mirrors, urls):
    """The registry's list if it names exactly ``urls`` and every mirror
    serves it byte for byte; else None."""
    envelope = served_list(registry)
    if envelope is None or listed(envelope) != urls:
        return None
    if all(served_list(node) == envelope for node in mirrors):
        return envelope
    return None


def served_list(node):
    try:
        answer = get(node.url + "/v1/mirrors.json", timeout=2)
    except requests.RequestException:
        return None
    return answer.content if answer.status_code == 200 else None


def version_of(node):
    return get(node.url + "/v1/health").json()["list_version"]


def listed(envelope):
    return {mirror["url"] for mirror in payload_of(envelope)["mirrors"]}


def payload_of(envelope):
    return json.loads(base64.b64decode(json.loads(envelope)["payload"]))


def tamper(envelope):
    data = json.loads(envelope)
    payload = payload_of(envelope)
    payload["mirrors"].append({"url": "http://127.0.0.1:9",
                               "since": payload["issued"]})
    data["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return json.dumps(data).encode()


def get(url, timeout=5):
    return requests.get(url, timeout=timeout)


def eventually(condition, what, *nodes, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = condition()
        if outcome:
            return outcome
        time.sleep(0.1)
    logs = "\n".join(node.log() for node in nodes)
    raise AssertionError(f"not within {timeout} s: {what}\n{logs}")


class FakeRegistry:
    """Serves whatever signed list the test hands it, and counts asks."""

    def __init__(self):
        self.body = b""
        self.hits = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def sign(self, key, version, issued=None):
        issued = issued or datetime.now(UTC)
        dead = f"http://127.0.0.1:{free_port()}"
        return sign_envelope(make_payload(self.url, [dead], version, issued,
                                          allow_private=True), key)

    @staticmethod
    def other_key():
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (
            Ed25519PrivateKey,
        )

        return Ed25519PrivateKey.generate()

    def serve(self, body):
        self.body = body

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/v1/mirrors.json":
                    return self.answer(404, b"{}")
                fake.hits += 1
                return self.answer(200, fake.body)

            def do_POST(self):
                self.answer(404, b"{}")

            def answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()
