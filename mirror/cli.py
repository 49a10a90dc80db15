"""The ``dockerhub-mirror`` command: ``dockerhub-mirror serve [options]``."""

import logging
import sys

from mirror import config as settings
from mirror.app import make_app
from mirror.federation import FederationError
from mirror.server import Server
from registry.state import StateError

log = logging.getLogger("mirror")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: dockerhub-mirror serve [options]\n"
              "       dockerhub-mirror serve --help  (lists every option)")
        return 0 if argv else 2
    if argv[0] != "serve":
        print(f"dockerhub-mirror: unknown command {argv[0]!r}; "
              "try 'dockerhub-mirror serve --help'", file=sys.stderr)
        return 2
    config = settings.parse(argv[1:], prog="dockerhub-mirror serve")
    try:
        return serve(config)
    except StartError as error:
        print(f"dockerhub-mirror serve: {error}", file=sys.stderr)
        return 2


class StartError(Exception):
    """The mirror cannot start; the message says what to change."""


def configure_logging():
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(config):
    configure_logging()
    app, server = start(config)
    server.stop_on_signals()
    log.info("mirror listening on http://%s:%s, upstream %s",
             config.host, server.port, config.upstream)
    federation = app.config["mirror"].federation
    if federation:
        federation.start()
    try:
        server.serve()
    finally:
        app.config["mirror"].close()
    log.info("mirror stopped")
    return 0


def start(config):
    """The app and its server, or a StartError that says what to fix."""
    try:
        app = make_app(config)
    except FederationError as error:
        raise StartError(error) from None
    except StateError as error:
        raise StartError(error.reason) from None
    try:
        return app, Server(app, config.host, config.port, config.threads)
    except (OSError, ValueError) as error:
        app.config["mirror"].close()
        reason = getattr(error, "strerror", None) or error
        raise StartError(f"cannot listen on {config.host}:{config.port}: "
                         f"{reason}") from None
