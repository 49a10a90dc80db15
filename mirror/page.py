"""The page at ``/``: what this mirror is, and a form that makes badges.

The page is rendered on the server from ``templates/index.html``, so the
snippets are there without script; ``templates/index.js`` only keeps the
preview and the snippets in step with the form as a person types. Every
value a request brings is HTML-escaped before it reaches the markup, and
the Content-Security-Policy allows nothing but this mirror's own images
and the page's own inline script and style, named by their hashes.
"""

import base64
import hashlib
import html
import string
from pathlib import Path
from urllib.parse import quote

from bottle import HTTPResponse, request

from mirror import SOFTWARE, __version__
from mirror.badge import STYLES
from mirror.badges import (
    DEFAULT_LABEL,
    DEFAULT_STYLE,
    BadgeQuery,
    request_values,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TAG = "latest"
ALT_TEXT = "build status"
OFFICIAL = ("library", "_")


def read_template(name):
    return (TEMPLATES / name).read_text(encoding="utf-8")


def csp_hash(source):
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


PAGE = string.Template(read_template("index.html"))
SCRIPT = read_template("index.js")
STYLE = read_template("index.css")
PAGE_CSP = (
    "default-src 'none'; img-src 'self'; "
    f"script-src {csp_hash(SCRIPT)}; style-src {csp_hash(STYLE)}; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def form_values():
    """The form's fields from the query, with the badge's defaults."""
    query = BadgeQuery.from_values(request_values())
    return {
        "organization": query.organization,
        "repository": query.repository,
        "tag": query.tag or DEFAULT_TAG,
        "text": query.label,
        "style": query.style,
    }


def public_base():
    """The mirror's public URL if configured, else ``scheme://host`` as
    the client reached this mirror."""
    configured = request.app.config["mirror"].config.public_url
    if configured:
        return configured
    parts = request.urlparts
    scheme = parts.scheme if parts.scheme in ("http", "https") else "http"
    return f"{scheme}://{parts.netloc}"


def encoded(value):
    """Percent-encode everything but RFC 3986's unreserved characters."""
    return quote(value, safe="")


def badge_query(values):
    """The query string of a badge; defaults are left out."""
    pairs = [("organization", values["organization"]),
             ("repository", values["repository"])]
    if values["tag"] != DEFAULT_TAG:
        pairs.append(("tag", values["tag"]))
    if values["text"] != DEFAULT_LABEL:
        pairs.append(("text", values["text"]))
    if values["style"] != DEFAULT_STYLE:
        pairs.append(("style", values["style"]))
    return "&".join(f"{name}={encoded(value)}" for name, value in pairs)


def hub_url(values):
    """The image's page on Docker Hub, where a badge links to."""
    organization = values["organization"]
    repository = encoded(values["repository"])
    if organization in OFFICIAL:
        return f"https://hub.docker.com/_/{repository}"
    return f"https://hub.docker.com/r/{encoded(organization)}/{repository}"


def snippets(badge_url, link):
    """Ready-to-paste badge markup: Markdown, HTML, reStructuredText."""
    return {
        "markdown": f"[![{ALT_TEXT}]({badge_url})]({link})",
        "html": (f'<a href="{html.escape(link)}"><img src="'
                 f'{html.escape(badge_url)}" alt="{ALT_TEXT}"></a>'),
        "rst": (f".. image:: {badge_url}\n   :alt: {ALT_TEXT}\n"
                f"   :target: {link}"),
    }


def json_path(values):
    path = (f"/build/{encoded(values['organization'])}/"
            f"{encoded(values['repository'])}")
    if values["tag"] != DEFAULT_TAG:
        path += f"?tag={encoded(values['tag'])}"
    return path


def style_options(chosen):
    """The style ``<option>`` list, the chosen one selected."""
    return "".join(
        f'<option value="{style}"'
        f'{" selected" if style == chosen else ""}>{style}</option>'
        for style in STYLES)


def page_values(base, values):
    """Every value the template shows, not yet escaped."""
    query = badge_query(values)
    found = snippets(f"{base}/status.svg?{query}", hub_url(values))
    return {
        **values,
        **found,
        "software": SOFTWARE,
        "version": __version__,
        "base": base,
        "preview": f"/status.svg?{query}",
        "json_path": json_path(values),
        "client_path": f"/client/status.svg?{query}",
    }


def render_page(base, values):
    """The page's HTML; every value escaped, markup only from here."""
    shown = {name: html.escape(value, quote=True)
             for name, value in page_values(base, values).items()}
    return PAGE.substitute(shown, script=SCRIPT, style=STYLE,
                           style_options=style_options(values["style"]))


def add_page_route(app):
    """Serve the page at ``/``."""

    @app.get("/")
    def index():
        body = render_page(public_base(), form_values())
        return HTTPResponse(body.encode(), headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": PAGE_CSP,
            "Cache-Control": "no-cache",
            "Referrer-Policy": "no-referrer",
        })
