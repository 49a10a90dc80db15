import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import responses
import webtest

from mirror import replay
from mirror.app import make_app
from mirror.config import Config

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
DOCKERHUB = FIXTURES / "dockerhub"
HUB = "https://hub.docker.com"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-quic", "--no-first-run",
                 "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def fixture_text(name):
    return (DOCKERHUB / name).read_text(encoding="utf-8")


def fixture_json(name):
    return json.loads(fixture_text(name))


def history_url(namespace="exampleorg", repository="webapp"):
    return f"{HUB}/v2/repositories/{namespace}/{repository}/buildhistory/"


def tag_url(namespace="exampleorg", repository="webapp", tag="latest"):
    return (f"{HUB}/v2/namespaces/{namespace}/repositories/{repository}"
            f"/tags/{tag}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, timeout=15.0):
    """Poll ``url`` until it answers; the server must come up by itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return requests.get(url, timeout=1)
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not come up within {timeout} s")


@contextlib.contextmanager
def mirror_process(*options, stderr=subprocess.DEVNULL, env=None):
    """A mirror started as a user starts it, on a free loopback port;
    yields its URL and process, and stops it on leaving."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mirror", "serve", "--host", "127.0.0.1",
         "--port", str(port), *options], stderr=stderr, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/v1/health")
        yield url, process
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def hub():
    """Docker Hub, as ``responses`` mocks; nothing reaches the internet."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def config():
    return Config(upstream=HUB)


@pytest.fixture
def app(hub, config):
    wsgi = make_app(config)
    yield webtest.TestApp(wsgi)
    wsgi.config["mirror"].close()


def serve_fixture(hub, url, name, status=200):
    hub.get(url, body=fixture_text(name), status=status,
            content_type="application/json")


def calls_to(hub, url_part):
    return sum(url_part in call.request.url for call in hub.calls)


def require_browser():
    """Skip without Chromium or Playwright; under CI, fail instead."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is not installed (Debian package chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "Playwright for Python is not installed"
    if missing and os.environ.get("CI"):
        pytest.fail(f"{missing}; CI installs it with tools/ensure-browser")
    if missing:
        pytest.skip(f"{missing}; run tools/ensure-browser to install it")


@contextlib.contextmanager
def chromium():
    """Debian's Chromium through Playwright, closed on leaving."""
    require_browser()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def upstream():
    """Docker Hub as a recorded replay on a free loopback port."""
    server, _ = replay.start(FIXTURES / "replay.json")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
