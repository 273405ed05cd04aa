"""The report's fonts as CertLab embeds them in the PDF WeasyPrint writes (its `finisher` hook,
campaigns.report), cut from the files fontconfig gives WeasyPrint for the same names, so the
pages CertLab sets itself (campaigns.pdf_pages, campaigns.pdf_history) look like WeasyPrint's.

Two kinds. `Font` is a simple TrueType font in WinAnsi (one byte a character, 224 characters):
the frame listings (JSON, escaped to ASCII) and the page furniture. `UnicodeFont` is a Type 0
font addressed by glyph id (two bytes a character) with a ToUnicode map, cut to the characters a
document uses: the history's names, results and reasons are what people typed ("Łukasz", "≤ 2 s",
"→"), which WinAnsi would print as "?"."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from functools import cache, lru_cache

import pydyf

WINANSI = "cp1252"


@dataclass(frozen=True)
class Font:
    name: str  # the resource name pages use, e.g. /CLSans
    widths: tuple[float, ...]  # per WinAnsi code 32..255, in 1/1000 em
    dictionary: pydyf.Dictionary

    def width(self, text: bytes, size: float) -> float:
        return sum(self.widths[c - 32] if c >= 32 else 0 for c in text) * size / 1000


def font_file(family: str) -> str:
    """The file fontconfig gives for a family: the one WeasyPrint uses for the same name."""
    found = subprocess.run(
        ["fc-match", "--format=%{file}", family], capture_output=True, text=True, check=True
    ).stdout
    return found.strip()


@cache
def _subset(path: str) -> tuple[bytes, dict]:
    """The font cut down to the WinAnsi characters, and the metrics a PDF font needs."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    characters = {ord(bytes([c]).decode(WINANSI, errors="ignore") or " ") for c in range(32, 256)}
    font = TTFont(path)
    subsetter = subset.Subsetter(_subset_options())
    subsetter.populate(unicodes=characters)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    scale = 1000 / font["head"].unitsPerEm
    cmap = font.getBestCmap()
    widths = []
    for code in range(32, 256):
        char = bytes([code]).decode(WINANSI, errors="ignore")
        glyph = cmap.get(ord(char)) if char else None
        widths.append(round(font["hmtx"][glyph][0] * scale, 1) if glyph else 0)
    return out.getvalue(), {"widths": widths, **_metrics(font, scale)}


def _subset_options():
    import logging

    from fontTools import subset

    logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    return options


def _metrics(font, scale: float) -> dict:
    head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
    return {
        "bbox": [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)],
        "ascent": round(hhea.ascent * scale),
        "descent": round(hhea.descent * scale),
        "cap_height": round(getattr(os2, "sCapHeight", 0) * scale) or 700,
        "fixed": font["post"].isFixedPitch != 0,
        "ps_name": font["name"].getDebugName(6) or "CertLabFont",
    }


def _descriptor(pdf: pydyf.PDF, data: bytes, metrics: dict, base: str) -> pydyf.Dictionary:
    """The font file and its descriptor, added to `pdf`."""
    stream = pydyf.Stream([data], pydyf.Dictionary({"Length1": len(data)}), compress=True)
    pdf.add_object(stream)
    descriptor = pydyf.Dictionary({
        "Type": "/FontDescriptor", "FontName": base,
        "Flags": 32 | (1 if metrics["fixed"] else 0),  # nonsymbolic (Latin text), fixed pitch
        "FontBBox": pydyf.Array(metrics["bbox"]), "ItalicAngle": 0,
        "Ascent": metrics["ascent"], "Descent": metrics["descent"],
        "CapHeight": metrics["cap_height"], "StemV": 80, "FontFile2": stream.reference,
    })  # fmt: skip
    pdf.add_object(descriptor)
    return descriptor


def embed_font(pdf: pydyf.PDF, family: str, resource: str, tag: str) -> Font:
    data, metrics = _subset(font_file(family))
    base = f"/{tag}+{metrics['ps_name']}"
    descriptor = _descriptor(pdf, data, metrics, base)
    dictionary = pydyf.Dictionary({
        "Type": "/Font", "Subtype": "/TrueType", "BaseFont": base, "FirstChar": 32,
        "LastChar": 255, "Widths": pydyf.Array(metrics["widths"]),
        "Encoding": "/WinAnsiEncoding", "FontDescriptor": descriptor.reference,
    })  # fmt: skip
    pdf.add_object(dictionary)
    return Font(resource, tuple(metrics["widths"]), dictionary)


def encode(text: str) -> bytes:
    return text.encode(WINANSI, errors="replace")


# --- Unicode: a Type 0 font by glyph id ----------------------------------------------------------


