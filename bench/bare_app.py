"""A bare Bottle app on waitress: the yardstick for the mirror's speed.

``python bench/bare_app.py --port N --threads N`` answers
``GET /build/<organization>/<repository>`` with one constant JSON body,
the size of a warm mirror answer, and does nothing else.
"""

import argparse

import bottle
import waitress

BODY = {"request": "ok", "status": 10, "state": "success", "tag": "latest",
        "source": "buildhistory", "updated": "2020-03-02T10:24:51Z"}


def make_app():
    app = bottle.Bottle()

    @app.get("/build/<organization>/<repository>")
    def build(organization, repository):
        return BODY

    return app


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    waitress.serve(make_app(), host=args.host, port=args.port,
                   threads=args.threads, ident="bare", _quiet=True)


if __name__ == "__main__":
    main()
