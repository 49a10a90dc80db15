"""How fast a mirror serves a warm badge, against a bare Bottle app.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/badge_throughput.py [--duration 5]

It starts a replay upstream in this process, then the mirror and the
bare Bottle + waitress app of ``bare_app.py`` as separate processes on
loopback, and drives the mirror's warm ``/status.svg``, the bare app's
constant answer and, for reference, the mirror's warm ``/build`` with
the same load generator (wrk when installed, else a Python one),
alternating runs so drift on a shared machine hits all alike. It prints
the requests per second of each and their ratios to the bare app. Every
process it starts is stopped before it exits.
"""

import shlex
import sys
import time
from contextlib import ExitStack

import common

BADGE_PATH = "/status.svg?organization=exampleorg&repository=webapp"
BUILD_PATH = "/build/exampleorg/webapp"
TARGET = 0.85


def warm_badges(args, upstream):
    """Alternate bare, badge and build runs; returns the runs in order."""
    _, described = common.load_generator(args)
    print(f"load: {described}, both servers with --threads {args.threads}")
    with ExitStack() as stack:
        mirror = common.start_mirror(stack, upstream, args.threads)
        bare = common.start_bare(stack, args.threads)
        status, body = common.get(mirror.port, BADGE_PATH)
        if status != 200 or b"passing" not in body:
            raise RuntimeError(f"warm-up {BADGE_PATH} failed: {status}")
        common.get(mirror.port, BUILD_PATH)
        print(f"warm-up {BADGE_PATH}: {status}, {len(body)} bytes of SVG")
        print(f"mirror: {shlex.join(mirror.command)}")
        print(f"bare:   {shlex.join(bare.command)}")
        return common.alternate_runs(args, [
            ("bare", bare, common.BARE_PATH),
            ("badge", mirror, BADGE_PATH),
            ("build", mirror, BUILD_PATH),
        ])


def report_ratio(runs):
    rates = common.median_rates(runs, ("bare", "badge", "build"))
    print("warm requests per second (median of runs):")
    print(f"  bare   {rates['bare']:9.1f}  bare app {common.BARE_PATH}")
    print(f"  badge  {rates['badge']:9.1f}  mirror {BADGE_PATH}")
    print(f"  build  {rates['build']:9.1f}  mirror {BUILD_PATH}")
    print(f"  ratio badge/bare {rates['badge'] / rates['bare']:.3f} "
          f"(target >= {TARGET})")
    print(f"  ratio build/bare {rates['build'] / rates['bare']:.3f} "
          "(for reference)")


def main(argv=None):
    args = common.argument_parser(__doc__).parse_args(argv)
    started = time.monotonic()
    print(f"command: {shlex.join([sys.executable] + sys.argv)}")
    print(common.machine_facts())
    with ExitStack() as stack:
        upstream, _ = common.start_replay(stack)
        print(f"replay upstream: {upstream} ({common.SCENARIO.name})")
        report_ratio(warm_badges(args, upstream))
    print(f"finished in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
