"""Badges served by the mirror: ``/status.svg`` and the shields.io endpoint.

``GET /status.svg?organization=&repository=&tag=&text=&style=`` draws the
state the status API finds. Every outcome is an image (HTTP 200, grey):
``not found``, ``unavailable``, ``invalid name`` for any name Docker Hub
would refuse, and ``repository?`` when the repository parameter is
missing or empty, as the static client draws it. An absent ``text``
reads ``Docker``; an empty one draws the message alone. An unknown
``style`` draws ``flat``.

``GET /v1/shields/<organization>/<repository>?tag=`` answers the JSON of
shields.io's endpoint badge, with HTTP 200 and ``isError`` for errors, so
that shields draws our message instead of its own.

Rendered badges are memoised, and so are the short query strings that
ask for them: a warm badge costs look-ups, not parsing and rendering.
"""

import threading
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

import cachetools
from bottle import request, response

from mirror.badge import (
    FALLBACK_COLOR,
    MAX_TEXT,
    NAMED_COLORS,
    STATES,
    STYLES,
    render_badge,
)
from mirror.errors import BadName
from mirror.names import parse_image
from mirror.plugins import (
    ERROR_MAX_AGE,
    cache_control,
    conditional,
    etag_matches,
    json_response,
)
from mirror.status import etag_of

DEFAULT_ORGANIZATION = "library"
DEFAULT_LABEL = "Docker"
DEFAULT_STYLE = "flat"
SHIELDS_LABEL = "docker build"
MEMO_SIZE = 1024
# Query strings up to this length are remembered with what they ask for.
REMEMBERED_QUERY_LENGTH = 512

# Longer than any valid name or tag, so cutting keeps an invalid one
# invalid; one past MAX_TEXT, so a cut label still ends in an ellipsis.
NAME_LIMIT = 300
TEXT_LIMIT = MAX_TEXT + 1

# What each badge state reads and its colour: the badge states, and the
# one state only a badge request has.
BADGE_STATES = {**STATES, "no repository": ("repository?", FALLBACK_COLOR)}

# The badge is plain markup: it fetches nothing and runs nothing.
BADGE_CSP = "default-src 'none'; sandbox"

# Shields' own names for our colours, where it has one.
SHIELDS_COLORS = {hex_: name for name, hex_ in reversed(NAMED_COLORS.items())}


def query_values(query_string):
    """A query string's values as text, never failing on what it holds.

    Bytes that are not UTF-8 are replaced; of a repeated name, the last
    value counts.
    """
    if not query_string.isascii():
        # WSGI hands over the raw bytes as Latin-1 characters.
        query_string = query_string.encode("latin-1", "replace").decode(
            "utf-8", "replace")
    return dict(parse_qsl(query_string, keep_blank_values=True,
                          errors="replace"))


def request_values():
    """The current request's query values, see :func:`query_values`."""
    return query_values(request.environ.get("QUERY_STRING", ""))


def value(values, name, default="", limit=NAME_LIMIT):
    """One value, or ``default`` when absent, cut to ``limit``."""
    return values.get(name, default)[:limit]


@dataclass(frozen=True)
class BadgeQuery:
    """The parameters of one ``/status.svg`` request, read safely."""

    organization: str
    repository: str
    tag: str
    label: str
    style: str

    @classmethod
    def from_values(cls, values):
        style = value(values, "style", DEFAULT_STYLE)
        return cls(
            value(values, "organization") or DEFAULT_ORGANIZATION,
            value(values, "repository"),
            value(values, "tag"),
            value(values, "text", DEFAULT_LABEL, TEXT_LIMIT),
            style if style in STYLES else DEFAULT_STYLE,
        )

    def image(self):
        """The image to look up; raises BadName, also for no repository."""
        if not self.repository:
            raise BadName("the repository parameter is missing")
        return parse_image(self.organization, self.repository, self.tag)


def read_badge_query(query_string):
    return BadgeQuery.from_values(query_values(query_string))


remembered_badge_query = lru_cache(maxsize=MEMO_SIZE)(read_badge_query)


def badge_query(query_string):
    """The BadgeQuery of a query string; recent short ones are kept, so
    a warm badge's query is not parsed again."""
    if len(query_string) > REMEMBERED_QUERY_LENGTH:
        return read_badge_query(query_string)
    return remembered_badge_query(query_string)


def request_badge_query():
    return badge_query(request.environ.get("QUERY_STRING", ""))


def error_state(error):
    """The badge state of a MirrorError: its short message, if drawable."""
    return error.badge if error.badge in STATES else "unknown"


class BadgeMemo:
    """Rendered badges and their ETags, bounded, shared by all threads."""

    def __init__(self, maxsize=MEMO_SIZE):
        self._svgs = cachetools.LRUCache(maxsize)
        self._lock = threading.Lock()

    def get(self, label, state, style):
        """Return (SVG bytes, ETag) of a badge, rendering it only once."""
        message, color = BADGE_STATES[state]
        key = (label, message, color, style)
        with self._lock:
            found = self._svgs.get(key)
        if found is None:
            svg = render_badge(label, message, color, style).encode()
            found = (svg, etag_of(svg))
            with self._lock:
                self._svgs[key] = found
        return found


def svg_response(svg, etag, max_age):
    """The badge, or 304 when the client's copy carries this ETag.

    The headers go on Bottle's response of this request and the body is
    returned as it is: for a warm badge that is cheaper than a new
    HTTPResponse.
    """
    response.set_header("ETag", etag)
    response.set_header("Cache-Control", cache_control(max_age))
    response.set_header("Content-Security-Policy", BADGE_CSP)
    if etag_matches(etag):
        response.status = 304
        return b""
    response.content_type = "image/svg+xml"
    return svg


def shields_body(state, max_age, is_error=False):
    """The endpoint-badge JSON shields.io documents, schema version 1."""
    message, color = STATES[state]
    body = {
        "schemaVersion": 1,
        "label": SHIELDS_LABEL,
        "message": message,
        "color": SHIELDS_COLORS.get(color, color),
        "cacheSeconds": max_age,
    }
    if is_error:
        body["isError"] = True
    return body


def shields_response(body):
    out = json_response(body)
    out.set_header("Cache-Control", cache_control(body["cacheSeconds"]))
    return conditional(out)


def add_badge_routes(app, mirror):
    """Serve ``/status.svg`` and ``/v1/shields/...`` from ``mirror``."""
    memo = BadgeMemo()

    def good_age():
        return int(mirror.config.cache_ttl)

    def error_badge(error):
        query = request_badge_query()
        state = error_state(error) if query.repository else "no repository"
        svg, etag = memo.get(query.label, state, query.style)
        return svg_response(svg, etag, min(error.max_age, ERROR_MAX_AGE))

    @app.get("/status.svg", on_error=error_badge)
    def status_svg():
        query = request_badge_query()
        state = mirror.status(query.image()).state
        svg, etag = memo.get(query.label, state, query.style)
        return svg_response(svg, etag, good_age())

    def error_shields(error):
        body = shields_body(error_state(error),
                            min(error.max_age, ERROR_MAX_AGE), True)
        return shields_response(body)

    @app.get("/v1/shields/<organization>/<repository>",
             on_error=error_shields)
    def shields(organization, repository):
        tag = value(request_values(), "tag")
        image = parse_image(organization, repository, tag)
        state = mirror.status(image).state
        return shields_response(shields_body(state, good_age()))
