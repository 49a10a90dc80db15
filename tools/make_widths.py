"""Generate the badge width tables from the DejaVu Sans fonts.

    python tools/make_widths.py [FONT_DIR]

FONT_DIR defaults to Debian's fonts-dejavu-core location. The tables are
written to mirror/data/ and committed, so serving badges needs no font.

Each table holds the font's advance widths in font units for every code
point its cmap maps, as runs of consecutive code points
``[first, width, width, ...]``, and its pair kerning (the legacy ``kern``
table, which holds plain glyph pairs) as ``[left, right, units, right,
units, ...]``. One run per line keeps regenerated tables easy to diff.
"""

import json
import sys
from pathlib import Path

from fontTools.ttLib import TTFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
DATA_DIR = Path(__file__).resolve().parent.parent / "mirror" / "data"

# (font file, table file, font size in px that the badge style draws at)
TABLES = [
    ("DejaVuSans.ttf", "widths-dejavu-sans.json", 11),
    ("DejaVuSans-Bold.ttf", "widths-dejavu-sans-bold.json", 10),
]


def advance_widths(font):
    """Map every code point in the font's cmap to its advance width."""
    metrics = font["hmtx"].metrics
    return {cp: metrics[glyph][0] for cp, glyph in font.getBestCmap().items()}


def code_points_by_glyph(font):
    """Map each glyph name to the code points that the cmap sends to it."""
    by_glyph = {}
    for cp, glyph in sorted(font.getBestCmap().items()):
        by_glyph.setdefault(glyph, []).append(cp)
    return by_glyph


def kerning_pairs(font):
    """Return {(left code point, right code point): units}, non-zero only."""
    if "kern" not in font:
        return {}
    by_glyph = code_points_by_glyph(font)
    pairs = {}
    for subtable in font["kern"].kernTables:
        for (left, right), units in subtable.kernTable.items():
            if not units:
                continue
            for lcp in by_glyph.get(left, ()):
                for rcp in by_glyph.get(right, ()):
                    pairs[lcp, rcp] = units
    return pairs


def advance_runs(widths):
    """Group widths into runs of consecutive code points."""
    runs = []
    for cp in sorted(widths):
        if runs and runs[-1][0] + len(runs[-1]) - 1 == cp:
            runs[-1].append(widths[cp])
        else:
            runs.append([cp, widths[cp]])
    return runs


def kerning_runs(pairs):
    """Group kerning pairs by their left code point."""
    runs = {}
    for (left, right), units in sorted(pairs.items()):
        runs.setdefault(left, [left]).extend((right, units))
    return list(runs.values())


def table_text(font, font_file, size):
    """Return the JSON text of one width table, one run per line."""
    head = {
        "font": font["name"].getDebugName(4),
        "file": font_file,
        "version": font["name"].getDebugName(5),
        "units_per_em": font["head"].unitsPerEm,
        "size": size,
    }
    sections = {
        "advances": advance_runs(advance_widths(font)),
        "kerning": kerning_runs(kerning_pairs(font)),
    }
    lines = [json.dumps(head, separators=(",", ":"))[:-1] + ","]
    for i, (name, runs) in enumerate(sections.items()):
        rows = ",\n".join(
            json.dumps(run, separators=(",", ":")) for run in runs
        )
        tail = "]," if i < len(sections) - 1 else "]"
        lines.append(f'"{name}":[\n{rows}\n{tail}')
    return "\n".join(lines) + "}\n"


def main(argv):
    font_dir = Path(argv[1]) if len(argv) > 1 else FONT_DIR
    for font_file, table_file, size in TABLES:
        font = TTFont(font_dir / font_file)
        text = table_text(font, font_file, size)
        json.loads(text)
        (DATA_DIR / table_file).write_text(text, encoding="utf-8")
        print(f"{table_file}: {len(text)} bytes")


if __name__ == "__main__":
    main(sys.argv)
