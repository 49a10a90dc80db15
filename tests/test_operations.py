"""What an operator relies on: metrics, webhooks, credentials, shutdown."""

import base64
import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import webtest
from conftest import (
    HUB,
    fixture_json,
    fixture_text,
    free_port,
    history_url,
    serve_fixture,
    tag_url,
    wait_for,
)
from prometheus_client.parser import text_string_to_metric_families

from mirror.app import make_app
from mirror.config import Config

SECRET = "s3cret-webhook-path"


def metric(app, name, **labels):
    text = app.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_parse_and_count_requests(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    before = metric(app, "mirror_requests_total",
                    route="/build/<organization>/<repository>", status="200")

    app.get("/build/exampleorg/webapp")
    app.get("/build/exampleorg/webapp")
    app.get("/no/such/page", status=404)

    assert metric(app, "mirror_requests_total",
                  route="/build/<organization>/<repository>",
                  status="200") == before + 2
    assert metric(app, "mirror_requests_total", route="unmatched",
                  status="404") == 1
    assert metric(app, "mirror_cache_lookups_total", result="miss") == 1
    assert metric(app, "mirror_cache_lookups_total", result="hit") == 1
    assert metric(app, "mirror_upstream_requests_total",
                  outcome="200") == 1
    assert metric(app, "mirror_upstream_latency_seconds_count") == 1


def test_metrics_show_back_off(app, hub):
    hub.get(history_url(), status=429, headers={"Retry-After": "30"})

    assert metric(app, "mirror_upstream_backoff_active") == 0
    app.get("/build/exampleorg/webapp", status=503)

    assert metric(app, "mirror_upstream_backoff_active") == 1
    assert metric(app, "mirror_upstream_requests_total",
                  outcome="429") == 1


@pytest.fixture
def hooked(hub):
    wsgi = make_app(Config(upstream=HUB, webhook_secret=SECRET))
    yield webtest.TestApp(wsgi)
    wsgi.config["mirror"].close()


def push_payload(namespace="exampleorg", name="webapp", tag="latest"):
    return {"push_data": {"tag": tag, "pusher": "someone"},
            "repository": {"namespace": namespace, "name": name,
                           "repo_name": f"{namespace}/{name}"}}


def test_webhook_refreshes_at_once(hooked, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    assert hooked.get("/build/exampleorg/webapp").json["status"] == 10
    hub.replace("GET", history_url(),
                body=fixture_text("buildhistory-failure.json"))

    answer = hooked.post_json(f"/v1/webhook/dockerhub/{SECRET}",
                              push_payload())

    assert answer.json["refreshed"] == "exampleorg/webapp:latest"
    assert hooked.get("/build/exampleorg/webapp").json["status"] == -1


@pytest.mark.parametrize(("secret", "body", "status"), [
    ("wrong", push_payload(), 403),
    (SECRET[:-1], push_payload(), 403),
    (SECRET, {"nothing": "here"}, 400),
    (SECRET, push_payload(name="Not A Name"), 400),
    (SECRET, push_payload(tag="../x"), 400),
    (SECRET, ["a", "list"], 400),
])
def test_bad_webhooks_change_nothing(hooked, hub, secret, body, status):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    hooked.get("/build/exampleorg/webapp")
    hub.replace("GET", history_url(),
                body=fixture_text("buildhistory-failure.json"))

    hooked.post_json(f"/v1/webhook/dockerhub/{secret}", body, status=status)

    assert hooked.get("/build/exampleorg/webapp").json["status"] == 10
    assert len(hub.calls) == 1


def test_webhook_rejects_non_json_and_oversized(hooked):
    hooked.post(f"/v1/webhook/dockerhub/{SECRET}", b"<xml/>", status=400)
    hooked.post(f"/v1/webhook/dockerhub/{SECRET}", b"{" * 70000,
                status=400)


def test_no_secret_no_webhook(app):
    app.post_json(f"/v1/webhook/dockerhub/{SECRET}", push_payload(),
                  status=404)


def jwt(expires):
    claims = base64.urlsafe_b64encode(
        json.dumps({"exp": expires}).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{claims}.sig"


@pytest.fixture
def logged_in(hub):
    wsgi = make_app(Config(upstream=HUB, dockerhub_username="someone",
                           dockerhub_token="dckr_pat_x"))
    yield webtest.TestApp(wsgi)
    wsgi.config["mirror"].close()


def repo_url(name="webapp"):
    return f"{HUB}/v2/namespaces/exampleorg/repositories/{name}"


def test_credentials_send_a_bearer_token(logged_in, hub):
    token = jwt(time.time() + 3600)
    login = hub.post(f"{HUB}/v2/auth/token", json={"access_token": token})
    serve_fixture(hub, repo_url(), "repository-automated.json")
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    logged_in.get("/build/exampleorg/webapp")

    assert json.loads(login.calls[0].request.body) == {
        "identifier": "someone", "secret": "dckr_pat_x"}
    for call in hub.calls[1:]:
        assert call.request.headers["Authorization"] == f"Bearer {token}"


def test_a_401_renews_the_token(logged_in, hub):
    old, new = jwt(time.time() + 3600), jwt(time.time() + 7200)
    hub.post(f"{HUB}/v2/auth/token", json={"access_token": old})
    hub.post(f"{HUB}/v2/auth/token", json={"access_token": new})
    hub.get(repo_url(), status=401, json={"detail": "token revoked"})
    hub.get(repo_url(), json=fixture_json("repository-automated.json"))
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = logged_in.get("/build/exampleorg/webapp").json

    logins = [c for c in hub.calls if c.request.url.endswith("/auth/token")]
    assert answer["status"] == 10
    assert len(logins) == 2
    assert hub.calls[-1].request.headers["Authorization"] == f"Bearer {new}"


def test_expired_token_is_renewed_before_use(logged_in, hub):
    hub.post(f"{HUB}/v2/auth/token",
             json={"access_token": jwt(time.time() - 10)})
    serve_fixture(hub, repo_url(), "repository-automated.json")
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    serve_fixture(hub, tag_url(tag="latest2"), "error-404-tag.json", 404)

    logged_in.get("/build/exampleorg/webapp")
    logged_in.get("/build/exampleorg/webapp?tag=latest2", status=404)

    logins = [c for c in hub.calls if c.request.url.endswith("/auth/token")]
    assert len(logins) >= 2


def test_private_repository_answers_like_a_missing_one(logged_in, hub):
    hub.post(f"{HUB}/v2/auth/token",
             json={"access_token": jwt(time.time() + 3600)})
    private = fixture_json("repository-automated.json") | {
        "is_private": True}
    hub.get(repo_url("secret"), json=private)
    hub.get(history_url(repository="secret"),
            body=fixture_text("buildhistory-success.json"))
    hub.get(tag_url(repository="secret"),
            body=fixture_text("tag-latest.json"))
    hub.get(history_url(repository="gone"), status=404,
            json={"detail": "Object not found"})
    serve_fixture(hub, tag_url(repository="gone"),
                  "error-404-repository-legacy.json", 404)
    hub.get(repo_url("gone"), status=404,
            body=fixture_text("error-404-repository-legacy.json"))

    private_answer = logged_in.get("/build/exampleorg/secret", status=404)
    missing_answer = logged_in.get("/build/exampleorg/gone", status=404)

    assert private_answer.json["description"].replace("secret", "X") == (
        missing_answer.json["description"].replace("gone", "X"))
    assert not any("buildhistory" in c.request.url and "secret" in
                   c.request.url for c in hub.calls)


def test_failed_login_goes_on_anonymously(logged_in, hub):
    hub.post(f"{HUB}/v2/auth/token", status=401, json={"detail": "no"})
    serve_fixture(hub, repo_url(), "repository-automated.json")
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = logged_in.get("/build/exampleorg/webapp").json

    assert answer["status"] == 10
    assert "Authorization" not in hub.calls[-1].request.headers


def test_help_never_shows_the_token():
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "serve", "--help"],
        capture_output=True, text=True, check=True,
        env={"DOCKERHUB_TOKEN": "dckr_pat_very_secret",
             "MIRROR_WEBHOOK_SECRET": "hook_secret", "PATH": ""})

    assert "dckr_pat_very_secret" not in result.stdout
    assert "hook_secret" not in result.stdout
    assert "DOCKERHUB_TOKEN" in result.stdout


class SlowHub(BaseHTTPRequestHandler):
    """Docker Hub answering build history after a pause."""

    pause = 2.0

    def do_GET(self):
        time.sleep(self.pause)
        body = fixture_text("buildhistory-success.json").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_sigterm_lets_the_slow_request_finish_and_exits_0():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), SlowHub)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mirror", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--upstream",
         f"http://127.0.0.1:{upstream.server_address[1]}"],
        stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/health")
        answers = []
        asking = threading.Thread(target=lambda: answers.append(
            requests.get(f"http://127.0.0.1:{port}/build/exampleorg/webapp",
                         timeout=15)))
        asking.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = process.wait(10)
        asking.join(10)
    finally:
        process.kill()
        upstream.shutdown()
        upstream.server_close()

    assert code == 0
    assert time.monotonic() - started < 10
    assert answers and answers[0].status_code == 200
    assert answers[0].json()["status"] == 10


