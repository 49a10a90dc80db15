"""Rendered badges against the expected SVGs in tests/golden/.

After a deliberate change to the markup, regenerate them with
``python tools/make_golden.py`` and review the diff.
"""

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_make_golden():
    path = ROOT / "tools" / "make_golden.py"
    spec = importlib.util.spec_from_file_location("make_golden", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_golden = load_make_golden()
CASES = make_golden.golden_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_badge_matches_its_golden_svg(case):
    expected = make_golden.golden_path(case).read_text(encoding="utf-8")
    assert canonical(make_golden.case_svg(case)) == canonical(expected)


def test_every_golden_svg_has_a_case():
    names = {case["name"] for case in CASES}
    files = {path.stem for path in make_golden.GOLDEN_DIR.glob("*.svg")}
    assert files == names


def test_cases_cover_every_state_and_style():
    from mirror.badge import STATES, STYLES

    pairs = {(c.get("state"), c["style"]) for c in CASES}
    assert {(s, y) for s in STATES for y in STYLES} <= pairs


def canonical(svg):
    """Return the canonical XML form, so only meaningful changes count."""
    return ET.canonicalize(svg.strip())
