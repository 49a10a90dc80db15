"""The browser client in Chromium: status.svg and status.js against mirrors.

Mirrors run in this process against the replay upstream; the client's
bundle is served by a plain static file server, a stub registry serves
chosen signed lists, and stubs play mirrors that hang, lie or are gone.
Every server listens on loopback and is stopped by its fixture. The
browser rule is test_browser's: skipped without Chromium, except under CI.
"""

import base64
import functools
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import (
    BaseHTTPRequestHandler,
    SimpleHTTPRequestHandler,
    ThreadingHTTPServer,
)
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from conftest import free_port, wait_for
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.bundle import write_bundle
from mirror.app import make_app
from mirror.config import Config
from mirror.server import Server
from registry.config import RegistryConfig
from registry.envelope import make_payload, sign_envelope
from registry.keys import generate_key, public_key_text
from registry.service import Registry, make_registry_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
GREY = "#9f9f9f"
BADGE_ELEMENTS = ["svg", "title", "linearGradient", "stop", "stop",
                  "clipPath", "rect", "g", "rect", "rect", "rect", "g",
                  "text", "text", "text", "text", "script"]

# (query of the image, state, message, colour): every case of the
# replay upstream (tests/test_server.py) as the badge must show it.
CASES = [
    ("organization=exampleorg&repository=webapp", "success", "passing",
     "#4c1"),
    ("organization=exampleorg&repository=failing", "failed", "failing",
     "#e05d44"),
    ("organization=exampleorg&repository=building", "building",
     "building", "#007ec6"),
    ("organization=exampleorg&repository=queued", "queued", "building",
     "#007ec6"),
    ("organization=exampleorg&repository=cancelled", "cancelled",
     "cancelled", GREY),
    ("organization=exampleorg&repository=mixed&tag=2.0", "success",
     "passing", "#4c1"),
    ("organization=exampleorg&repository=mixed&tag=dev", "queued",
     "building", "#007ec6"),
    ("organization=exampleorg&repository=nobuilds", "published",
     "published", "#97ca00"),
    ("organization=exampleorg&repository=published", "published",
     "published", "#97ca00"),
    ("organization=_&repository=examplehttpd", "published", "published",
     "#97ca00"),
    ("organization=exampleorg&repository=webapp&tag=nope", "not found",
     "not found", GREY),
    ("organization=exampleorg&repository=does-not-exist", "not found",
     "not found", GREY),
    ("organization=exampleorg&repository=htmlpage", "unavailable",
     "unavailable", GREY),
    ("organization=exampleorg&repository=broken", "unavailable",
     "unavailable", GREY),
    ("organization=Exampleorg&repository=in%20valid", "invalid name",
     "invalid name", GREY),
]
CASE_IDS = [query.split("repository=")[1] for query, *_ in CASES]

HOSTILE = {
    "text": "<script>alert(1)</script>",
    "organization": "javascript:alert(2)",
    "repository": '"><svg onload=alert(3)>',
    "tag": "javascript:alert(4)//<img src=x onerror=alert(5)>",
}


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.dialogs = []
    page.console = []
    page.on("dialog", lambda dialog: record_dialog(page, dialog))
    page.on("console", lambda message: page.console.append(message.text))
    yield page
    context.close()


@pytest.fixture(scope="module")
def mirrors(upstream):
    """Two healthy mirrors; the rate-limited case gets its own."""
    running = [RunningMirror(Config(upstream=upstream)) for _ in range(2)]
    yield [mirror.url for mirror in running]
    for mirror in running:
        mirror.stop()


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def registry():
    server = StubServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def liar():
    """A mirror that says every image builds fine."""
    server = StubServer()
    server.answer = lambda path: (200, json.dumps(
        {"request": "ok", "status": 10, "state": "success"}).encode())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hanging():
    server = HangingServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def static(tmp_path_factory):
    server = StaticHost(tmp_path_factory.mktemp("static"))
    yield server
    server.stop()


@pytest.fixture
def site(static, registry, key):
    """Writes a bundle pinned to ``key`` and ``registry``; returns its URL."""
    def make(bootstrap, keys=None):
        keys = keys or [public_key_text(key)]
        return static.site(keys, registry.url, bootstrap)

    return make