def test_access_log_writes_one_line_per_request(hub, caplog):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    app = webtest.TestApp(make_app(Config(upstream=HUB, access_log=True)))

    with caplog.at_level("INFO", logger="mirror.access"):
        app.get("/build/exampleorg/webapp?tag=latest")
        app.get("/nowhere", status=404)

    lines = [r.getMessage() for r in caplog.records
             if r.name == "mirror.access"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /build/exampleorg/webapp?tag=latest 200")
    assert lines[1].startswith("GET /nowhere 404")


def test_access_log_is_off_by_default(app, caplog):
    with caplog.at_level("INFO", logger="mirror.access"):
        app.get("/v1/health")

    assert not [r for r in caplog.records if r.name == "mirror.access"]


def test_access_log_never_shows_the_webhook_secret(hub, caplog):
    app = webtest.TestApp(make_app(Config(upstream=HUB, access_log=True,
                                          webhook_secret=SECRET)))

    with caplog.at_level("INFO", logger="mirror.access"):
        app.post_json(f"/v1/webhook/dockerhub/{SECRET}", {}, status=400)
        app.post_json("/v1/webhook/dockerhub/wrong-secret", {}, status=403)

    text = caplog.text
    assert SECRET not in text and "wrong-secret" not in text
    assert "/v1/webhook/dockerhub/<secret>" in text
