"""The real server, started as a user would, against a replay upstream."""

import os
import subprocess
import sys

import pytest
import requests
import webtest
from conftest import mirror_process

from mirror.app import make_app
from mirror.config import Config

CASES = [
    ("exampleorg/webapp", 200, 10, "success"),
    ("exampleorg/failing", 200, -1, "failed"),
    ("exampleorg/building", 200, 3, "building"),
    ("exampleorg/queued", 200, 0, "queued"),
    ("exampleorg/cancelled", 200, -4, "cancelled"),
    ("exampleorg/mixed?tag=2.0", 200, 10, "success"),
    ("exampleorg/mixed?tag=dev", 200, 0, "queued"),
    ("exampleorg/nobuilds", 200, 1, "published"),
    ("exampleorg/published", 200, 1, "published"),
    ("_/examplehttpd", 200, 1, "published"),
    ("exampleorg/webapp?tag=nope", 404, None, None),
    ("exampleorg/does-not-exist", 404, None, None),
    ("exampleorg/htmlpage", 502, None, None),
    ("exampleorg/broken", 503, None, None),
    ("exampleorg/limited", 503, None, None),
    ("Exampleorg/in%20valid", 400, None, None),
]


@pytest.fixture(scope="module")
def mirror_url(upstream):
    with mirror_process("--upstream", upstream, "--threads", "4",
                        stderr=subprocess.PIPE,
                        env={**os.environ, "PORT": "1"}) as (url, process):
        yield url
    log = process.stderr.read()
    assert "listening on http://127.0.0.1:" in log
    assert upstream in log


@pytest.mark.parametrize(("path", "http", "status", "state"), CASES)
def test_real_server_answers_every_fixture_case(mirror_url, path, http,
                                                 status, state):
    answer = requests.get(f"{mirror_url}/build/{path}", timeout=20)

    assert answer.status_code == http
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    body = answer.json()
    if status is None:
        assert body["request"] == "error"
        assert body["description"]
    else:
        assert (body["status"], body["state"]) == (status, state)


def test_help_lists_every_option_with_its_variable():
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "serve", "--help"],
        capture_output=True, text=True, check=True)

    for flag, env in [("--host", "MIRROR_HOST"), ("--port", "PORT"),
                      ("--upstream", "MIRROR_UPSTREAM"),
                      ("--cache-ttl", "MIRROR_CACHE_TTL"),
                      ("--threads", "MIRROR_THREADS"),
                      ("--source-url", "MIRROR_SOURCE_URL")]:
        assert flag in result.stdout
        assert env in result.stdout


def test_bad_option_is_refused_clearly():
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "serve", "--cache-ttl", "-5"],
        capture_output=True, text=True)

    assert result.returncode == 2
    assert "not a positive number" in result.stderr


def run_mirror(*options):
    return subprocess.run(
        [sys.executable, "-m", "mirror", "serve", "--host", "127.0.0.1",
         *options], capture_output=True, text=True, timeout=20)


def test_a_busy_port_is_a_clear_error(mirror_url):
    result = run_mirror("--port", mirror_url.rsplit(":", 1)[1])

    assert result.returncode == 2
    assert "cannot listen on" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("options", [
    ["--trusted-key", "notbase64"],
    ["--peer", "http://localhost:8080"],
    ["--registry", "https://registry.example.org/path"],
])
def test_bad_federation_options_are_clear_errors(options):
    result = run_mirror("--port", "0", *options)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert options[0] in result.stderr


def test_a_tls_proxy_makes_the_page_hand_out_https(mirror_url):
    page = requests.get(mirror_url + "/", timeout=10, headers={
        "X-Forwarded-Proto": "https", "Host": "mirror.example.org"}).text

    assert "https://mirror.example.org/status.svg" in page


def test_a_tag_the_replay_does_not_know_is_a_missing_tag(upstream):
    app = webtest.TestApp(make_app(Config(upstream=upstream)))

    answer = app.get("/build/exampleorg/webapp?tag=Latest", status=404)

    assert "tag 'Latest' not found" in answer.json["description"]
