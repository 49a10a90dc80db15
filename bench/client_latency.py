"""How long the browser client takes to paint its badge, in Chromium.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/client_latency.py [--runs 9]

Everything runs on loopback: two mirrors (``python -m mirror serve``)
against the replay upstream; a plain static file server (``python -m
http.server``) holding the client bundle and, as a registry that
publishes a static file, the signed list at ``/v1/mirrors.json``; and a
listener that accepts connections and never answers. The servers run as
processes of their own, so that they do not compete with Playwright for
this interpreter's lock.

Debian's Chromium (``/usr/bin/chromium``) opens ``status.svg`` in a fresh
browser context per run (cold HTTP cache, empty localStorage); a run's
time is from navigation start to the moment the script sets the final
``data-state``, read from ``performance.now()`` in the badge itself. Two
scenarios:

- healthy: both mirrors answer (target: median under 200 ms);
- first mirror unresponsive: the signed list names the hanging listener
  and a healthy mirror, and the client's shuffle is fixed so that it asks
  the hanging one first (target: median under 1.5 s).

The mirrors answer from their cache after the first run. For scale it
also times a floor: an SVG whose external script marks it done at once,
with no request of its own; the client adds three requests in a row to
that floor (its configuration, the signed list, a mirror). It prints each
run and the medians, and stops every server it starts before it exits.
"""

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import common
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.bundle import write_bundle
from registry.envelope import make_payload, sign_envelope
from registry.keys import public_key_text

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-quic", "--no-first-run",
                 "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
QUERY = "organization=exampleorg&repository=webapp"
TARGETS = {"healthy": 0.200, "first mirror unresponsive": 1.5}
FLOOR_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"'
             ' data-state="pending"><script href="floor.js"/></svg>')
FLOOR_SCRIPT = ('document.documentElement.setAttribute("data-state",'
                ' "success");')

# Records when the badge's data-state leaves "pending", in the badge's
# own clock (milliseconds since its navigation started).
WATCH_STATE = """
new MutationObserver((changes, observer) => {
  const state = document.documentElement.getAttribute("data-state");
  if (state && state !== "pending") {
    window.paintedAt = performance.now();
    window.paintedState = state;
    observer.disconnect();
  }
}).observe(document, {subtree: true, attributes: true,
                      attributeFilter: ["data-state"]});
"""


def start_static(stack, root):
    """``python -m http.server`` on ``root``, as any static host."""
    port = common.free_port()
    command = [sys.executable, "-m", "http.server", str(port),
               "--bind", "127.0.0.1", "--directory", str(root)]
    server = common.Process("static", command, port, "/site/status.svg")
    stack.callback(server.stop)
    server.wait_until_ready()
    return f"http://127.0.0.1:{port}"


def start_hanging(stack):
    """A listener that accepts connections and never answers them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held = []

    def hold():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    stack.callback(lambda: [conn.close() for conn in held])
    stack.callback(listener.close)
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def shuffle_picks(listed, order):
    """Numbers that make the client's Fisher-Yates shuffle of ``listed``
    (sorted, as in a signed list) come out as ``order``."""
    mirrors = sorted(listed)
    picks = []
    for i in range(len(mirrors) - 1, 0, -1):
        j = mirrors.index(order[i])
        picks.append((j + 0.5) / (i + 1))
        mirrors[i], mirrors[j] = mirrors[j], mirrors[i]
    return picks


class Setup:
    """The servers of both scenarios."""

    def __init__(self, stack, root):
        upstream, _ = common.start_replay(stack)
        self.mirrors = [
            f"http://127.0.0.1:{common.start_mirror(stack, upstream, 4).port}"
            for _ in range(2)]
        self.hanging = start_hanging(stack)
        self.key = Ed25519PrivateKey.generate()
        self.root = root
        (root / "v1").mkdir()
        (root / "site").mkdir()
        (root / "site" / "floor.svg").write_text(FLOOR_SVG)
        (root / "site" / "floor.js").write_text(FLOOR_SCRIPT)
        self.static_url = start_static(stack, root)
        write_bundle(root / "site", [public_key_text(self.key)],
                     self.static_url, self.mirrors, allow_private=True)

    def serve_list(self, mirrors):
        """Publish a signed list of ``mirrors`` as the registry's file."""
        payload = make_payload(self.static_url, mirrors, int(time.time()),
                               datetime.now(UTC), allow_private=True)
        data = sign_envelope(payload, self.key)
        (self.root / "v1" / "mirrors.json").write_bytes(data)


def time_run(browser, url, init_script=None):
    """Seconds from navigation to the final badge, and that badge's
    state, in a fresh context."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(WATCH_STATE)
        if init_script:
            page.add_init_script(init_script)
        page.goto(url)
        page.wait_for_function("() => window.paintedAt !== undefined",
                               timeout=10000)
        painted, state = page.evaluate(
            "() => [window.paintedAt, window.paintedState]")
        return painted / 1000, state
    finally:
        context.close()


def scenario(browser, setup, name, runs):
    url = f"{setup.static_url}/site/status.svg?{QUERY}"
    init_script = None
    if name == "floor":
        url = f"{setup.static_url}/site/floor.svg"
    elif name == "healthy":
        setup.serve_list(setup.mirrors)
    else:
        listed = [setup.hanging, setup.mirrors[0]]
        setup.serve_list(listed)
        picks = shuffle_picks(listed, listed)
        init_script = (f"const picks = {json.dumps(picks)}; Math.random ="
                       " () => (picks.length ? picks.shift() : 0.5);")
    times = []
    for _ in range(runs):
        seconds, state = time_run(browser, url, init_script)
        if state != "success":
            raise SystemExit(f"{name}: the badge said {state!r}")
        times.append(seconds)
    return times


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9,
                        help="timed runs per scenario (default 9)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"client latency skipped: {CHROMIUM} is missing; "
              "tools/ensure-browser installs it")
        return
    from playwright.sync_api import sync_playwright

    print(f"{os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        setup = Setup(stack, root)
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        time_run(browser, f"{setup.static_url}/site/status.svg?{QUERY}")

        floor = statistics.median(scenario(browser, setup, "floor",
                                           args.runs))
        print(f"floor (an SVG and its script, no request): median "
              f"{floor * 1000:.0f} ms")
        for name, target in TARGETS.items():
            times = scenario(browser, setup, name, args.runs)
            median = statistics.median(times)
            verdict = "ok" if median < target else "OVER TARGET"
            runs = " ".join(f"{seconds * 1000:.0f}" for seconds in times)
            print(f"{name}: median {median * 1000:.0f} ms "
                  f"(target < {target * 1000:.0f} ms, {verdict}); "
                  f"runs in ms: {runs}")


if __name__ == "__main__":
    main()
