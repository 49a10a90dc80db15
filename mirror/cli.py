"""The ``dockerhub-mirror`` command: ``dockerhub-mirror serve [options]``."""

import logging
import sys

import waitress

from mirror import config as settings
from mirror.app import make_app

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
    return serve(config)


def configure_logging():
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(config):
    configure_logging()
    app = make_app(config)
    server = waitress.create_server(app, host=config.host, port=config.port,
                                    threads=config.threads, ident="mirror")
    log.info("mirror listening on http://%s:%s, upstream %s",
             config.host, server.effective_port, config.upstream)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.config["mirror"].close()
    return 0