def serve_list(registry, key, mirrors, version=None, issued=None,
               issuer=None):
    """Have the stub registry serve a signed list; return its version."""
    version = version or int(time.time())
    data = signed_list(key, issuer or registry.url, mirrors, version, issued)
    registry.serve_list(data)
    return version


# Every fixture case, opened directly and inside <object>


@pytest.mark.parametrize(("query", "state", "message", "color"), CASES,
                         ids=CASE_IDS)
def test_opened_directly_the_badge_shows_the_state(
        page, site, registry, key, mirrors, query, state, message, color):
    version = serve_list(registry, key, mirrors)
    url = f"{site(mirrors)}/status.svg?{query}"

    badge = open_badge(page, url)

    assert (badge["state"], badge["message"], badge["color"]) == (
        state, message, color)
    assert badge["label"] == "Docker"
    assert badge["list"] == f"signed:{version}"
    assert badge["title"] == f"Docker: {message}"


@pytest.mark.parametrize(("query", "state", "message", "color"), CASES,
                         ids=CASE_IDS)
def test_inside_an_object_the_badge_shows_the_state(
        page, static, site, registry, key, mirrors, query, state, message,
        color):
    serve_list(registry, key, mirrors)
    url = f"{site(mirrors)}/status.svg?{query}"
    page.goto(static.page(
        f'<p>Build: <object id="badge" type="image/svg+xml" '
        f'data="{url}"></object></p>'))

    badge = badge_in_object(page, url)

    assert (badge["state"], badge["message"], badge["color"]) == (
        state, message, color)
    size = page.evaluate(
        "() => { const r = document.getElementById('badge')"
        ".getBoundingClientRect(); return [r.width, r.height]; }")
    assert size == [badge["width"], 20]


def test_a_rate_limited_upstream_shows_unavailable(page, site, registry,
                                                   upstream):
    registry.serve_nothing()
    mirror = RunningMirror(Config(upstream=upstream))
    try:
        url = (f"{site([mirror.url])}/status.svg?organization=exampleorg"
               "&repository=limited")

        badge = open_badge(page, url)
    finally:
        mirror.stop()

    assert (badge["state"], badge["message"], badge["color"]) == (
        "unavailable", "unavailable", GREY)


def test_the_badge_resizes_to_fit_its_texts(page, site, registry, mirrors):
    registry.serve_nothing()
    label = "A long label for a badge, " * 4
    url = (f"{site(mirrors)}/status.svg?organization=exampleorg"
           f"&repository=cancelled&text={quote(label)}")

    badge = open_badge(page, url)

    assert badge["label"] == label[:63] + "\u2026"
    parts = page.evaluate(PART_GEOMETRY)
    for name in ("label", "message"):
        text = parts[name]
        part = parts[f"{name}-part"]
        assert part["x"] <= text["x"] and (
            text["x"] + text["width"] <= part["x"] + part["width"])
    assert parts["message-part"]["x"] == parts["label-part"]["width"]
    assert badge["width"] == (parts["label-part"]["width"]
                              + parts["message-part"]["width"])


def test_an_empty_text_draws_the_message_alone(page, site, registry,
                                               mirrors):
    registry.serve_nothing()
    url = (f"{site(mirrors)}/status.svg?organization=exampleorg"
           "&repository=webapp&text=")

    badge = open_badge(page, url)

    parts = page.evaluate(PART_GEOMETRY)
    assert parts["label-part"]["width"] == 0
    assert badge["width"] == parts["message-part"]["width"]
    assert badge["title"] == "passing"


# Dead, hanging and lying mirrors


def test_an_unresponsive_first_mirror_costs_under_a_second_and_a_half(
        page, site, registry, key, mirrors, hanging):
    listed = [hanging.url, mirrors[0]]
    version = serve_list(registry, key, listed)
    ask_in_order(page, listed)
    url = (f"{site([mirrors[0]])}/status.svg?organization=exampleorg"
           "&repository=failing")
    accepted = hanging.accepted

    started = time.monotonic()
    badge = open_badge(page, url)
    elapsed = time.monotonic() - started

    assert badge["state"] == "failed"
    assert badge["list"] == f"signed:{version}"
    assert badge["mirror"] == mirrors[0]
    assert hanging.accepted > accepted
    assert elapsed < 1.5


