"""Badges over HTTP: /status.svg, the shields.io endpoint and the page."""

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
import webtest
from conftest import fixture_text, history_url, serve_fixture, tag_url

from mirror import __version__, badges

DATA = Path(__file__).parent / "data" / "badge_routes"
STATES = json.loads((DATA / "states.json").read_text(encoding="utf-8"))
CASES = STATES["cases"]
HOSTILE = json.loads(
    (DATA / "hostile-text.json").read_text(encoding="utf-8"))["texts"]
SCHEMA = json.loads(
    (DATA / "shields-endpoint-schema.json").read_text(encoding="utf-8"))

SVG_NS = "{http://www.w3.org/2000/svg}"
BADGE_ELEMENTS = {"svg", "title", "linearGradient", "stop", "clipPath",
                  "rect", "g", "text"}
GREY = "#9f9f9f"
WEBAPP = "/status.svg?organization=exampleorg&repository=webapp"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_fixture_state_is_drawn_with_its_message_and_colour(
        app, hub, case):
    serve_case(hub, case)

    answer = app.get(WEBAPP)

    assert answer.status_int == 200
    assert answer.content_type == "image/svg+xml"
    svg = parse_svg(answer.body)
    assert svg.get("aria-label") == f"Docker: {case['message']}"
    assert case["message"] in texts(svg)
    assert case["color"] in fills(svg)


