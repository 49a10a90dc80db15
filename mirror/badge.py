"""Build-status badges rendered as complete SVG, with no script.

Text is measured with width tables generated from DejaVu Sans by
``tools/make_widths.py``, so rendering needs no font. Every string a
caller passes is cleaned of characters XML cannot carry, cut to
``MAX_TEXT`` characters and escaped before it reaches the markup.

>>> message, color = STATES["success"]
>>> svg = render_badge("Docker", message, color)
>>> svg.startswith("<svg")
True
"""

import html
import json
import math
import operator
import re
import unicodedata
from functools import cache, lru_cache
from itertools import repeat
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

STATES = {
    "success": ("passing", "#4c1"),
    "failed": ("failing", "#e05d44"),
    "building": ("building", "#007ec6"),
    "queued": ("building", "#007ec6"),
    "cancelled": ("cancelled", "#9f9f9f"),
    "published": ("published", "#97ca00"),
    "not found": ("not found", "#9f9f9f"),
    "unavailable": ("unavailable", "#9f9f9f"),
    "invalid name": ("invalid name", "#9f9f9f"),
    "unknown": ("unknown", "#9f9f9f"),
}

STYLES = ("flat", "flat-square", "for-the-badge")
LABEL_COLOR = "#555"
FALLBACK_COLOR = "#9f9f9f"
NAMED_COLORS = {
    "brightgreen": "#4c1",
    "green": "#97ca00",
    "yellowgreen": "#a4a61d",
    "yellow": "#dfb317",
    "orange": "#fe7d37",
    "red": "#e05d44",
    "blue": "#007ec6",
    "grey": "#555",
    "gray": "#555",
    "lightgrey": "#9f9f9f",
    "lightgray": "#9f9f9f",
}

MAX_TEXT = 64
ELLIPSIS = "\u2026"

# A floor for every character's share of a width, so that zero-width and
# combining characters still make a text wider, never narrower.
MIN_UNITS = 1

_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")
_XML_WHITESPACE = re.compile(r"[\t\n\r]")
# XML 1.0 forbids most C0 controls, surrogates, U+FFFE and U+FFFF; DEL and
# the C1 controls are allowed but draw nothing useful.
_NOT_DRAWABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]"
)


class WidthTable:
    """Advance widths and pair kerning of one font, in font units.

    Every character adds at least MIN_UNITS, kerning included, so that
    appending a character never makes a text narrower.
    """

    def __init__(self, data):
        self.advances = {
            chr(run[0] + i): max(units, MIN_UNITS)
            for run in data["advances"]
            for i, units in enumerate(run[1:])
        }
        self.kerning = {
            chr(run[0]) + chr(right): self.floored_kerning(right, units)
            for run in data["kerning"]
            for right, units in zip(run[1::2], run[2::2], strict=True)
        }
        self.px_per_unit = data["size"] / data["units_per_em"]
        self.em = data["units_per_em"]
        self.unknown = self.advances["M"]

    def floored_kerning(self, right, units):
        """Kerning that leaves the right character MIN_UNITS at least."""
        return max(units, MIN_UNITS - self.advances[chr(right)])

    def units(self, text, spacing=0):
        """Width of text in font units, ``spacing`` units between chars."""
        try:
            total = sum(map(self.advances.__getitem__, text))
        except KeyError:
            total = sum(map(self.char_units, text))
        pairs = map(operator.add, text, text[1:])
        total += sum(map(self.kerning.get, pairs, repeat(0)))
        return total + spacing * max(len(text) - 1, 0)

    def char_units(self, char):
        """Width of one character, from the table or a fallback."""
        return self.advances.get(char) or self.fallback_units(char)

    def fallback_units(self, char):
        """Width for a character the font does not have."""
        if unicodedata.category(char) in ("Mn", "Me", "Cf"):
            return MIN_UNITS
        if unicodedata.east_asian_width(char) in ("W", "F"):
            return self.em
        return self.unknown


@cache
def width_table(bold=False):
    """Load the DejaVu Sans (or Sans Bold) width table, once."""
    name = (
        "widths-dejavu-sans-bold.json" if bold else "widths-dejavu-sans.json"
    )
    with open(DATA_DIR / name, encoding="utf-8") as table_file:
        return WidthTable(json.load(table_file))


def text_width(text, bold=False):
    """Width in px of text drawn in DejaVu Sans 11 px (Bold 10 px if bold).

    >>> text_width("passing") > text_width("pass")
    True
    """
    table = width_table(bold)
    return table.units(text) * table.px_per_unit


def valid_color(color):
    """Return color as ``#rgb``/``#rrggbb``, or grey if it is not one."""
    if not isinstance(color, str):
        return FALLBACK_COLOR
    named = NAMED_COLORS.get(color.lower())
    if named:
        return named
    if _HEX_COLOR.fullmatch(color):
        return color.lower()
    return FALLBACK_COLOR


@lru_cache(maxsize=256)
def text_colors(background):
    """Return (text, shadow) colours readable on a ``#rgb``/``#rrggbb``."""
    digits = background[1:]
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    brightness = (299 * red + 587 * green + 114 * blue) / 255000
    return ("#333", "#ccc") if brightness > 0.69 else ("#fff", "#010101")


def drawable_text(text):
    """Return text with what XML or a badge cannot carry replaced."""
    text = _XML_WHITESPACE.sub(" ", text)
    return _NOT_DRAWABLE.sub("\ufffd", text)


