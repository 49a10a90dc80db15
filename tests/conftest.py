import json
import socket
import time
from pathlib import Path

import pytest
import requests
import responses
import webtest

from mirror.app import make_app
from mirror.config import Config

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
DOCKERHUB = FIXTURES / "dockerhub"
HUB = "https://hub.docker.com"


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
