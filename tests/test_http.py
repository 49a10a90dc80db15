"""What every HTTP answer carries: CORS, JSON errors, caching headers."""

import io
import tarfile

import pytest
import webtest
from conftest import history_url, serve_fixture

from mirror.app import make_app
from mirror.config import Config

REQUESTS = [
    ("GET", "/build/exampleorg/webapp"),
    ("GET", "/build/Bad%20Name/webapp"),
    ("GET", "/build/exampleorg/webapp?tag=%FF%FE"),
    ("GET", "/build/exampleorg"),
    ("GET", "/build/a/b/c"),
    ("GET", "/nope"),
    ("GET", "/%00%ff"),
    ("POST", "/build/exampleorg/webapp"),
    ("DELETE", "/v1/health"),
    ("PUT", "/nothing/here"),
    ("OPTIONS", "/build/exampleorg/webapp"),
    ("OPTIONS", "/anything"),
    ("GET", "/v1/health"),
    ("HEAD", "/build/exampleorg/webapp"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_every_answer_allows_any_origin(app, hub, method, path):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.request(path, method=method, expect_errors=True)

    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.status_int < 500
    assert b"Traceback" not in answer.body


@pytest.mark.parametrize(("method", "path"), [
    r for r in REQUESTS if r[0] not in ("OPTIONS", "HEAD")])
def test_every_answer_is_json(app, hub, method, path):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.request(path, method=method, expect_errors=True)

    assert answer.content_type == "application/json"
    assert isinstance(answer.json, dict)
    if answer.status_int >= 400:
        assert answer.json["request"] == "error"
        assert answer.json["description"]


def test_unknown_route_is_a_json_404(app):
    answer = app.get("/no/such/thing", status=404)

    assert "no such endpoint" in answer.json["description"]


def test_wrong_method_is_a_json_405(app):
    answer = app.post("/v1/health", status=405)

    assert "not allowed" in answer.json["description"]


def test_preflight_is_answered(app):
    answer = app.options("/build/exampleorg/webapp", headers={
        "Origin": "https://example.org",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-custom"}, status=204)

    assert "GET" in answer.headers["Access-Control-Allow-Methods"]
    assert answer.headers["Access-Control-Allow-Headers"] == "x-custom"


def test_unexpected_failure_is_a_json_500_without_traceback(hub):
    wsgi = make_app(Config(upstream="https://hub.docker.com"))

    def broken(image):
        raise RuntimeError("secret internals")

    wsgi.config["mirror"].cache.lookup = broken
    answer = webtest.TestApp(wsgi).get("/build/a/b", status=500)

    assert answer.json["request"] == "error"
    assert "secret" not in answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_good_answers_are_cached_for_the_ttl(hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    app = webtest.TestApp(make_app(Config(upstream="https://hub.docker.com",
                                          cache_ttl=42)))

    answer = app.get("/build/exampleorg/webapp")

    assert "max-age=42" in answer.headers["Cache-Control"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_errors_are_cached_briefly(app):
    answer = app.get("/build/exampleorg/Bad%20Name", status=400)

    assert "max-age=10" in answer.headers["Cache-Control"]


def test_etag_answers_304(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    first = app.get("/build/exampleorg/webapp")

    again = app.get("/build/exampleorg/webapp", status=304,
                    headers={"If-None-Match": first.headers["ETag"]})

    assert again.body == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Access-Control-Allow-Origin"] == "*"


def test_stale_etag_gets_the_full_answer(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get("/build/exampleorg/webapp",
                     headers={"If-None-Match": '"old", W/"older"'})

    assert answer.status_int == 200
    assert answer.json["status"] == 10


def test_health_names_the_software(app):
    answer = app.get("/v1/health").json

    assert answer["ok"] is True
    assert answer["software"] == "dockerhub-build-status"
    assert answer["api_version"] == 1
    assert answer["version"]


def test_source_is_an_archive_of_the_running_code(app):
    answer = app.get("/source")

    with tarfile.open(fileobj=io.BytesIO(answer.body)) as tar:
        names = tar.getnames()
    assert any(name.endswith("mirror/app.py") for name in names)
    assert not any("__pycache__" in name for name in names)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_source_redirects_when_a_url_is_set(hub):
    app = webtest.TestApp(make_app(Config(
        upstream="https://hub.docker.com",
        source_url="https://example.org/src")))

    answer = app.get("/source", status=302)

    assert answer.headers["Location"] == "https://example.org/src"


def test_path_that_is_not_utf8_is_refused_not_misread(app, hub):
    answer = app.get("/build/exampleorg/web%FFapp", status=400)

    assert "not valid UTF-8" in answer.json["description"]
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert len(hub.calls) == 0


def test_underscore_is_an_alias_only_for_the_organization(app, hub):
    answer = app.get("/build/exampleorg/_", status=400)

    assert answer.json["description"].startswith("repository '_'")
    assert len(hub.calls) == 0


def test_tag_is_read_as_utf8(app):
    answer = app.get("/build/exampleorg/webapp?tag=caf%C3%A9", status=400)

    assert "'caf\u00e9'" in answer.json["description"]


def test_busy_answers_are_not_kept_by_caches(app):
    from mirror.errors import Busy

    def busy(image):
        raise Busy("busy", retry_after=2)

    app.app.config["mirror"].cache.lookup = busy
    answer = app.get("/build/exampleorg/webapp", status=503)
    badge = app.get("/status.svg?repository=webapp&organization=x")

    assert "max-age=0" in answer.headers["Cache-Control"]
    assert "max-age=0" in badge.headers["Cache-Control"]


def test_page_snippets_use_the_configured_public_url(hub):
    app = webtest.TestApp(make_app(Config(
        upstream="https://hub.docker.com",
        public_url="https://mirror.example.org")))

    page = app.get("/", headers={"Host": "internal:8080"}).text

    assert "https://mirror.example.org/status.svg" in page
    assert "internal:8080" not in page
