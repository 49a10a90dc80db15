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

import http.client
import shlex
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from urllib.parse import urlsplit

import common

WARM_PATH = "/build/exampleorg/webapp"
COLD_IMAGE = ("exampleorg", "building")


def slow_down(replay, image, seconds):
    """Delay the replay's answers for one image, so lookups overlap."""
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


def warm_throughput(args, upstream):
    """Alternate bare and mirror runs; returns the runs in order."""
    _, described = common.load_generator(args)
    print(f"load: {described}, both servers with --threads {args.threads}")
    with ExitStack() as stack:
        mirror = common.start_mirror(stack, upstream, args.threads)
        bare = common.start_bare(stack, args.threads)
        status, body = common.get(mirror.port, WARM_PATH)
        print(f"warm-up {WARM_PATH}: {status} {body.decode()}")
        print(f"mirror: {shlex.join(mirror.command)}")
        print(f"bare:   {shlex.join(bare.command)}")
        return common.alternate_runs(
            args, [("bare", bare, common.BARE_PATH),
                   ("mirror", mirror, WARM_PATH)])


def report_ratio(runs):
    rates = common.median_rates(runs, ("bare", "mirror"))
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
            outcome = common.get(port, path, timeout=30.0)[0]
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
            mirror = common.start_mirror(stack, upstream, threads)
            before = upstream_calls(replay, COLD_IMAGE)
            started = time.monotonic()
            outcomes = stampede(mirror.port, path, args.cold_requests)
            elapsed = time.monotonic() - started
            calls = upstream_calls(replay, COLD_IMAGE) - before
        answers = ", ".join(f"{key}: {n}" for key, n in sorted(
            outcomes.items(), key=lambda item: str(item[0])))
        print(f"  --threads {threads:3} (waiters allowed {threads - 2}): "
              f"upstream calls {calls} (target 1); answers {answers}; "
              f"{elapsed:.2f}s")


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument("--cold-requests", type=int, default=100,
                        help="concurrent requests for the cold image")
    parser.add_argument("--cold-delay", type=float, default=1.0,
                        help="seconds the replay takes for the cold image")
    parser.add_argument("--cold-threads", type=int, nargs="+",
                        default=[8, 102],
                        help="mirror --threads for each cold run "
                             "(default 8 102)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    print(f"command: {shlex.join([sys.executable] + sys.argv)}")
    print(common.machine_facts())
    with ExitStack() as stack:
        upstream, replay = common.start_replay(stack)
        slow_down(replay, COLD_IMAGE, args.cold_delay)
        print(f"replay upstream: {upstream} ({common.SCENARIO.name})")
        report_ratio(warm_throughput(args, upstream))
        cold_lookups(args, upstream, replay)
    print(f"finished in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
