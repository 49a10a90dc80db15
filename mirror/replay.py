"""A replay of Docker Hub for demos and tests: recorded answers on loopback.

``python -m mirror.replay --scenario FILE [--port N]`` serves the routes
of a scenario file (see ``tests/fixtures/replay.json``): each names a path,
optionally query values, and a recorded file or body. Links to Docker Hub
inside the recorded bodies are rewritten to the replay's own address, so a
mirror pointed at it with ``--upstream`` pages through it as it would
through Docker Hub. Unknown paths answer 404 like Docker Hub's API.
"""

import argparse
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

RECORDED_ORIGIN = "https://hub.docker.com"
NOT_FOUND = {"message": "object not found", "errinfo": {}}


def read_http_file(text):
    """Split a recorded ``.http`` answer into status, headers and body."""
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return status, headers, body


class Route:
    """One recorded answer and the request it answers."""

    def __init__(self, spec, fixtures):
        self.path = spec["path"]
        self.query = spec.get("query", {})
        self.status = spec.get("status", 200)
        self.headers = {"Content-Type": "application/json"}
        self.headers.update(spec.get("headers", {}))
        self.body = spec.get("body", "")
        self.rewrite = spec.get("rewrite", {})
        if "file" in spec:
            self.load(fixtures / spec["file"])

    def load(self, path):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".http":
            self.status, headers, self.body = read_http_file(text)
            self.headers = headers
        else:
            self.body = text
        if path.suffix == ".html":
            self.headers["Content-Type"] = "text/html"

    def matches(self, path, query):
        return path == self.path and all(
            query.get(key) == value for key, value in self.query.items())

    def render(self, origin):
        body = self.body.replace(RECORDED_ORIGIN, origin)
        for old, new in self.rewrite.items():
            body = body.replace(old, new)
        return body.encode()


class Replay:
    """The routes of one scenario and a count of requests per path."""

    def __init__(self, scenario):
        scenario = Path(scenario)
        fixtures = scenario.parent / "dockerhub"
        specs = json.loads(scenario.read_text(encoding="utf-8"))["routes"]
        self.routes = [Route(spec, fixtures) for spec in specs]
        self.hits = {}
        self.lock = threading.Lock()

    def find(self, target):
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        with self.lock:
            self.hits[parts.path] = self.hits.get(parts.path, 0) + 1
        for route in self.routes:
            if route.matches(parts.path, query):
                return route
        return None

    def total_hits(self):
        with self.lock:
            return sum(self.hits.values())


def not_found(target):
    """Docker Hub's 404 body: a tag path names the missing tag."""
    parts = urlsplit(target).path.strip("/").split("/")
    if len(parts) == 7 and parts[5] == "tags":
        return {"message": f"tag '{parts[6]}' not found",
                "errinfo": {"namespace": parts[2], "repository": parts[4],
                            "tag": parts[6]}}
    return NOT_FOUND


def make_handler(replay):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            route = replay.find(self.path)
            origin = f"http://{self.headers.get('Host', 'localhost')}"
            if route is None:
                self.answer(404, {"Content-Type": "application/json"},
                            json.dumps(not_found(self.path)).encode())
            else:
                self.answer(route.status, route.headers,
                            route.render(origin))

        def answer(self, status, headers, body):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            log.debug("replay: " + format, *args)

    return Handler


def start(scenario, host="127.0.0.1", port=0):
    """Serve a scenario in a background thread; returns (server, replay)."""
    replay = Replay(scenario)
    server = ThreadingHTTPServer((host, port), make_handler(replay))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, replay


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", required=True,
                        help="scenario JSON (see tests/fixtures/replay.json)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    server, _ = start(args.scenario, args.host, args.port)
    log.info("replay listening on http://%s:%s", args.host,
             server.server_address[1])
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
