"""Microseconds per badge: our renderer against pybadges and anybadge.

    python bench/render.py

Each renderer draws the same label, message and colour; the best of a few
timed rounds counts, so a busy machine skews the figures less. Our width
tables are loaded before timing starts, as pybadges loads its own once.
"""

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mirror.badge import STATES, render_badge, text_width  # noqa: E402

LABEL = "Docker"
MESSAGE, COLOR = STATES["success"]
ROUNDS = 5


def ours():
    return render_badge(LABEL, MESSAGE, COLOR)


def ours_for_the_badge():
    return render_badge(LABEL, MESSAGE, COLOR, "for-the-badge")


def pybadges_badge():
    import pybadges

    return lambda: pybadges.badge(
        left_text=LABEL, right_text=MESSAGE, right_color=COLOR
    )


def anybadge_badge():
    import anybadge

    return lambda: (
        anybadge.Badge(LABEL, MESSAGE, default_color=COLOR).badge_svg_text
    )


def microseconds_per_call(render):
    """Best time of ROUNDS rounds, each long enough to time well."""
    timer = timeit.Timer(render)
    calls, _ = timer.autorange()
    best = min(timer.repeat(repeat=ROUNDS, number=calls))
    return best / calls * 1e6


def renderers():
    """Return [(name, callable)], leaving out libraries not installed."""
    found = [
        ("ours (flat)", ours),
        ("ours (for-the-badge)", ours_for_the_badge),
    ]
    for name, factory in (
        ("pybadges", pybadges_badge),
        ("anybadge", anybadge_badge),
    ):
        try:
            found.append((name, factory()))
        except ImportError:
            print(f"{name}: not installed, skipped")
    return found


def main():
    text_width(LABEL)
    text_width(LABEL, bold=True)
    timings = {}
    for name, render in renderers():
        render()
        timings[name] = microseconds_per_call(render)
        print(f"{name:22} {timings[name]:9.1f} us/badge")
    if "pybadges" in timings:
        ratio = timings["pybadges"] / timings["ours (flat)"]
        print(f"pybadges / ours (flat): {ratio:.1f}x (target: 5x or more)")


if __name__ == "__main__":
    main()
