"""The mirror's Bottle app, built by :func:`make_app` from a Config."""

import bottle
from bottle import HTTPResponse, redirect, request, response

from client.routes import add_client_routes
from mirror import SOFTWARE, __version__, metrics, plugins, source, webhook
from mirror.badges import add_badge_routes, request_values, value
from mirror.config import Config
from mirror.federation import HOP_HEADER
from mirror.names import parse_image
from mirror.page import add_page_route
from mirror.plugins import json_response
from mirror.service import Mirror
from registry.node import add_node_routes


def make_app(config=None, mirror=None):
    """Build the mirror's WSGI app; ``app.config['mirror']`` is the Mirror.

    >>> app = make_app(Config(upstream="http://127.0.0.1:9"))
    """
    config = config or Config()
    mirror = mirror or Mirror(config)
    app = bottle.Bottle()
    app.config["mirror"] = mirror
    if config.access_log:
        app.install(plugins.AccessLogPlugin())
    plugins.install(app)
    mirror.metrics.watch(mirror)
    metrics.install(app, mirror.metrics)
    add_status_routes(app, mirror)
    add_info_routes(app, mirror)
    add_badge_routes(app, mirror)
    add_page_route(app)
    add_client_routes(app, mirror)
    if config.webhook_secret:
        add_webhook_route(app, mirror)
    if mirror.federation:
        add_node_routes(app, mirror.federation)
    return app


HOP_KEY = "HTTP_" + HOP_HEADER.upper().replace("-", "_")


def add_status_routes(app, mirror):
    def max_age():
        return int(mirror.config.cache_ttl)

    @app.get("/build/<organization>/<repository>", max_age=max_age)
    def build(organization, repository):
        environ = request.environ
        tag = value(request_values(), "tag") if environ.get(
            "QUERY_STRING") else ""
        image = parse_image(organization, repository, tag)
        status = mirror.status(image, hop=HOP_KEY in environ)
        body, etag = status.encoded
        response.set_header("Content-Type", "application/json")
        response.set_header("ETag", etag)
        return body


def add_info_routes(app, mirror):
    @app.get("/v1/health")
    def health():
        return json_response(health_body(mirror))

    @app.get("/source")
    def source_code():
        if mirror.config.source_url:
            redirect(mirror.config.source_url, 302)
        return HTTPResponse(source.archive(), headers={
            "Content-Type": "application/gzip",
            "Content-Disposition":
                f'attachment; filename="{source.archive_name()}"',
        })


def health_body(mirror):
    federation = mirror.federation
    return {"ok": True, "software": SOFTWARE, "version": __version__,
            "api_version": 1,
            "list_version": federation.list_version() if federation
            else None}


def add_webhook_route(app, mirror):
    @app.post("/v1/webhook/dockerhub/<secret>", secret_path=True)
    def dockerhub_webhook(secret):
        body = request.body.read(webhook.MAX_PAYLOAD + 1)
        image = webhook.receive(mirror, secret, body)
        return json_response({"request": "ok", "refreshed": str(image)})
