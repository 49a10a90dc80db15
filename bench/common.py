"""What the throughput benchmarks share: servers on loopback and load.

The benchmark scripts import this module (``import common``); run alone
it does nothing. Each server runs as its own process, started and
stopped through an ExitStack, and every load run drives one path on one
server with wrk when installed, else with Python threads.
"""

import argparse
import http.client
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mirror import replay as replay_server

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "tests" / "fixtures" / "replay.json"
BARE_APP = HERE / "bare_app.py"
BARE_PATH = "/build/exampleorg/webapp"
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
    """A mirror whose answers stay fresh for the whole benchmark."""
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
    """The bare Bottle + waitress app of ``bare_app.py``."""
    port = free_port()
    command = [sys.executable, str(BARE_APP), "--port", str(port),
               "--threads", str(threads)]
    server = Process("bare", command, port, BARE_PATH)
    stack.callback(server.stop)
    server.wait_until_ready()
    return server


def start_replay(stack):
    """The replay upstream, in this process; returns (URL, replay)."""
    server, replay = replay_server.start(SCENARIO)
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}", replay


def wrk_run(name, port, path, args):
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}",
               f"-d{args.duration}s", f"http://127.0.0.1:{port}{path}"]
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


def python_run(name, port, path, args):
    """Keep-alive GETs from ``args.connections`` threads for a duration."""
    counts = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + args.duration

    def worker():
        done, failed = 0, 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at:
            try:
                conn.request("GET", path)
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
    """Return (run function, description) for wrk or the Python driver."""
    if args.load == "python" or not shutil.which("wrk"):
        return python_run, (f"python http.client, {args.connections} "
                            f"keep-alive threads, {args.duration}s")
    return wrk_run, (f"wrk -t{args.wrk_threads} -c{args.connections} "
                     f"-d{args.duration}s")


def alternate_runs(args, targets):
    """Drive each (name, server, path) in turn, ``args.rounds`` times.

    Alternating spreads drift on a shared machine over every target
    alike. Returns the runs in order, each named after its target.
    """
    drive, _ = load_generator(args)
    runs = []
    for round_number in range(1, args.rounds + 1):
        for name, server, path in targets:
            run = drive(name, server.port, path, args)
            runs.append(run)
            print(f"  round {round_number} {run.server:6}"
                  f" {run.requests_per_second:9.1f} req/s"
                  f"  ({run.requests} requests, {run.failed} failed)")
    return runs


def median_rates(runs, names):
    """Median requests per second of each named target's runs."""
    return {name: statistics.median(run.requests_per_second
                                     for run in runs if run.server == name)
            for name in names}


def machine_facts():
    cpus = len(os.sched_getaffinity(0))
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    wrk = shutil.which("wrk") or "not installed"
    return (f"machine: nproc {cpus}, {platform.system()} "
            f"{platform.release()} {platform.machine()}, Python "
            f"{platform.python_version()}, wrk {wrk}, load average {load}")


def add_load_arguments(parser):
    """The options every throughput benchmark takes."""
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds per load run (default 5)")
    parser.add_argument("--connections", type=int, default=16,
                        help="concurrent keep-alive connections (16)")
    parser.add_argument("--wrk-threads", type=int, default=2,
                        help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="bare-then-mirror rounds (default 2)")
    parser.add_argument("--threads", type=int, default=8,
                        help="waitress threads of both servers (8)")
    parser.add_argument("--load", choices=("auto", "python"),
                        default="auto",
                        help="'python' skips wrk even when installed")
    return parser


def argument_parser(description):
    return add_load_arguments(argparse.ArgumentParser(
        description=description.split("\n")[0]))