def test_tag_parameter_picks_the_tag(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    serve_fixture(hub, tag_url(tag="v2"), "tag-latest.json")

    answer = app.get(WEBAPP + "&tag=v2")

    assert parse_svg(answer.body).get("aria-label") == "Docker: published"


def test_organization_defaults_to_library(app, hub):
    hub.get(history_url("library", "examplehttpd"), status=404,
            json={"detail": "Object not found"})
    serve_fixture(hub, tag_url("library", "examplehttpd"), "tag-latest.json")

    answer = app.get("/status.svg?repository=examplehttpd")

    assert parse_svg(answer.body).get("aria-label") == "Docker: published"


@pytest.mark.parametrize(("path", "message"), [
    ("/status.svg?organization=exampleorg", "repository?"),
    ("/status.svg?organization=exampleorg&repository=", "repository?"),
    ("/status.svg?organization=Bad%20Name&repository=webapp",
     "invalid name"),
    ("/status.svg?organization=exampleorg&repository=web..app",
     "invalid name"),
    (WEBAPP + "&tag=../../x", "invalid name"),
    ("/status.svg?organization=%FF%FE&repository=%C3%28", "invalid name"),
    ("/status.svg?repository=" + "a" * 20000, "invalid name"),
], ids=["no-repository", "empty-repository", "bad-organization",
        "bad-repository", "bad-tag", "invalid-utf8", "huge-name"])
def test_bad_names_are_grey_images_and_ask_nothing(app, hub, path, message):
    answer = app.get(path)

    assert_grey_badge(answer, message)
    assert len(hub.calls) == 0


def test_missing_repository_is_a_grey_image(app, hub):
    hub.get(history_url(repository="gone"), status=404,
            body=fixture_text("error-404-detail.json"))
    serve_fixture(hub, tag_url(repository="gone"),
                  "error-404-repository-legacy.json", 404)

    answer = app.get("/status.svg?organization=exampleorg&repository=gone")

    assert_grey_badge(answer, "not found")


def test_missing_tag_is_a_grey_image(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    serve_fixture(hub, tag_url(tag="nope"), "error-404-tag.json", 404)

    answer = app.get(WEBAPP + "&tag=nope")

    assert_grey_badge(answer, "not found")


@pytest.mark.parametrize("tag_answer", [
    {"body": requests.ConnectionError("refused")},
    {"body": requests.ReadTimeout("slow")},
    {"status": 503, "body": "maintenance"},
    {"status": 200, "body": fixture_text("error-404-html-docker.html"),
     "content_type": "text/html"},
    {"status": 429, "headers": {"Retry-After": "37"},
     "body": fixture_text("error-429-documented.json")},
], ids=["refused", "timeout", "503", "html", "rate-limited"])
def test_upstream_down_is_a_grey_unavailable_image(app, hub, tag_answer):
    hub.get(history_url(), status=404, json={"detail": "Object not found"})
    hub.get(tag_url(), **tag_answer)

    answer = app.get(WEBAPP)

    assert_grey_badge(answer, "unavailable")


def test_unexpected_failure_is_a_grey_unknown_image(app, monkeypatch):
    def broken(image):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.app.config["mirror"], "status", broken)

    answer = app.get(WEBAPP)

    assert_grey_badge(answer, "unknown")


@pytest.mark.parametrize("path", [WEBAPP, "/status.svg"],
                         ids=["good", "error"])
def test_badge_headers_forbid_sniffing_script_and_fetches(app, hub, path):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get(path)

    assert answer.headers["Content-Type"] == "image/svg+xml"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    policy = csp(answer)
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy and "img-src" not in policy


def test_error_badges_are_cached_for_less_time_than_good_ones(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    good = cache_ages(app.get(WEBAPP))
    error = cache_ages(app.get("/status.svg?repository=Bad%20Name"))

    assert good == {"max-age": 60, "s-maxage": 60}
    assert error == {"max-age": 10, "s-maxage": 10}


@pytest.mark.parametrize("path", [WEBAPP, "/status.svg"],
                         ids=["good", "error"])
def test_known_etag_is_answered_with_304(app, hub, path):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    first = app.get(path)

    again = app.get(path, headers={"If-None-Match": first.headers["ETag"]},
                    status=304)

    assert again.body == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert again.headers["Access-Control-Allow-Origin"] == "*"


def test_other_etag_gets_the_badge(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get(WEBAPP, headers={"If-None-Match": '"other"'})

    assert answer.status_int == 200
    assert answer.body.startswith(b"<svg")


def test_warm_badge_is_not_rendered_again(app, hub, monkeypatch):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    renders = count_renders(monkeypatch)

    first = app.get(WEBAPP)
    second = app.get(WEBAPP)
    app.get(WEBAPP + "&text=CI")

    assert second.body == first.body
    assert renders == [("Docker", "passing"), ("CI", "passing")]


def test_memo_stays_bounded_and_renders_evicted_badges_again(monkeypatch):
    renders = count_renders(monkeypatch)
    memo = badges.BadgeMemo(maxsize=2)

    for label in ("a", "b", "c", "a"):
        memo.get(label, "success", "flat")

    assert [label for label, _ in renders] == ["a", "b", "c", "a"]


@pytest.mark.parametrize("style", ["plastic", "FLAT", "<script>", ""])
def test_unknown_style_falls_back_to_flat(app, hub, style):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    flat = app.get(WEBAPP)
    other = app.get(WEBAPP + f"&style={style}")

    assert other.body == flat.body


def test_for_the_badge_style_is_28_pixels_high(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get(WEBAPP + "&style=for-the-badge")

    assert parse_svg(answer.body).get("height") == "28"
    assert "PASSING" in texts(parse_svg(answer.body))


def test_empty_text_draws_the_message_alone(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get(WEBAPP + "&text=")

    assert parse_svg(answer.body).get("aria-label") == "passing"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_drawn_as_escaped_text(app, hub, text):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get(WEBAPP, params={"text": text})

    svg = parse_svg(answer.body)
    assert_inert(svg)
    assert text in texts(svg)
    assert svg.get("aria-label") == f"{text}: passing"


@pytest.mark.parametrize("query", [
    "text=%FF%FE%FD", "text=%C3", "text=%ED%A0%80", "text=%00%01",
    "style=%FF", "tag=%FF%FE",
])
def test_undecodable_query_values_still_give_a_badge(app, hub, query):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get(f"{WEBAPP}&{query}")

    assert answer.status_int == 200
    assert_inert(parse_svg(answer.body))


def test_raw_utf8_in_the_query_is_read_as_utf8(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    raw = "organization=exampleorg&repository=webapp&text=caf\xc3\xa9"
    request = webtest.TestRequest.blank("/status.svg")
    request.environ["QUERY_STRING"] = raw

    answer = app.do_request(request)

    assert texts(parse_svg(answer.body))[0] == "caf\u00e9"


def test_long_query_strings_are_not_remembered(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    remembered = badges.remembered_badge_query
    app.get(WEBAPP)
    before = remembered.cache_info().currsize

    app.get(WEBAPP + "&text=" + "x" * 1000)

    assert remembered.cache_info().currsize == before


def test_huge_text_is_cut_with_an_ellipsis(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.get(WEBAPP + "&text=" + "W" * 200000)

    label = texts(parse_svg(answer.body))[0]
    assert label == "W" * 63 + "\u2026"


def test_head_request_gets_the_headers(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")

    answer = app.head(WEBAPP)

    assert answer.headers["Content-Type"] == "image/svg+xml"
    assert answer.headers["ETag"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shields_endpoint_follows_the_schema(app, hub, case):
    serve_case(hub, case)

    answer = app.get("/v1/shields/exampleorg/webapp")

    body = answer.json
    assert_shields_schema(body)
    assert body["message"] == case["message"]
    assert body["color"] == case["shields_color"]
    assert body["cacheSeconds"] == 60
    assert not body.get("isError", False)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(("path", "message"), [
    ("/v1/shields/Bad%20Name/webapp", "invalid name"),
    ("/v1/shields/exampleorg/webapp?tag=nope", "not found"),
    ("/v1/shields/exampleorg/down", "unavailable"),
    ("/v1/shields/exampleorg/webapp?tag=%FF", "invalid name"),
    ("/v1/shields/caf%C3%A9/webapp", "invalid name"),
])
def test_shields_endpoint_errors_are_schema_answers(app, hub, path,
                                                    message):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    serve_fixture(hub, tag_url(tag="nope"), "error-404-tag.json", 404)
    hub.get(history_url(repository="down"), status=503, body="down")
    hub.get(tag_url(repository="down"), status=503, body="down")

    answer = app.get(path)

    assert answer.status_int == 200
    body = answer.json
    assert_shields_schema(body)
    assert (body["message"], body["isError"]) == (message, True)
    assert body["color"] == "lightgrey"
    assert body["cacheSeconds"] == 10
    assert cache_ages(answer) == {"max-age": 10, "s-maxage": 10}
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_shields_endpoint_answers_304_to_a_known_etag(app, hub):
    serve_fixture(hub, history_url(), "buildhistory-success.json")
    first = app.get("/v1/shields/exampleorg/webapp")

    app.get("/v1/shields/exampleorg/webapp", status=304,
            headers={"If-None-Match": first.headers["ETag"]})


def test_page_says_what_runs_and_links_the_endpoints(app):
    answer = app.get("/")

    page = parse_page(answer.text)
    assert answer.content_type == "text/html"
    assert __version__ in answer.text
    links = page.hrefs()
    assert {"/source", "/v1/health"} <= links
    assert any(link.startswith("/client/status.svg?") for link in links)
    assert any(link.startswith("/build/") for link in links)


def test_page_snippets_use_the_public_address(app):
    answer = app.get("/?organization=exampleorg&repository=webapp&tag=v2",
                     extra_environ={"HTTP_HOST": "mirror.example.org"},
                     headers={"X-Forwarded-Proto": "https"})

    snippets = parse_page(answer.text).textareas
    url = ("https://mirror.example.org/status.svg?organization=exampleorg"
           "&repository=webapp&tag=v2")
    hub_page = "https://hub.docker.com/r/exampleorg/webapp"
    assert snippets["snippet-markdown"] == (
        f"[![build status]({url})]({hub_page})")
    assert snippets["snippet-html"] == (
        f'<a href="{hub_page}"><img src="{url.replace("&", "&amp;")}"'
        ' alt="build status"></a>')
    assert snippets["snippet-rst"] == (
        f".. image:: {url}\n   :alt: build status\n   :target: {hub_page}")


def test_page_preview_comes_from_this_mirror(app):
    answer = app.get("/?organization=exampleorg&repository=webapp"
                     "&style=flat-square")

    page = parse_page(answer.text)
    assert page.images == [
        "/status.svg?organization=exampleorg&repository=webapp"
        "&style=flat-square"]


@pytest.mark.parametrize("text", HOSTILE)
def test_page_escapes_every_value(app, text):
    answer = app.get("/", params={"repository": text, "text": text,
                                  "tag": text, "organization": text},
                     extra_environ={"HTTP_HOST": '"><script>x</script>'})

    page = parse_page(answer.text)
    assert page.scripts == 1
    assert page.event_attributes == []
    assert page.inputs["repository"] == text
    assert page.inputs["text"] == text


def test_page_allows_only_its_own_script_and_style(app):
    answer = app.get("/")

    policy = csp(answer)
    page = parse_page(answer.text)
    assert policy["default-src"] == ["'none'"]
    assert policy["img-src"] == ["'self'"]
    assert policy["script-src"] == [sha256_source(page.script_text)]
    assert policy["style-src"] == [sha256_source(page.style_text)]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


# Helpers


def serve_case(hub, case):
    serve_fixture(hub, history_url(), case["history"])
    if "tag" in case:
        serve_fixture(hub, tag_url(), case["tag"])


def parse_svg(body):
    svg = ET.fromstring(body)
    assert svg.tag == SVG_NS + "svg"
    return svg


def texts(svg):
    return [node.text for node in svg.iter(SVG_NS + "text")]


def fills(svg):
    return {node.get("fill") for node in svg.iter(SVG_NS + "rect")}


def assert_grey_badge(answer, message):
    assert answer.status_int == 200
    assert answer.content_type == "image/svg+xml"
    svg = parse_svg(answer.body)
    assert svg.get("aria-label") == f"Docker: {message}"
    assert GREY in fills(svg)
    assert_inert(svg)


def assert_inert(svg):
    """No script, no event handler, no reference outside the badge."""
    for node in svg.iter():
        assert node.tag.startswith(SVG_NS)
        assert node.tag.removeprefix(SVG_NS) in BADGE_ELEMENTS
        for name, value in node.attrib.items():
            assert not name.lower().startswith("on")
            assert "href" not in name
            if value.startswith("url("):
                assert value.startswith("url(#")


def csp(answer):
    policy = {}
    for directive in answer.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


def cache_ages(answer):
    found = re.findall(r"(max-age|s-maxage)=(\d+)",
                       answer.headers["Cache-Control"])
    return {name: int(value) for name, value in found}


def count_renders(monkeypatch):
    renders = []
    real = badges.render_badge

    def counting(label, message, color, style="flat"):
        renders.append((label, message))
        return real(label, message, color, style)

    monkeypatch.setattr(badges, "render_badge", counting)
    return renders


def assert_shields_schema(body):
    """The endpoint badge's documented rules, as shields checks them."""
    kinds = {"integer": int, "string": str, "boolean": bool}
    for name, kind in SCHEMA["required"].items():
        assert isinstance(body[name], kinds[kind]), name
    for name, value in body.items():
        kind = SCHEMA["required"].get(name) or SCHEMA["optional"][name]
        assert isinstance(value, kinds[kind]), name
        if kind == "integer":
            assert not isinstance(value, bool), name
    assert body["schemaVersion"] == 1
    assert body["message"]
    color = body.get("color", "lightgrey")
    assert (color in SCHEMA["named_colors"]
            or re.fullmatch(r"#?(?:[0-9a-f]{3}){1,2}", color)), color
    assert body.get("cacheSeconds", 0) >= 0


def sha256_source(text):
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def parse_page(text):
    page = PageParser()
    page.feed(text)
    page.close()
    return page


class PageParser(HTMLParser):
    """What the tests look at in the page: links, fields, scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.images, self.inputs = [], [], {}
        self.textareas, self.event_attributes = {}, []
        self.scripts, self.script_text, self.style_text = 0, "", ""
        self._inside = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.event_attributes += [name for name, _ in attrs
                                  if name.startswith("on")]
        if tag == "a":
            self.links.append(attributes.get("href"))
        elif tag == "img":
            self.images.append(attributes.get("src"))
        elif tag == "input":
            self.inputs[attributes["name"]] = attributes.get("value")
        elif tag == "script":
            self.scripts += 1
        if tag in ("textarea", "script", "style"):
            self._inside = (tag, attributes.get("id"))
            if tag == "textarea":
                self.textareas[attributes["id"]] = ""

    def handle_endtag(self, tag):
        self._inside = None

    def handle_data(self, data):
        if self._inside is None:
            return
        tag, name = self._inside
        if tag == "textarea":
            self.textareas[name] += data
        elif tag == "script":
            self.script_text += data
        else:
            self.style_text += data

    def hrefs(self):
        return set(self.links)
