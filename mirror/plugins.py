"""Bottle plugins for what every route shares: headers, errors, caching.

A route states its needs in its own config, for example
``@app.get("/x", max_age=60)``; the plugins read them from
``route.config``.
"""

import functools
import json
import logging
import time

import bottle
from bottle import HTTPResponse, request, response

from mirror.errors import MirrorError
from mirror.status import etag_of

log = logging.getLogger(__name__)

COMMON_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
}
ERROR_MAX_AGE = 10


def json_response(body, status=200, headers=None):
    """An HTTPResponse with a JSON body, serialised once."""
    data = json.dumps(body).encode()
    out = HTTPResponse(data, status, headers)
    out.content_type = "application/json"
    return out


def error_body(description):
    return {"request": "error", "description": description}


class HeadersPlugin:
    """CORS and nosniff on every response, errors and preflights too."""

    name = "headers"
    api = 2

    def setup(self, app):
        app.add_hook("before_request", self.preflight)

    def preflight(self):
        if request.environ["REQUEST_METHOD"] != "OPTIONS":
            return
        asked = request.headers.get("Access-Control-Request-Headers")
        raise HTTPResponse(status=204, headers={
            **COMMON_HEADERS,
            "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
            "Access-Control-Allow-Headers": asked or "Content-Type",
            "Access-Control-Max-Age": "86400",
        })

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            try:
                out = callback(*args, **kwargs)
            except HTTPResponse as raised:
                add_common(raised)
                raise
            add_common(out if isinstance(out, HTTPResponse) else response)
            return out

        return wrapper


def add_common(target):
    for name, value in COMMON_HEADERS.items():
        target.set_header(name, value)


class ErrorsPlugin:
    """Every error is the JSON envelope with an honest status.

    Route bodies raise :class:`~mirror.errors.MirrorError`; unexpected
    exceptions are logged and answered without a traceback. Router errors
    (unknown path, wrong method) skip every plugin and reach the error
    handler installed here, so it adds the common headers itself.
    A route may render errors its own way with ``on_error=function``.
    """

    name = "errors"
    api = 2

    def setup(self, app):
        app.default_error_handler = self.error_page
        app.add_hook("before_request", refuse_undecodable_paths)

    def error_page(self, error):
        add_common(response)
        response.content_type = "application/json"
        return json.dumps(error_body(describe_http_error(error)))

    def apply(self, callback, route):
        render = route.config.get("on_error") or mirror_error_response

        def wrapper(*args, **kwargs):
            try:
                return callback(*args, **kwargs)
            except MirrorError as error:
                return render(error)
            except HTTPResponse:
                raise
            except Exception:
                log.exception("%s %s failed", request.method, request.path)
                return render(MirrorError(
                    "the mirror failed unexpectedly; the operator's log "
                    "has the details"))

        return wrapper


def refuse_undecodable_paths():
    """Bottle drops bytes of the path that are not UTF-8, which would
    answer for another name; refuse such paths instead."""
    raw = request.environ.get("bottle.raw_path", "")
    if raw.isascii():
        return
    try:
        raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise bottle.HTTPError(
            400, "the path is not valid UTF-8; check the names in it"
        ) from None


def mirror_error_response(error):
    headers = {"Cache-Control": cache_control(error.max_age)}
    if error.retry_after:
        headers["Retry-After"] = str(error.retry_after)
    return json_response(error_body(error.description), error.status,
                         headers)


def describe_http_error(error):
    if error.status_code == 404:
        return (f"no such endpoint: {request.method} {request.path[:200]}; "
                "the status API is GET /build/<organization>/<repository>")
    if error.status_code == 405:
        allowed = error.headers.get("Allow", "GET")
        return f"method {request.method} is not allowed here; use {allowed}"
    if error.status_code >= 500:
        return ("the mirror failed unexpectedly; the operator's log has "
                "the details")
    if isinstance(error.body, str) and error.body:
        return error.body
    return f"the request was refused (HTTP {error.status_code})"


class HttpCachePlugin:
    """Cache-Control, ETag and 304 from the route's ``max_age`` config."""

    name = "http_cache"
    api = 2

    def apply(self, callback, route):
        max_age = route.config.get("max_age")
        if max_age is None:
            return callback
        error_age = route.config.get("error_max_age", ERROR_MAX_AGE)

        def wrapper(*args, **kwargs):
            out = callback(*args, **kwargs)
            if isinstance(out, HTTPResponse):
                target, body = out, out.body
            elif isinstance(out, bytes):
                target, body = response, out
            else:
                return out
            if not target.get_header("Cache-Control"):
                good = target.status_code < 400
                age = max_age() if callable(max_age) else max_age
                target.set_header("Cache-Control",
                                  cache_control(age if good else error_age))
            return conditional(out, target, body)

        return wrapper


@functools.lru_cache(maxsize=64)
def cache_control(age):
    return f"public, max-age={age}, s-maxage={age}"


def conditional(out, target=None, body=None):
    """Add an ETag (unless the route set one) to ``target``, the response
    that carries ``out`` (``out`` itself by default); answer 304 when the
    client already has it."""
    if target is None:
        target, body = out, out.body
    etag = target.get_header("ETag")
    if etag is None:
        etag = etag_of(body if isinstance(body, bytes) else b"")
        target.set_header("ETag", etag)
    if target.status_code == 200 and etag_matches(etag):
        return not_modified(target)
    return out


def not_modified(source):
    answer = HTTPResponse(status=304)
    for name in ("ETag", "Cache-Control", "Vary"):
        if name in source.headers:
            answer.set_header(name, source.headers[name])
    return answer


def etag_matches(etag):
    header = request.environ.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags


class AccessLogPlugin:
    """One log line per request: method, path, status, milliseconds.

    A route declared with ``secret_path=True`` is logged by its rule, so
    the secret in its path never reaches the log.
    """

    name = "access_log"
    api = 2

    def __init__(self, logger=None):
        self.log = logger or logging.getLogger("mirror.access")

    def setup(self, app):
        app.add_hook("before_request", self.started)
        app.add_hook("after_request", self.finished)

    def started(self):
        request.environ["mirror.started"] = time.monotonic()

    def finished(self):
        began = request.environ.get("mirror.started", time.monotonic())
        route = request.environ.get("bottle.route")
        if route is not None and route.config.get("secret_path"):
            target = route.rule
        else:
            query = request.environ.get("QUERY_STRING")
            target = request.fullpath + (f"?{query}" if query else "")
        self.log.info("%s %s %s %.1fms %s", request.method,
                      target[:300], response.status_code,
                      (time.monotonic() - began) * 1000,
                      request.remote_addr or "-")

    def apply(self, callback, route):
        return callback


def install(app):
    """Install the shared plugins, outermost first."""
    app.uninstall(bottle.JSONPlugin)
    app.install(HeadersPlugin())
    app.install(HttpCachePlugin())
    app.install(ErrorsPlugin())
