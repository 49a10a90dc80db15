"""Regenerate the expected badge SVGs in tests/golden/ from cases.json.

    python tools/make_golden.py

Run it after a deliberate change to the badge markup, then look at the
diff (and at the badges in a browser) before committing the new files.
A case gives ``label`` and ``style`` plus either a ``state`` from
``mirror.badge.STATES`` or a ``message`` and ``color``.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = ROOT / "tests" / "golden"
sys.path.insert(0, str(ROOT))

from mirror.badge import STATES, render_badge  # noqa: E402


def golden_cases():
    """Return the list of cases from tests/golden/cases.json."""
    with open(GOLDEN_DIR / "cases.json", encoding="utf-8") as cases:
        return json.load(cases)


def case_svg(case):
    """Render the badge one case describes."""
    if "state" in case:
        message, color = STATES[case["state"]]
    else:
        message, color = case["message"], case["color"]
    return render_badge(case["label"], message, color, case["style"])


def golden_path(case):
    """Return the path of the expected SVG of one case."""
    return GOLDEN_DIR / f"{case['name']}.svg"


def main():
    cases = golden_cases()
    for case in cases:
        golden_path(case).write_text(case_svg(case) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} SVGs to {GOLDEN_DIR}")


if __name__ == "__main__":
    main()
