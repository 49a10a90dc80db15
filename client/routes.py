"""Every mirror serves its own client at ``/client/``.

``/client/status.svg`` and ``/client/status.js`` are the shipped files;
``/client/status-config.json`` pins the mirror's trusted keys and its
registry, and names the mirror itself as the bootstrap mirror: its
``--public-url``, else the origin the request came to.
"""

from bottle import HTTPResponse, request

from client import CONFIG_NAME, SCRIPT_NAME, SVG_NAME, read_file
from client.bundle import BundleError, config_json
from mirror.plugins import (
    ERROR_MAX_AGE,
    cache_control,
    conditional,
    error_body,
    json_response,
)

MAX_AGE = 300
FORWARDED = "Host, X-Forwarded-Host, X-Forwarded-Proto"

# The badge runs its own script and asks mirrors anywhere; nothing else.
SVG_CSP = ("default-src 'none'; script-src 'self'; "
           "connect-src 'self' http: https:; base-uri 'none'")


def add_client_routes(app, mirror):
    """Serve the client bundle of ``mirror`` under ``/client/``."""
    svg = read_file(SVG_NAME)
    script = read_file(SCRIPT_NAME)
    settings = ClientSettings(mirror)

    @app.get("/client/" + SVG_NAME, max_age=MAX_AGE)
    def client_svg():
        return HTTPResponse(svg, headers={
            "Content-Type": "image/svg+xml",
            "Content-Security-Policy": SVG_CSP,
        })

    @app.get("/client/" + SCRIPT_NAME, max_age=MAX_AGE)
    def client_script():
        return HTTPResponse(script, headers={
            "Content-Type": "text/javascript; charset=utf-8"})

    @app.get("/client/" + CONFIG_NAME)
    def client_config():
        try:
            out = HTTPResponse(settings.config_json(), headers={
                "Content-Type": "application/json"})
        except BundleError as error:
            out = json_response(error_body(
                f"this mirror cannot name itself from the request's host "
                f"({error}); its operator can set --public-url"), 400)
        return settings.cached(out)


class ClientSettings:
    """The client configuration one mirror hands out."""

    def __init__(self, mirror):
        config = mirror.config
        federation = mirror.federation
        self.trusted_keys = list(config.trusted_key)
        self.registry = federation.registry_url if federation else None
        if not (self.trusted_keys and self.registry):
            self.trusted_keys, self.registry = [], None
        self.allow_private = config.allow_private
        self.fixed = None
        if config.public_url:
            self.fixed = self.make([config.public_url])

    def make(self, bootstrap):
        return config_json(self.trusted_keys, self.registry, bootstrap,
                           self.allow_private)

    def config_json(self):
        if self.fixed is not None:
            return self.fixed
        return self.make([request_origin()])

    def cached(self, out):
        """Caching headers for a configuration answer.

        Named from the request's host, the configuration is kept out of
        shared caches: a forged Host or X-Forwarded-Host must not reach
        other visitors through a proxy that keys on the path alone.
        """
        age = MAX_AGE if out.status_code == 200 else ERROR_MAX_AGE
        if self.fixed is not None:
            out.set_header("Cache-Control", cache_control(age))
        else:
            out.set_header("Cache-Control", f"private, max-age={age}")
            out.set_header("Vary", FORWARDED)
        return conditional(out)


def request_origin():
    """``scheme://host[:port]`` as the client reached this mirror."""
    parts = request.urlparts
    scheme = parts.scheme if parts.scheme in ("http", "https") else "http"
    return f"{scheme}://{parts.netloc}"