def test_every_mirror_down_shows_unknown(page, site, registry):
    registry.serve_nothing()
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(3)]
    url = (f"{site(dead)}/status.svg?organization=exampleorg"
           "&repository=webapp")

    badge = open_badge(page, url)

    assert (badge["state"], badge["message"], badge["color"]) == (
        "unknown", "unknown", GREY)
    assert badge["list"] == "bootstrap"


def test_invalid_answers_are_skipped_for_the_next_mirror(page, site,
                                                         registry, key,
                                                         mirrors):
    garbage = StubServer()
    garbage.answer = lambda path: (200, b'{"request": "ok", "status": "10"}')
    html = StubServer()
    html.answer = lambda path: (200, b"<html>oops</html>")
    try:
        listed = [garbage.url, html.url, mirrors[1]]
        serve_list(registry, key, listed)
        ask_in_order(page, listed)
        url = (f"{site([mirrors[1]])}/status.svg?organization=exampleorg"
               "&repository=building")

        badge = open_badge(page, url)
    finally:
        garbage.stop()
        html.stop()

    assert badge["state"] == "building"
    assert badge["mirror"] == mirrors[1]
    assert garbage.requests and html.requests


# The signed list


def tampered(data, extra_mirror):
    envelope = json.loads(data)
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["mirrors"].insert(0, {"url": extra_mirror,
                                  "since": payload["issued"]})
    envelope["payload"] = base64.b64encode(
        json.dumps(payload).encode()).decode()
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(("case", "reason"), [
    ("tampered", "signature"),
    ("unpinned", "signature"),
    ("expired", "expired"),
    ("other-issuer", "issuer"),
    ("issued-ahead", "future"),
])
def test_a_refused_list_falls_back_to_the_bootstrap_list(
        page, site, registry, key, mirrors, liar, case, reason):
    now = datetime.now(UTC)
    version = int(now.timestamp())
    data = {
        "tampered": lambda: tampered(
            signed_list(key, registry.url, [mirrors[0]], version),
            liar.url),
        "unpinned": lambda: signed_list(
            Ed25519PrivateKey.generate(), registry.url, [liar.url],
            version),
        "expired": lambda: signed_list(
            key, registry.url, [liar.url], version,
            now - timedelta(days=2)),
        "other-issuer": lambda: signed_list(
            key, "https://registry.example.org", [liar.url], version),
        "issued-ahead": lambda: signed_list(
            key, registry.url, [liar.url], version,
            now + timedelta(minutes=30)),
    }[case]()
    registry.serve_list(data)
    url = (f"{site([mirrors[0]])}/status.svg?organization=exampleorg"
           "&repository=failing")
    asked = len(liar.requests)

    badge = open_badge(page, url)

    assert badge["list"] == "bootstrap"
    assert (badge["state"], badge["mirror"]) == ("failed", mirrors[0])
    assert len(liar.requests) == asked
    assert any(f"refused ({reason})" in line for line in page.console)


def test_an_older_list_after_a_newer_one_is_refused(page, site, registry,
                                                    key, mirrors, liar):
    newer = int(time.time())
    url = (f"{site([mirrors[0]])}/status.svg?organization=exampleorg"
           "&repository=failing")
    serve_list(registry, key, [mirrors[1]], newer)
    assert open_badge(page, url)["list"] == f"signed:{newer}"

    serve_list(registry, key, [liar.url], newer - 60)
    badge = open_badge(page, url)

    assert badge["list"] == "bootstrap"
    assert (badge["state"], badge["mirror"]) == ("failed", mirrors[0])
    assert any("refused (rollback)" in line for line in page.console)


def test_the_same_list_again_is_still_used(page, site, registry, key,
                                           mirrors):
    version = serve_list(registry, key, [mirrors[1]])
    url = (f"{site([mirrors[0]])}/status.svg?organization=exampleorg"
           "&repository=webapp")

    first = open_badge(page, url)
    again = open_badge(page, url)

    assert first["list"] == again["list"] == f"signed:{version}"
    assert again["mirror"] == mirrors[1]


