"""Badges and the page in a real browser: Debian's Chromium via Playwright.

The mirror runs as a user starts it, against the replay upstream. Without
``/usr/bin/chromium`` these tests are skipped, except under CI (the ``CI``
variable set), where the browser is installed and its absence is a fault.
"""

import itertools
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
import requests
from conftest import mirror_process

pytestmark = pytest.mark.browser

WEBAPP = "status.svg?organization=exampleorg&repository=webapp"
MARKUP_LABEL = "<img src=x onerror=alert(1)><script>alert(2)</script>"
BADGE_ELEMENTS = {"svg", "title", "linearGradient", "stop", "clipPath",
                  "rect", "g", "text"}


@pytest.fixture(scope="module")
def mirror_url(upstream):
    with mirror_process("--upstream", upstream, "--threads", "4") as (
            url, _):
        yield url


@pytest.fixture(scope="module")
def readme():
    """Pages on another loopback origin that embed badges, as a README
    on a code host does. (Chromium refuses loopback images to pages from
    a public address, so the page host is on loopback too.)"""
    server = ReadmeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.dialogs = []
    page.csp_errors = []
    page.on("dialog", lambda dialog: record_dialog(page, dialog))
    page.on("console", lambda message: record_console(page, message))
    yield page
    context.close()


@pytest.mark.parametrize(("query", "height"), [
    (WEBAPP, 20),
    (WEBAPP + "&style=flat-square", 20),
    (WEBAPP + "&style=for-the-badge", 28),
    ("status.svg?organization=exampleorg&repository=does-not-exist", 20),
    ("status.svg?organization=exampleorg", 20),
], ids=["flat", "flat-square", "for-the-badge", "not-found",
        "no-repository"])
def test_img_shows_the_badge_at_its_computed_width(page, readme, mirror_url,
                                                   query, height):
    url = f"{mirror_url}/{query}"

    page.goto(readme.page(f'<img id="badge" src="{url}">'))

    size = loaded_size(page, "#badge")
    assert size == {"width": svg_width(url), "height": height}


def test_markup_in_the_label_is_text_in_an_img(page, readme, mirror_url):
    url = f"{mirror_url}/{WEBAPP}&text={quote(MARKUP_LABEL, safe='')}"

    page.goto(readme.page(f'<img id="badge" src="{url}">'))

    assert loaded_size(page, "#badge")["width"] == svg_width(url)
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.evaluate("document.images.length") == 1


def test_markup_in_the_label_runs_nothing_when_opened_directly(page,
                                                               mirror_url):
    url = f"{mirror_url}/{WEBAPP}&text={quote(MARKUP_LABEL, safe='')}"

    page.goto(url)
    page.wait_for_timeout(300)

    assert page.dialogs == []
    elements = page.evaluate(
        "Array.from(document.querySelectorAll('*'), e => e.localName)")
    assert set(elements) <= BADGE_ELEMENTS
    texts = page.evaluate(
        "Array.from(document.querySelectorAll('text'), e => e.textContent)")
    assert MARKUP_LABEL in texts


def test_page_form_gives_the_markdown_snippet_and_a_live_preview(
        page, mirror_url):
    page.goto(mirror_url + "/")

    page.fill("input[name=organization]", "exampleorg")
    page.fill("input[name=repository]", "webapp")
    page.fill("input[name=text]", "CI & more")
    page.select_option("select[name=style]", "flat-square")

    query = ("organization=exampleorg&repository=webapp"
             "&text=CI%20%26%20more&style=flat-square")
    markdown = page.input_value("#snippet-markdown")
    assert markdown == (
        f"[![build status]({mirror_url}/status.svg?{query})]"
        "(https://hub.docker.com/r/exampleorg/webapp)")
    page.wait_for_function(
        "q => document.getElementById('preview').src.endsWith(q)",
        arg=query)
    size = loaded_size(page, "#preview")
    assert size["width"] == svg_width(f"{mirror_url}/status.svg?{query}")
    assert page.csp_errors == []


def test_page_snippets_match_what_the_server_renders(page, mirror_url):
    text = quote("It's (CI)! *café* & <more>", safe="")
    page.goto(f"{mirror_url}/?organization=exampleorg&repository=webapp"
              f"&tag=2.0&text={text}")
    served = snippets(page)

    page.fill("input[name=tag]", "2.0 ")
    page.fill("input[name=tag]", "2.0")

    assert snippets(page) == served


def test_copy_button_puts_the_snippet_on_the_clipboard(browser, mirror_url):
    context = browser.new_context(
        permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(f"{mirror_url}/?organization=exampleorg&repository=webapp")
        page.click("button[data-copy=snippet-rst]")
        page.wait_for_function(
            "document.getElementById('copy-status').textContent !== ''")

        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.input_value("#snippet-rst")
    finally:
        context.close()


# Helpers


def record_dialog(page, dialog):
    page.dialogs.append(dialog.message)
    dialog.dismiss()


def record_console(page, message):
    if "Content Security Policy" in message.text:
        page.csp_errors.append(message.text)


def loaded_size(page, selector):
    """Wait until an image has loaded; return its natural size."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s);"
        " return i.complete && i.naturalWidth > 0; }", arg=selector)
    return page.evaluate(
        "s => { const i = document.querySelector(s);"
        " return {width: i.naturalWidth, height: i.naturalHeight}; }",
        selector)


def svg_width(url):
    svg = ET.fromstring(requests.get(url, timeout=10).content)
    return int(svg.get("width"))


def snippets(page):
    return {name: page.input_value(f"#snippet-{name}")
            for name in ("markdown", "html", "rst")}


class ReadmeServer(ThreadingHTTPServer):
    """Serves the HTML bodies registered with :meth:`page`."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReadmeHandler)
        self.bodies = {}
        self.numbers = itertools.count()

    def page(self, body):
        """Register a page with this body; return its URL."""
        path = f"/README-{next(self.numbers)}.html"
        self.bodies[path] = (
            f"<!DOCTYPE html><html><body>{body}</body></html>").encode()
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class ReadmeHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.bodies.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass
