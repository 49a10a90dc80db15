"""The ``dockerhub-mirror`` command: ``dockerhub-mirror serve [options]``."""

import logging
import sys

from mirror import config as settings
from mirror.app import make_app
from mirror.federation import FederationError
from mirror.server import Server

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
    except FederationError as error:
        print(f"dockerhub-mirror serve: {error}", file=sys.stderr)
        return 2


def configure_logging():
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(config):
    configure_logging()
    app = make_app(config)
    server = Server(app, config.host, config.port, config.threads)
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
