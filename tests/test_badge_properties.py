"""Properties of badges that must hold whatever text a user sends."""

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mirror.badge import STYLES, render_badge, text_width

DATA = Path(__file__).parent / "data" / "badge"
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = json.loads((DATA / "hostile.json").read_text(encoding="utf-8"))

# Any code point at all, surrogates and controls included: the renderer
# must replace what XML cannot carry rather than trust its caller.
any_char = st.characters(codec=None, categories=None)
any_text = st.text(any_char, max_size=80)
styles = st.sampled_from(STYLES)
# The first example also loads the width tables; time is not under test.
untimed = settings(deadline=None)


@untimed
@given(label=any_text, style=styles)
@example(label="<script>alert(1)</script>", style="flat")
@example(label="]]>&amp;\"'", style="for-the-badge")
@example(label="\x00\ud800\ufffe\r\n", style="flat-square")
def test_badge_is_well_formed_xml_showing_the_label(label, style):
    svg = render_badge(label, "passing", "#4c1", style)
    root = ET.fromstring(svg.encode("utf-8"))
    shown = expected_text(label)

    title = f"{shown}: passing" if shown else "passing"
    assert root.find(f"{SVG}title").text == title
    assert root.get("aria-label") == title
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert texts == drawn_texts(shown, "passing", style)


@untimed
@given(text=any_text, bold=st.booleans())
def test_text_width_is_finite_and_positive(text, bold):
    width = text_width(text, bold)
    assert math.isfinite(width)
    assert width > 0 if text else width == 0


@untimed
@given(text=any_text, char=any_char, bold=st.booleans())
def test_appending_a_character_never_narrows_the_text(text, char, bold):
    assert text_width(text + char, bold) >= text_width(text, bold)


@untimed
@given(label=any_text, char=any_char, style=styles)
@example(label="x" * 63 + "\u2031", char="y", style="flat")
@example(label="x" * 64, char="\u0301", style="for-the-badge")
def test_appending_a_character_never_narrows_the_badge(label, char, style):
    shorter = badge_width(label, style)
    assert badge_width(label + char, style) >= shorter > 0


@untimed
@given(
    label=st.one_of(any_text, st.sampled_from(HOSTILE["labels"])),
    message=st.one_of(any_text, st.sampled_from(HOSTILE["labels"])),
    color=st.one_of(any_text, st.sampled_from(HOSTILE["colors"])),
    style=st.one_of(any_text, st.sampled_from(HOSTILE["styles"])),
)
def test_no_input_brings_script_or_external_reference(
    label, message, color, style
):
    svg = render_badge(label, message, color, style)
    assert "<script" not in svg.lower()
    assert "<!" not in svg and "<?" not in svg
    root = ET.fromstring(svg.encode("utf-8"))
    ids = {element.get("id") for element in root.iter()} - {None}
    for element in root.iter():
        assert element.tag.startswith(SVG)
        assert element.tag != f"{SVG}script"
        for name, value in element.items():
            assert "href" not in name.lower()
            assert not name.lower().startswith("on")
            if name == "aria-label":
                continue  # text for people, never fetched
            for reference in re.findall(r"url\(([^)]*)\)", value):
                assert reference[:1] == "#" and reference[1:] in ids


# helpers


def expected_text(text):
    """What a badge should show: XML-safe characters, at most 64."""
    shown = "".join(map(expected_char, text))
    return shown if len(shown) <= 64 else shown[:63] + "\u2026"


def expected_char(char):
    if char in "\t\n\r":
        return " "
    code = ord(char)
    xml_char = (
        0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000
    )
    return char if xml_char and not 0x7F <= code <= 0x9F else "\ufffd"


def drawn_texts(label, message, style):
    """The text elements a badge should hold, shadows included."""
    if style == "for-the-badge":
        label, message = label.upper(), message.upper()
    copies = 2 if style == "flat" else 1
    return [label] * copies * bool(label) + [message] * copies


def badge_width(label, style):
    svg = render_badge(label, "passing", "#4c1", style)
    return int(ET.fromstring(svg.encode("utf-8")).get("width"))
