"""How fast a warm mirror answers, and how it shares one cold lookup.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/mirror_throughput.py [--duration 5]

It starts a replay upstream in this process, the mirror and a bare
Bottle + waitress app as separate processes on loopback, and drives both
with the same load generator (wrk when installed, else a Python one),
alternating runs so drift on a shared machine hits both alike. It prints
the warm ``/build`` requests per second of each and their ratio, then
fires concurrent requests at a cold image on a fresh mirror and prints
how many upstream calls they caused. Every process it starts is stopped
before it exits.
"""

import argparse
import http.client
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mirror import replay as replay_server
from mirror.service import KEPT_FREE

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "tests" / "fixtures" / "replay.json"
BARE_APP = HERE / "bare_app.py"
WARM_PATH = "/build/exampleorg/webapp"
COLD_IMAGE = ("exampleorg", "building")
START_TIMEOUT = 15.0


@dataclass
class Run:
    """One load-generator run against one server."""

    server: str
    requests_per_second: float
    requests: int
    failed: int


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port, path, timeout=10.0):
    """GET over a fresh connection; returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


class Process:
    """A server process on loopback, stopped by :meth:`stop`."""

    def __init__(self, name, command, port, probe):
        self.name = name
        self.command = command
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.probe = probe
        self.proc = subprocess.Popen(command, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_until_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                get(self.port, self.probe, timeout=1.0)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start:\n{self.output()}")

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def start_mirror(stack, upstream, threads):
    port = free_port()
    command = [sys.executable, "-m", "mirror", "serve",
               "--host", "127.0.0.1", "--port", str(port),
               "--upstream", upstream, "--threads", str(threads),
               "--cache-ttl", "3600"]
    server = Process("mirror", command, port, "/v1/health")
    stack.callback(server.stop)
    server.wait_until_ready()
    return server


def start_bare(stack, threads):
    port = free_port()
    command = [sys.executable, str(BARE_APP), "--port", str(port),
               "--threads", str(threads)]
    server = Process("bare", command, port, WARM_PATH)
    stack.callback(server.stop)
    server.wait_until_ready()
    return server


def start_replay(stack):
    server, replay = replay_server.start(SCENARIO)
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}", replay


def slow_down(replay, image, seconds):
    """Delay the replay's answers for one image, so lookups overlap.

    Concurrent requests only share a lookup if they arrive while it runs;
    a recorded answer comes back in about a millisecond.
    """
    find = replay.find

    def slow_find(target):
        route = find(target)
        if concerns(urlsplit(target).path, image):
            time.sleep(seconds)
        return route

    replay.find = slow_find


def concerns(path, image):
    organization, repository = image
    return (f"/{organization}/{repository}/" in path
            or f"/{organization}/repositories/{repository}/" in path)


def upstream_calls(replay, image):
    with replay.lock:
        return sum(count for path, count in replay.hits.items()
                   if concerns(path, image))


def wrk_run(name, port, args):
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}",
               f"-d{args.duration}s", f"http://127.0.0.1:{port}{WARM_PATH}"]
    out = subprocess.run(command, capture_output=True, text=True,
                         timeout=args.duration + 30, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rate or not total:
        raise RuntimeError(f"unreadable wrk output:\n{out}")
    failed = sum(int(n) for n in re.findall(
        r"(?:Non-2xx or 3xx responses|connect|read|write|timeout)"
        r":? (\d+)", out))
    return Run(name, float(rate.group(1)), int(total.group(1)), failed)


def python_run(name, port, args):
    """Keep-alive GETs from ``args.connections`` threads for a duration."""
    counts = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + args.duration

    def worker():
        done, failed = 0, 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at:
            try:
                conn.request("GET", WARM_PATH)
                reply = conn.getresponse()
                reply.read()
                done += 1
                failed += reply.status != 200
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
        conn.close()
        with lock:
            counts.update(done=done, failed=failed)

    started = time.monotonic()
    workers = [threading.Thread(target=worker)
               for _ in range(args.connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - started
    return Run(name, counts["done"] / elapsed, counts["done"],
               counts["failed"])


def load_generator(args):
    if args.load == "python" or not shutil.which("wrk"):
        return python_run, (f"python http.client, {args.connections} "
                            f"keep-alive threads, {args.duration}s")
    return wrk_run, (f"wrk -t{args.wrk_threads} -c{args.connections} "
                     f"-d{args.duration}s")


def warm_throughput(args, upstream):
    """Alternate bare and mirror runs; returns the runs in order."""
    drive, described = load_generator(args)
    print(f"load: {described}, both servers with --threads {args.threads}")
    runs = []
    with ExitStack() as stack:
        mirror = start_mirror(stack, upstream, args.threads)
        bare = start_bare(stack, args.threads)
        status, body = get(mirror.port, WARM_PATH)
        print(f"warm-up {WARM_PATH}: {status} {body.decode()}")
        print(f"mirror: {shlex.join(mirror.command)}")
        print(f"bare:   {shlex.join(bare.command)}")
        for round_number in range(1, args.rounds + 1):
            for server in (bare, mirror):
                run = drive(server.name, server.port, args)
                runs.append(run)
                print(f"  round {round_number} {run.server:6}"
                      f" {run.requests_per_second:9.1f} req/s"
                      f"  ({run.requests} requests, {run.failed} failed)")
    return runs


def report_ratio(runs):
    rates = {name: statistics.median(run.requests_per_second
                                      for run in runs if run.server == name)
             for name in ("bare", "mirror")}
    ratio = rates["mirror"] / rates["bare"]
    print("warm /build requests per second (median of runs):")
    print(f"  bare   {rates['bare']:9.1f}")
    print(f"  mirror {rates['mirror']:9.1f}")
    print(f"  ratio mirror/bare {ratio:.3f} (target >= 0.9)")


def stampede(port, path, count):
    """``count`` concurrent GETs released at once; returns their outcomes."""
    outcomes = Counter()
    lock = threading.Lock()
    gate = threading.Barrier(count)

    def one():
        gate.wait()
        try:
            outcome = get(port, path, timeout=30.0)[0]
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
        with lock:
            outcomes[outcome] += 1

    workers = [threading.Thread(target=one) for _ in range(count)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return outcomes


def cold_lookups(args, upstream, replay):
    """Concurrent requests for one cold image, on a fresh mirror each."""
    path = "/build/{}/{}".format(*COLD_IMAGE)
    print(f"cold {path}: {args.cold_requests} concurrent requests, "
          f"replay answers it after {args.cold_delay}s")
    for threads in args.cold_threads:
        with ExitStack() as stack:
            mirror = start_mirror(stack, upstream, threads)
            before = upstream_calls(replay, COLD_IMAGE)
            started = time.monotonic()
            outcomes = stampede(mirror.port, path, args.cold_requests)
            elapsed = time.monotonic() - started
            calls = upstream_calls(replay, COLD_IMAGE) - before
        answers = ", ".join(f"{key}: {n}" for key, n in sorted(
            outcomes.items(), key=lambda item: str(item[0])))
        waiters = max(1, threads - KEPT_FREE)
        print(f"  --threads {threads:3} (at most {waiters} may wait): "
              f"upstream calls {calls} (target 1); answers {answers}; "
              f"{elapsed:.2f}s")


def machine_facts():
    cpus = len(os.sched_getaffinity(0))
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    wrk = shutil.which("wrk") or "not installed"
    return (f"machine: nproc {cpus}, {platform.system()} "
            f"{platform.release()} {platform.machine()}, Python "
            f"{platform.python_version()}, wrk {wrk}, load average {load}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds per load run (default 5)")
    parser.add_argument("--connections", type=int, default=16,
                        help="concurrent keep-alive connections (16)")
    parser.add_argument("--wrk-threads", type=int, default=2,
                        help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="bare-then-mirror rounds (default 3)")
    parser.add_argument("--threads", type=int, default=8,
                        help="waitress threads of both servers (8)")
    parser.add_argument("--load", choices=("auto", "python"),
                        default="auto",
                        help="'python' skips wrk even when installed")
    parser.add_argument("--cold-requests", type=int, default=100,
                        help="concurrent requests for the cold image")
    parser.add_argument("--cold-delay", type=float, default=1.0,
                        help="seconds the replay takes for the cold image")
    parser.add_argument("--cold-threads", type=int, nargs="+",
                        default=[8, 102],
                        help="mirror --threads for each cold run "
                             "(default 8 102)")
    return parser.parse_args(argv)


def exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    started = time.monotonic()
    print(f"command: {shlex.join([sys.executable] + sys.argv)}")
    print(machine_facts())
    with ExitStack() as stack:
        upstream, replay = start_replay(stack)
        slow_down(replay, COLD_IMAGE, args.cold_delay)
        print(f"replay upstream: {upstream} ({SCENARIO.name})")
        report_ratio(warm_throughput(args, upstream))
        cold_lookups(args, upstream, replay)
    print(f"finished in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
