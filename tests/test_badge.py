import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mirror import badge
from mirror.badge import STATES, STYLES, render_badge, text_width

DATA = Path(__file__).parent / "data" / "badge"
SVG = "{http://www.w3.org/2000/svg}"


def test_states_follow_the_design_table():
    expected = json.loads((DATA / "states.json").read_text())
    assert STATES == {state: tuple(row) for state, row in expected.items()}


@pytest.mark.parametrize(
    ("style", "height"),
    [("flat", "20"), ("flat-square", "20"), ("for-the-badge", "28")],
)
def test_each_style_has_its_height(style, height):
    root = parsed("Docker", "passing", "#4c1", style)
    assert root.get("height") == height
    assert all(rect.get("height") == height for rect in visible_rects(root))


def test_flat_is_rounded_with_a_gradient_and_shadowed_text():
    root = parsed("Docker", "passing", "#4c1", "flat")
    assert root.find(f".//{SVG}clipPath/{SVG}rect").get("rx") == "3"
    assert root.find(f".//{SVG}linearGradient") is not None
    assert len(root.findall(f".//{SVG}text")) == 4


def test_flat_square_has_no_rounding_gradient_or_shadow():
    root = parsed("Docker", "passing", "#4c1", "flat-square")
    assert root.find(f".//{SVG}clipPath") is None
    assert root.find(f".//{SVG}linearGradient") is None
    assert [t.text for t in root.iter(f"{SVG}text")] == ["Docker", "passing"]


def test_for_the_badge_is_bold_uppercase_and_spaced():
    root = parsed("Docker", "passing", "#4c1", "for-the-badge")
    group = root.find(f"{SVG}g[@font-weight='bold']")
    label = group.find(f"{SVG}text")
    assert label.text == "DOCKER"
    spaced = float(label.get("textLength")) / 10
    assert spaced > text_width("DOCKER", bold=True) + 5 * 1.2


def test_title_names_the_original_case_in_every_style():
    for style in STYLES:
        root = parsed("Docker", "passing", "#4c1", style)
        assert root.get("role") == "img"
        assert root.get("aria-label") == "Docker: passing"
        assert root.find(f"{SVG}title").text == "Docker: passing"


def test_unknown_style_draws_flat():
    flat = render_badge("Docker", "passing", "#4c1")
    assert render_badge("Docker", "passing", "#4c1", "plastic") == flat
    assert render_badge("Docker", "passing", "#4c1", "") == flat


def test_parts_are_as_wide_as_their_text_and_padding():
    root = parsed("Docker", "passing", "#4c1", "flat")
    label_rect, message_rect = visible_rects(root)[:2]
    assert int(label_rect.get("width")) == 10 + math.ceil(text_width("Docker"))
    assert int(message_rect.get("x")) == int(label_rect.get("width"))
    assert int(root.get("width")) == sum(
        int(rect.get("width")) for rect in (label_rect, message_rect)
    )


def test_text_is_centred_in_its_part():
    root = parsed("Docker", "passing", "#4c1", "flat-square")
    rects = visible_rects(root)
    for rect, text in zip(rects, root.iter(f"{SVG}text"), strict=True):
        centre = int(rect.get("x", "0")) + int(rect.get("width")) / 2
        assert int(text.get("x")) / 10 == centre


@pytest.mark.parametrize(
    ("color", "drawn"),
    [
        ("#4c1", "#4c1"),
        ("#4C1", "#4c1"),
        ("#e05d44", "#e05d44"),
        ("brightgreen", "#4c1"),
        ("Blue", "#007ec6"),
        ("lightgrey", "#9f9f9f"),
    ],
)
def test_valid_colours_are_drawn(color, drawn):
    assert message_fill(render_badge("Docker", "passing", color)) == drawn


def test_every_other_colour_draws_grey():
    for color in hostile()["colors"] + [None, 42]:
        svg = render_badge("Docker", "passing", color)
        assert message_fill(svg) == "#9f9f9f", color


def test_light_colours_get_dark_text():
    root = parsed("Docker", "passing", "#fff", "flat-square")
    label, message = root.iter(f"{SVG}text")
    assert (label.get("fill"), message.get("fill")) == ("#fff", "#333")


def test_text_over_64_characters_ends_in_an_ellipsis():
    root = parsed("x" * 65, "m" * 100, "#4c1", "flat-square")
    label, message = (t.text for t in root.iter(f"{SVG}text"))
    assert label == "x" * 63 + "\u2026"
    assert message == "m" * 63 + "\u2026"
    assert root.find(f"{SVG}title").text == f"{label}: {message}"


def test_text_of_64_characters_is_kept():
    root = parsed("x" * 64, "passing", "#4c1", "flat-square")
    assert next(root.iter(f"{SVG}text")).text == "x" * 64


def test_a_cut_label_is_never_narrower_than_the_uncut_one():
    per_ten_thousand = "\u2031"  # wider than the ellipsis that replaces it
    wide = "x" * 63 + per_ten_thousand
    assert text_width(per_ten_thousand) > text_width("\u2026")
    assert badge_width(wide + "y") >= badge_width(wide)


def test_markup_in_text_is_shown_as_text():
    label = "<script>alert(1)</script> & ]]>"
    svg = render_badge(label, "<b>", "#4c1")
    assert "<script" not in svg
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == f"{label}: <b>"


def test_characters_xml_cannot_carry_are_replaced():
    root = parsed("a\x00b\x1b\ud800\ufffe\x85", "c\td\ne\rf", "#4c1", "flat")
    assert root.find(f"{SVG}title").text == "a\ufffdb" + "\ufffd" * 4 + (
        ": c d e f"
    )


def test_an_empty_label_draws_the_message_alone():
    root = parsed("", "passing", "#4c1", "flat-square")
    assert [t.text for t in root.iter(f"{SVG}text")] == ["passing"]
    assert root.get("aria-label") == "passing"
    assert int(root.get("width")) == 10 + math.ceil(text_width("passing"))


def test_ids_are_deterministic_and_every_reference_is_local():
    svg = render_badge("Docker", "passing", "#4c1")
    assert svg == render_badge("Docker", "passing", "#4c1")
    ids = {element.get("id") for element in ET.fromstring(svg).iter()}
    for reference in re.findall(r"url\(([^)]*)\)", svg):
        assert reference[0] == "#" and reference[1:] in ids


def test_missing_wide_characters_are_one_em_wide():
    assert text_width("\u5bbd") == pytest.approx(11)
    assert text_width("\U0001f433", bold=True) == pytest.approx(10)


def test_other_missing_characters_are_as_wide_as_m():
    assert text_width("\u0915") == text_width("M")
    assert text_width("\x01") == text_width("M")


def test_zero_width_characters_still_add_a_little():
    assert 0 < text_width("\u0301") < 0.1
    assert text_width("a\u200b") > text_width("a")


def test_width_tables_load_once():
    assert badge.width_table(False) is badge.width_table(False)
    assert badge.width_table(True) is not badge.width_table(False)


# helpers


def hostile():
    return json.loads((DATA / "hostile.json").read_text(encoding="utf-8"))


def parsed(label, message, color, style):
    return ET.fromstring(render_badge(label, message, color, style))


def visible_rects(root):
    return [
        rect
        for rect in root.iter(f"{SVG}rect")
        if rect.get("fill") not in ("#fff", "url(#badge-smooth)")
    ]


def message_fill(svg):
    return visible_rects(ET.fromstring(svg))[1].get("fill")


def badge_width(label):
    return int(parsed(label, "passing", "#4c1", "flat").get("width"))