def test_the_list_may_come_from_a_bootstrap_mirror(page, site, registry,
                                                   key, mirrors):
    registry.serve_nothing()
    relay = StubServer()
    data = signed_list(key, registry.url, [mirrors[1]], int(time.time()))
    relay.answer = lambda path: (
        (200, data) if path == "/v1/mirrors.json" else (404, b"{}"))
    try:
        url = (f"{site([relay.url])}/status.svg?organization=exampleorg"
               "&repository=queued")
        badge = open_badge(page, url)
    finally:
        relay.stop()

    assert badge["list"].startswith("signed:")
    assert (badge["state"], badge["mirror"]) == ("queued", mirrors[1])


def test_without_webcrypto_the_bootstrap_list_is_used(page, site, registry,
                                                      key, mirrors, liar):
    serve_list(registry, key, [liar.url])
    page.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'subtle',"
        " {get: () => undefined});")
    url = (f"{site([mirrors[0]])}/status.svg?organization=exampleorg"
           "&repository=failing")

    badge = open_badge(page, url)

    assert badge["list"] == "bootstrap"
    assert badge["state"] == "failed"


def test_without_local_storage_a_list_is_still_verified(page, site,
                                                        registry, key,
                                                        mirrors):
    version = serve_list(registry, key, [mirrors[1]])
    page.add_init_script(
        "Object.defineProperty(window, 'localStorage',"
        " {get: () => { throw new DOMException('denied'); }});")
    url = (f"{site([mirrors[0]])}/status.svg?organization=exampleorg"
           "&repository=webapp")

    badge = open_badge(page, url)

    assert badge["list"] == f"signed:{version}"
    assert badge["state"] == "success"


# Hostile parameters


@pytest.mark.parametrize("embedded", [False, True], ids=["direct", "object"])
def test_markup_and_script_in_parameters_show_as_text_and_run_nothing(
        page, static, site, registry, mirrors, embedded):
    registry.serve_nothing()
    url = f"{site(mirrors)}/status.svg?{urlencode(HOSTILE, quote_via=quote)}"

    if embedded:
        page.goto(static.page(f'<object id="badge" type="image/svg+xml" '
                              f'data="{url}"></object>'))
        badge = badge_in_object(page, url)
        frame = svg_frame(page, url)
    else:
        badge = open_badge(page, url)
        frame = page.main_frame
    page.wait_for_timeout(300)

    assert page.dialogs == []
    assert frame.evaluate(ELEMENT_NAMES) == BADGE_ELEMENTS
    assert badge["label"] == HOSTILE["text"]
    assert badge["title"] == f"{HOSTILE['text']}: invalid name"
    assert badge["state"] == "invalid name"
    if embedded:
        assert page.evaluate("() => document.querySelectorAll('*').length"
                             ) == 4


def test_a_missing_repository_shows_a_hint_and_asks_nobody(page, site,
                                                            registry,
                                                            liar):
    registry.serve_nothing()
    url = f"{site([liar.url])}/status.svg?organization=exampleorg"
    asked = (len(registry.requests), len(liar.requests))

    badge = open_badge(page, url)

    assert (badge["state"], badge["message"]) == (
        "no repository", "repository?")
    assert (len(registry.requests), len(liar.requests)) == asked


# Where the client comes from


def test_a_mirror_serves_a_working_client_linked_from_its_page(page,
                                                               upstream):
    mirror = RunningMirror(Config(upstream=upstream))
    try:
        page.goto(f"{mirror.url}/?organization=exampleorg"
                  "&repository=cancelled")
        link = page.get_attribute("#client-link", "href")
        badge = open_badge(page, mirror.url + link)
    finally:
        mirror.stop()

    assert link.startswith("/client/status.svg?")
    assert (badge["state"], badge["list"], badge["mirror"]) == (
        "cancelled", "bootstrap", mirror.url)


