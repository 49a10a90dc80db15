"""The committed width tables against the DejaVu fonts they come from."""

import importlib.util
import json
from itertools import pairwise
from pathlib import Path

import pytest

from mirror.badge import DATA_DIR, text_width, width_table

ROOT = Path(__file__).resolve().parent.parent
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SAMPLES = json.loads(
    (ROOT / "tests" / "data" / "badge" / "width-samples.json").read_text(
        encoding="utf-8"
    )
)
FONTS = {False: ("DejaVuSans.ttf", 11), True: ("DejaVuSans-Bold.ttf", 10)}
REQUIRED_BLOCKS = {
    "Basic Latin": (0x20, 0x7E),
    "Latin-1 Supplement": (0xA0, 0xFF),
    "Latin Extended-A": (0x100, 0x17F),
    "Latin Extended-B": (0x180, 0x24F),
    "Greek capitals": (0x391, 0x3A1),
    "Greek small letters": (0x3B1, 0x3C9),
    "Cyrillic": (0x400, 0x45F),
    "General Punctuation": (0x2010, 0x2027),
}


@pytest.fixture(scope="module", params=[False, True], ids=["sans", "bold"])
def font(request):
    ttlib = pytest.importorskip("fontTools.ttLib")
    file_name, size = FONTS[request.param]
    if not (FONT_DIR / file_name).exists():
        pytest.skip(f"{file_name} missing; install fonts-dejavu-core")
    return request.param, ttlib.TTFont(FONT_DIR / file_name), size


@pytest.mark.parametrize("sample", SAMPLES)
def test_table_agrees_with_measuring_the_font(font, sample):
    bold, ttfont, size = font
    expected = measured_units(ttfont, sample) * size / 2048
    assert text_width(sample, bold) == pytest.approx(expected, abs=0.01)


def test_table_holds_every_character_the_font_maps(font):
    bold, ttfont, _ = font
    assert set(width_table(bold).advances) == set(
        map(chr, ttfont.getBestCmap())
    )


def test_committed_table_is_what_make_widths_writes(font):
    bold, ttfont, size = font
    make_widths = load_tool("make_widths")
    file_name = FONTS[bold][0]
    [(table_name, table_size)] = [
        (table, size)
        for font, table, size in make_widths.TABLES
        if font == file_name
    ]
    committed = (DATA_DIR / table_name).read_text(encoding="utf-8")
    assert table_size == size
    assert make_widths.table_text(ttfont, file_name, size) == committed


@pytest.mark.parametrize("bold", [False, True], ids=["sans", "bold"])
@pytest.mark.parametrize("block", REQUIRED_BLOCKS)
def test_table_covers_the_scripts_badges_use(bold, block):
    first, last = REQUIRED_BLOCKS[block]
    advances = width_table(bold).advances
    missing = [
        hex(code)
        for code in range(first, last + 1)
        if chr(code) not in advances
    ]
    assert missing == []


def test_kerning_never_makes_a_pair_narrower_than_its_first_character():
    for bold in (False, True):
        table = width_table(bold)
        for pair, units in table.kerning.items():
            assert table.advances[pair[1]] + units > 0, pair


# helpers


def measured_units(ttfont, text):
    """Width of text in font units, read from the font's own tables."""
    cmap = ttfont.getBestCmap()
    glyphs = [cmap[ord(char)] for char in text]
    glyph_set = ttfont.getGlyphSet()
    kerning = ttfont["kern"].kernTables[0].kernTable
    advances = sum(glyph_set[glyph].width for glyph in glyphs)
    pairs = sum(kerning.get(pair, 0) for pair in pairwise(glyphs))
    return advances + pairs


def load_tool(name):
    path = ROOT / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