def shortened_text(text):
    """Return text cut to MAX_TEXT characters, ending in an ellipsis."""
    if len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - 1] + ELLIPSIS


class _Style:
    """Geometry and markup of one badge style."""

    def __init__(self, padding, bold, upper, spacing, svg, text):
        self.padding = padding
        self.bold = bold
        self.upper = upper
        self.spacing = spacing
        self.svg = svg
        self.text = text

    def measure(self, text):
        """Return (shown text, its width, width of its part) in px.

        A cut text's part is never narrower than its first MAX_TEXT
        characters would need, so that a longer text never makes a
        narrower badge.
        """
        table = width_table(self.bold)
        shown = shortened_text(text)
        if self.upper:
            shown = shown.upper()
        units = table.units(shown, self.spacing)
        part_units = units
        if len(text) > MAX_TEXT:
            full = text[:MAX_TEXT].upper() if self.upper else text[:MAX_TEXT]
            part_units = max(units, table.units(full, self.spacing))
        width = units * table.px_per_unit
        part = math.ceil(part_units * table.px_per_unit) + 2 * self.padding
        return shown, width, part

    def part(self, text, left, color):
        """Return (markup of one part's text, part width)."""
        if not text:
            return "", 0
        shown, width, part = self.measure(text)
        fill, shadow = text_colors(color)
        markup = self.text.format(
            x=left * 10 + part * 5,
            length=round(width * 10),
            fill=fill,
            shadow=shadow,
            text=html.escape(shown, quote=True),
        )
        return markup, part


_FONT = (
    'font-family="DejaVu Sans,Verdana,Geneva,sans-serif" '
    'text-rendering="geometricPrecision"'
)

_FLAT = _Style(
    padding=5,
    bold=False,
    upper=False,
    spacing=0,
    svg=(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        'height="20" role="img" aria-label="{title}">'
        "<title>{title}</title>"
        '<linearGradient id="badge-smooth" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        '<clipPath id="badge-round-{width}">'
        '<rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#badge-round-{width})">'
        '<rect width="{left}" height="20" fill="{label_color}"/>'
        '<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        '<rect width="{width}" height="20" fill="url(#badge-smooth)"/></g>'
        '<g text-anchor="middle" ' + _FONT + ' font-size="110">'
        "{texts}</g></svg>"
    ),
    text=(
        '<text aria-hidden="true" x="{x}" y="150" fill="{shadow}" '
        'fill-opacity=".3" transform="scale(.1)" textLength="{length}">'
        "{text}</text>"
        '<text x="{x}" y="140" transform="scale(.1)" fill="{fill}" '
        'textLength="{length}">{text}</text>'
    ),
)

_FLAT_SQUARE = _Style(
    padding=5,
    bold=False,
    upper=False,
    spacing=0,
    svg=(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        'height="20" role="img" aria-label="{title}">'
        "<title>{title}</title>"
        '<g shape-rendering="crispEdges">'
        '<rect width="{left}" height="20" fill="{label_color}"/>'
        '<rect x="{left}" width="{right}" height="20" fill="{color}"/></g>'
        '<g text-anchor="middle" ' + _FONT + ' font-size="110">'
        "{texts}</g></svg>"
    ),
    text=(
        '<text x="{x}" y="140" transform="scale(.1)" fill="{fill}" '
        'textLength="{length}">{text}</text>'
    ),
)

# Letter spacing of 1.25 px at 10 px is 256 units of a 2048-unit em.
_FOR_THE_BADGE = _Style(
    padding=12,
    bold=True,
    upper=True,
    spacing=256,
    svg=(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        'height="28" role="img" aria-label="{title}">'
        "<title>{title}</title>"
        '<g shape-rendering="crispEdges">'
        '<rect width="{left}" height="28" fill="{label_color}"/>'
        '<rect x="{left}" width="{right}" height="28" fill="{color}"/></g>'
        '<g text-anchor="middle" ' + _FONT + ' font-size="100" '
        'font-weight="bold">{texts}</g></svg>'
    ),
    text=(
        '<text x="{x}" y="175" transform="scale(.1)" fill="{fill}" '
        'textLength="{length}">{text}</text>'
    ),
)

_STYLES = {
    "flat": _FLAT,
    "flat-square": _FLAT_SQUARE,
    "for-the-badge": _FOR_THE_BADGE,
}


def render_badge(label, message, color, style="flat"):
    """Return the SVG of a badge reading ``label | message``.

    ``color`` is the message's background: ``#rgb``, ``#rrggbb`` or a
    name from NAMED_COLORS; anything else draws grey. An empty label
    draws the message alone. An unknown style draws ``flat``.

    >>> "passing" in render_badge("Docker", "passing", "#4c1")
    True
    """
    drawn = _STYLES.get(style, _FLAT)
    label = drawable_text(label)
    message = drawable_text(message) or " "
    color = valid_color(color)

    left_texts, left = drawn.part(label, 0, LABEL_COLOR)
    right_texts, right = drawn.part(message, left, color)
    title = shortened_text(message)
    if label:
        title = f"{shortened_text(label)}: {title}"
    return drawn.svg.format(
        width=left + right,
        left=left,
        right=right,
        label_color=LABEL_COLOR,
        color=color,
        title=html.escape(title, quote=True),
        texts=left_texts + right_texts,
    )