def test_a_mirror_client_verifies_the_list_of_its_registry(
        page, upstream, registry, key, mirrors):
    version = serve_list(registry, key, [mirrors[1]])
    mirror = RunningMirror(Config(
        upstream=upstream, registry=registry.url, allow_private=True,
        trusted_key=[public_key_text(key)]))
    try:
        badge = open_badge(page, f"{mirror.url}/client/status.svg?"
                           "organization=exampleorg&repository=webapp")
    finally:
        mirror.stop()

    assert badge["list"] == f"signed:{version}"
    assert (badge["state"], badge["mirror"]) == ("success", mirrors[1])


def test_a_mirror_client_takes_the_list_of_a_running_registry(
        page, upstream, mirrors, tmp_path):
    signing_key = generate_key(tmp_path / "registry.pem")
    registry_url = f"http://127.0.0.1:{free_port()}"
    registry = RunningRegistry(RegistryConfig(
        key=str(tmp_path / "registry.pem"), public_url=registry_url,
        mirror=[mirrors[1]], allow_private=True))
    mirror = RunningMirror(Config(
        upstream=upstream, registry=registry_url, allow_private=True,
        trusted_key=[public_key_text(signing_key)]))
    try:
        badge = open_badge(page, f"{mirror.url}/client/status.svg?"
                           "organization=exampleorg&repository=failing")
        version = registry.app.config["registry"].list_version()
    finally:
        mirror.stop()
        registry.stop()

    assert badge["list"] == f"signed:{version}"
    assert (badge["state"], badge["mirror"]) == ("failed", mirrors[1])


def test_the_bundle_from_the_command_line_works_from_a_static_host(
        page, static, registry, key, mirrors):
    version = serve_list(registry, key, mirrors)
    out = static.root / "from-cli"
    command = [sys.executable, "-m", "registry", "client-bundle",
               "--trusted-key", public_key_text(key),
               "--registry-url", registry.url, "--out", str(out),
               "--allow-private"]
    for url in mirrors:
        command += ["--bootstrap", url]

    subprocess.run(command, check=True, capture_output=True, cwd=ROOT,
                   timeout=60)
    badge = open_badge(page, f"{static.url}/from-cli/status.svg?"
                       "organization=exampleorg&repository=nobuilds")

    assert (badge["state"], badge["list"]) == (
        "published", f"signed:{version}")


# Helpers

BADGE_STATE = """() => {
  const svg = document.documentElement;
  const text = (id) => document.getElementById(id).textContent;
  return {
    state: svg.getAttribute("data-state"),
    list: svg.getAttribute("data-list"),
    mirror: svg.getAttribute("data-mirror"),
    width: Number(svg.getAttribute("width")),
    label: text("label"),
    message: text("message"),
    title: text("title"),
    color: document.getElementById("message-part").getAttribute("fill"),
  };
}"""

PART_GEOMETRY = """() => {
  const out = {};
  for (const id of ["label", "message"]) {
    const box = document.getElementById(id).getBBox();
    out[id] = {x: box.x / 10, width: box.width / 10};
    const part = document.getElementById(id + "-part");
    out[id + "-part"] = {x: Number(part.getAttribute("x") || 0),
                         width: Number(part.getAttribute("width"))};
  }
  return out;
}"""

ELEMENT_NAMES = ("() => Array.from(document.querySelectorAll('*'),"
                 " (element) => element.localName)")


def record_dialog(page, dialog):
    page.dialogs.append(dialog.message)
    dialog.dismiss()


def open_badge(page, url):
    page.goto(url)
    return final_badge(page.main_frame)


def final_badge(frame, timeout=10.0):
    """The badge once the script has painted its answer."""
    deadline = time.monotonic() + timeout
    while True:
        badge = frame.evaluate(BADGE_STATE)
        if badge["state"] != "pending":
            return badge
        if time.monotonic() > deadline:
            raise AssertionError(f"the badge still says {badge}")
        time.sleep(0.02)