@dataclass(frozen=True)
class UnicodeFont:
    """A face's characters as glyph ids and widths (1/1000 em), read once per process; `embed`
    puts a cut of it in a PDF. The glyph ids are the file's own (the cut keeps them), so text is
    encoded alike whatever a document uses. A character the face lacks shows as "?"."""

    name: str  # the resource name pages use, e.g. /CLText
    path: str
    glyphs: dict  # code point -> glyph id as 4 hex digits: str.translate's table (_GlyphIds)
    widths: dict[str, float]  # character -> advance, 1/1000 em

    def hex(self, text: str) -> bytes:
        """The text as a PDF hex string of glyph ids."""
        return b"<" + text.translate(self.glyphs).encode() + b">"

    def width(self, text: str, size: float) -> float:
        get, missing = self.widths.get, self.widths["?"]
        return sum(get(c, missing) for c in text) * size / 1000

    def embed(self, pdf: pydyf.PDF, characters: set[str], tag: str) -> pydyf.Dictionary:
        """The font cut to WinAnsi's characters and `characters`, added to `pdf`: the font
        dictionary for the pages' resources."""
        extra = frozenset(c for c in characters if c in self.widths and c not in _WINANSI)
        data, metrics, kept = _unicode_subset(self.path, extra)
        base = f"/{tag}+{metrics['ps_name']}"
        descriptor = _descriptor(pdf, data, metrics, base)
        widths = pydyf.Array()
        for glyph, (advance, _) in sorted(kept.items()):
            widths.extend([glyph, pydyf.Array([advance])])
        system = pydyf.Dictionary(
            {
                "Registry": pydyf.String("Adobe"),
                "Ordering": pydyf.String("Identity"),
                "Supplement": 0,
            }
        )
        cid = pydyf.Dictionary({
            "Type": "/Font", "Subtype": "/CIDFontType2", "BaseFont": base,
            "CIDSystemInfo": system, "FontDescriptor": descriptor.reference, "W": widths,
            "CIDToGIDMap": "/Identity",
        })  # fmt: skip
        pdf.add_object(cid)
        to_unicode = pydyf.Stream([_to_unicode(kept)], compress=True)
        pdf.add_object(to_unicode)
        font = pydyf.Dictionary({
            "Type": "/Font", "Subtype": "/Type0", "BaseFont": base, "Encoding": "/Identity-H",
            "DescendantFonts": pydyf.Array([cid.reference]), "ToUnicode": to_unicode.reference,
        })  # fmt: skip
        pdf.add_object(font)
        return font


class _GlyphIds(dict):
    """str.translate's table: a code point the face lacks becomes the glyph of "?"."""

    def __missing__(self, code: int) -> str:
        return self[63]


@cache
def unicode_font(family: str, resource: str) -> UnicodeFont:
    from fontTools.ttLib import TTFont

    path = font_file(family)
    font = TTFont(path, lazy=True)
    scale = 1000 / font["head"].unitsPerEm
    advances = font["hmtx"].metrics
    glyphs, widths = _GlyphIds(), {}
    for code, glyph in font.getBestCmap().items():
        if code >= 32 and not 0x7F <= code < 0xA0:  # control characters show as "?"
            glyphs[code] = f"{font.getGlyphID(glyph):04x}"
            widths[chr(code)] = round(advances[glyph][0] * scale, 1)
    return UnicodeFont(resource, path, glyphs, widths)


_WINANSI = frozenset(bytes(range(32, 256)).decode(WINANSI, errors="ignore"))


@lru_cache(maxsize=16)
def _unicode_subset(path: str, extra: frozenset[str]) -> tuple[bytes, dict, dict]:
    """The font cut to WinAnsi's characters and `extra`, glyph ids kept; its metrics; per kept
    glyph id, its advance and its character. Cut once per set of characters beyond WinAnsi
    (about 0.1 s): most reports have none."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(path)
    codes = sorted(ord(c) for c in _WINANSI | extra)
    scale = 1000 / font["head"].unitsPerEm
    cmap, advances = font.getBestCmap(), font["hmtx"].metrics
    kept: dict[int, tuple[float, int]] = {}
    for code in codes:
        if code in cmap:
            glyph = font.getGlyphID(cmap[code])
            kept.setdefault(glyph, (round(advances[cmap[code]][0] * scale, 1), code))
    options = _subset_options()
    options.retain_gids = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codes)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue(), _metrics(font, scale), kept


def _to_unicode(kept: dict[int, tuple[float, int]]) -> bytes:
    """The CMap that turns glyph ids back into text (copying, searching, pypdf)."""
    pairs = [
        f"<{glyph:04x}> <{chr(code).encode('utf-16-be').hex()}>"
        for glyph, (_, code) in sorted(kept.items())
    ]
    blocks = [
        f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar"
        for chunk in (pairs[i : i + 100] for i in range(0, len(pairs), 100))
    ]
    return "\n".join([
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
        "1 begincodespacerange", "<0000> <ffff>", "endcodespacerange", *blocks,
        "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end",
    ]).encode()  # fmt: skip
