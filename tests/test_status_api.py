"""The status API against every Docker Hub fixture case."""

import time

import pytest
import requests
from conftest import (
    calls_to,
    fixture_text,
    history_url,
    serve_fixture,
    tag_url,
)

BUILD_CASES = [
    ("buildhistory-success.json", 10, "success"),
    ("buildhistory-failure.json", -1, "failed"),
    ("buildhistory-in-progress.json", 3, "building"),
    ("buildhistory-queued.json", 0, "queued"),
    ("buildhistory-cancelled.json", -4, "cancelled"),
]


@pytest.mark.parametrize(("name", "status", "state"), BUILD_CASES)
def test_build_history_gives_the_newest_build(app, hub, name, status,
                                              state):
    serve_fixture(hub, history_url(), name)

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["request"] == "ok"
    assert (answer["status"], answer["state"]) == (status, state)
    assert answer["source"] == "buildhistory"
    assert answer["tag"] == "latest"
    assert answer["updated"].endswith("Z")


def test_build_answer_carries_the_build_time(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["updated"] == "2020-03-02T10:24:51Z"


def test_empty_build_history_falls_back_to_the_tag(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-empty.json")
    serve_fixture(hub, tag_url(), "tag-latest.json")

    answer = app.get("/build/exampleorg/webapp").json

    assert answer["status"] == 1
    assert answer["state"] == "published"
    assert answer["source"] == "tags"
    assert answer["updated"] == "2020-04-10T09:38:12Z"


@pytest.mark.parametrize("history", [
    {"status": 404, "body": fixture_text("error-404-detail.json")},
    {"status": 200, "body": fixture_text("error-404-html-plain.html"),
     "content_type": "text/html"},
    {"status": 200, "body": fixture_text("error-404-html-docker.html"),
     "content_type": "text/html"},
    {"status": 500, "body": "oops"},
    {"status": 302, "body": "", "headers": {"Location": "https://x.test"}},
    {"status": 200, "body": '{"results": "not a list"}'},
    {"status": 200, "body": '{"results": [{"status": "10"}]}'},
    {"status": 200, "body": "[1, 2, 3]"},
], ids=["404", "html-plain", "html-docker", "500", "redirect",
        "results-not-list", "malformed-entry", "json-array"])
def test_unusable_build_history_falls_back_to_the_tag(app, hub, history):
    hub.get(history_url(), **history)
    serve_fixture(hub, tag_url(), "tag-latest.json")

    answer = app.get("/build/exampleorg/webapp").json

    assert (answer["status"], answer["source"]) == (1, "tags")


def test_history_without_the_tag_falls_back_to_the_tag(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    serve_fixture(hub, tag_url(tag="v2"), "tag-latest.json")

    answer = app.get("/build/exampleorg/webapp?tag=v2").json

    assert (answer["state"], answer["tag"]) == ("published", "v2")


def test_missing_tag_is_a_404_that_names_the_tag(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    serve_fixture(hub, tag_url(tag="nope"), "error-404-tag.json", 404)

    answer = app.get("/build/exampleorg/webapp?tag=nope", status=404).json

    assert answer["request"] == "error"
    assert "tag 'nope' not found" in answer["description"]


@pytest.mark.parametrize("body", ["error-404-repository-legacy.json",
                                  "error-404-documented-v2.json"])
def test_missing_repository_is_a_404_that_names_it(app, hub, body):
    hub.get(history_url(repository="gone"), status=404,
            body=fixture_text("error-404-detail.json"))
    serve_fixture(hub, tag_url(repository="gone"), body, 404)

    answer = app.get("/build/exampleorg/gone", status=404).json

    assert "repository exampleorg/gone not found" in answer["description"]


def test_private_repository_answers_like_a_missing_one(app, hub):
    hub.get(history_url(), status=404,
            body=fixture_text("error-404-detail.json"))
    hub.get(tag_url(), status=401, json={"detail": "unauthorized"})

    answer = app.get("/build/exampleorg/webapp", status=404).json

    assert "not found" in answer["description"]


@pytest.mark.parametrize(("tag_answer", "status"), [
    ({"status": 200, "body": fixture_text("error-404-html-docker.html"),
      "content_type": "text/html"}, 502),
    ({"status": 200, "json": {"unexpected": True}}, 502),
    ({"status": 404, "body": fixture_text("error-404-html-plain.html"),
      "content_type": "text/html"}, 502),
    ({"status": 500, "body": "boom"}, 503),
    ({"status": 503, "body": "maintenance"}, 503),
    ({"body": requests.ConnectionError("refused")}, 503),
    ({"body": requests.ReadTimeout("slow")}, 504),
], ids=["html", "wrong-shape", "html-404", "500", "503", "refused",
        "timeout"])
def test_upstream_failures_get_an_honest_status(app, hub, tag_answer,
                                                status):
    hub.get(history_url(), status=404, json={"detail": "Object not found"})
    hub.get(tag_url(), **tag_answer)

    answer = app.get("/build/exampleorg/webapp", status=status).json

    assert answer["request"] == "error"
    assert answer["description"]


def test_oversized_answer_is_refused(app, hub):
    hub.get(history_url(), body=b"x" * (2 * 1024 * 1024 + 1))
    hub.get(tag_url(), body=b"[" * (3 * 1024 * 1024))

    answer = app.get("/build/exampleorg/webapp", status=503).json

    assert "oversized" in answer["description"]


def test_uppercase_names_are_lowercased_and_tag_case_kept(app, hub):
    hub.get(history_url(), status=404, json={"detail": "Object not found"})
    serve_fixture(hub, tag_url(tag="Release-1.0"), "tag-latest.json")

    answer = app.get("/build/ExampleOrg/WebApp?tag=Release-1.0").json

    assert answer["tag"] == "Release-1.0"
    assert calls_to(hub, "/exampleorg/repositories/webapp/") == 1


@pytest.mark.parametrize("alias", ["_", "library"])
def test_official_images_live_under_library(app, hub, alias):
    hub.get(history_url("library", "examplehttpd"), status=404,
            json={"detail": "Object not found"})
    serve_fixture(hub, tag_url("library", "examplehttpd"), "tag-latest.json")

    answer = app.get(f"/build/{alias}/examplehttpd").json

    assert answer["state"] == "published"


def test_empty_tag_means_latest(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get("/build/exampleorg/webapp?tag=").json

    assert (answer["tag"], answer["status"]) == ("latest", 10)


def test_rate_limit_backs_off_and_sends_nothing_meanwhile(app, hub):
    hub.get(history_url(), status=429, headers={"Retry-After": "37"},
            json={"detail": "Rate limit exceeded", "error": False})

    first = app.get("/build/exampleorg/webapp", status=503)
    second = app.get("/build/exampleorg/other", status=503)

    assert "rate-limited" in first.json["description"]
    assert 30 <= int(first.headers["Retry-After"]) <= 38
    assert "rate-limited" in second.json["description"]
    assert len(hub.calls) == 1


def test_plain_text_429_backs_off_for_a_minute(app, hub):
    hub.get(history_url(), status=404, json={"detail": "Object not found"})
    hub.get(tag_url(), status=429, body="Too Many Requests",
            content_type="text/plain")

    answer = app.get("/build/exampleorg/webapp", status=503)

    assert 55 <= int(answer.headers["Retry-After"]) <= 61


def test_rate_limit_reset_header_sets_the_back_off(app, hub):
    now = int(time.time())
    hub.get(history_url(), status=429,
            headers={"X-RateLimit-Reset": str(now + 120)})

    answer = app.get("/build/exampleorg/webapp", status=503)

    assert 118 <= int(answer.headers["Retry-After"]) <= 121


def test_user_agent_names_the_product(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    app.get("/build/exampleorg/webapp")

    agent = hub.calls[0].request.headers["User-Agent"]
    assert agent.startswith("dockerhub-build-status/")


def test_no_upstream_url_is_built_from_a_bad_name(app, hub):
    app.get("/build/exampleorg/web..app", status=400)
    app.get("/build/exampleorg/webapp?tag=../../x", status=400)

    assert len(hub.calls) == 0