def svg_frame(page, url, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame.url == url:
                return frame
        time.sleep(0.02)
    raise AssertionError(f"no frame for {url}")


def badge_in_object(page, url):
    frame = svg_frame(page, url)
    frame.wait_for_load_state()
    return final_badge(frame)


def ask_in_order(page, order):
    """Make the client's shuffle of a signed list (sorted by URL) come
    out as ``order``: feed Fisher-Yates the numbers that pick it."""
    mirrors = sorted(order)
    numbers = []
    for i in range(len(mirrors) - 1, 0, -1):
        j = mirrors.index(order[i])
        numbers.append((j + 0.5) / (i + 1))
        mirrors[i], mirrors[j] = mirrors[j], mirrors[i]
    page.add_init_script(
        f"const picks = {json.dumps(numbers)};"
        " Math.random = () => (picks.length ? picks.shift() : 0.5);")



def signed_list(key, issuer, mirrors, version, issued=None):
    issued = issued or datetime.now(UTC)
    return sign_envelope(make_payload(issuer, mirrors, version, issued,
                                      allow_private=True), key)


class RunningMirror:
    """A mirror app served by waitress on a free loopback port."""

    def __init__(self, config):
        self.app = make_app(config)
        self.server = Server(self.app, "127.0.0.1", 0, 4)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve,
                                       kwargs={"drain": 1}, daemon=True)
        self.thread.start()
        wait_for(self.url + "/v1/health")

    def stop(self):
        self.server.stop()
        self.thread.join(5)
        self.app.config["mirror"].close()


class RunningRegistry:
    """The registry service on the port its public URL names."""

    def __init__(self, config):
        registry = Registry(config)
        self.app = make_registry_app(config, registry)
        port = int(config.public_url.rsplit(":", 1)[1])
        self.server = Server(self.app, "127.0.0.1", port, 4)
        self.thread = threading.Thread(target=self.server.serve,
                                       kwargs={"drain": 1}, daemon=True)
        self.thread.start()
        registry.start()
        wait_for(config.public_url + "/v1/health")

    def stop(self):
        self.server.stop()
        self.thread.join(5)
        self.app.config["registry"].stop()


class StubServer(ThreadingHTTPServer):
    """Answers GETs with ``answer(path) -> (status, body)``, with CORS.

    By default every path is a JSON 404.
    """

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.requests = []
        self.serve_nothing()
        self.thread = threading.Thread(target=self.serve_forever,
                                       daemon=True)
        self.thread.start()

    def serve_nothing(self):
        self.answer = lambda path: (404, b'{"request": "error"}')

    def serve_list(self, data):
        """Serve ``data`` at /v1/mirrors.json, as a registry does."""
        self.answer = lambda path: (
            (200, data) if path == "/v1/mirrors.json"
            else (404, b'{"request": "error"}'))

    def stop(self):
        self.shutdown()
        self.server_close()


class StubHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        status, body = self.server.answer(self.path.split("?")[0])
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class HangingServer:
    """Accepts connections and never answers on them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = []
        self.accepted = 0
        self.thread = threading.Thread(target=self.hold, daemon=True)
        self.thread.start()

    def hold(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.accepted += 1

    def stop(self):
        self.sock.close()
        for connection in self.connections:
            connection.close()


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class StaticHost(ThreadingHTTPServer):
    """A plain static file server, as any static host is: no headers of
    ours, no CORS, nothing but files from ``root``."""

    daemon_threads = True

    def __init__(self, root):
        super().__init__(("127.0.0.1", 0),
                         functools.partial(QuietFiles, directory=root))
        self.root = root
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.numbers = itertools.count()
        self.thread = threading.Thread(target=self.serve_forever,
                                       daemon=True)
        self.thread.start()

    def site(self, keys, registry_url, bootstrap):
        """Write a bundle into a new directory; return its URL."""
        name = f"site-{next(self.numbers)}"
        write_bundle(self.root / name, keys, registry_url, bootstrap,
                     allow_private=True)
        return f"{self.url}/{name}"

    def page(self, body):
        """Write an HTML page with this body; return its URL."""
        name = f"page-{next(self.numbers)}.html"
        (self.root / name).write_text(
            f"<!DOCTYPE html><html><body>{body}</body></html>",
            encoding="utf-8")
        return f"{self.url}/{name}"

    def stop(self):
        self.shutdown()
        self.server_close()
