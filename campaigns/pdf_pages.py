"""PDF pages CertLab writes itself, into the document WeasyPrint builds (its `finisher` hook):
the frame listings of the appendix, and the running header, "page N of M" and the marks on every
page. WeasyPrint lays out a line of text in about a millisecond, so 10,000 pretty-printed frames
(a quarter of a million lines) would take minutes; these pages are set line by line in a fixed
grid, in the report's own fonts (DejaVu Sans and Sans Mono, embedded once: campaigns.pdf_fonts),
in milliseconds. The history appendix is set the same way, in the same grid (pdf_history).

Text is WinAnsi-encoded (the PDF standard encoding of simple fonts): frames are printed as JSON
with non-ASCII characters escaped (\\uXXXX), which is the same JSON; a character WinAnsi lacks in
a header line shows as "?"."""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

from campaigns.pdf_fonts import Font, encode

MM = 72 / 25.4


def _literal(data: bytes) -> bytes:
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_ops(font: Font, size: float, x: float, y: float, data: bytes, rgb=(0, 0, 0)) -> bytes:
    colour = b"%.3f %.3f %.3f rg" % rgb
    return b"BT %s /%s %.2f Tf %.2f %.2f Td %s Tj ET\n" % (
        colour,
        font.name.encode(),
        size,
        x,
        y,
        _literal(data),
    )


# --- The frame listing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """Two columns of monospaced lines inside the page's margins."""

    width: float
    height: float
    top: float = 20 * MM
    bottom: float = 15 * MM
    side: float = 12 * MM
    gap: float = 6 * MM
    columns: int = 2
    size: float = 6.8  # pt, DejaVu Sans Mono
    leading: float = 8.0

    @property
    def column_width(self) -> float:
        return (self.width - 2 * self.side - (self.columns - 1) * self.gap) / self.columns

    @property
    def lines(self) -> int:
        return int((self.height - self.top - self.bottom) // self.leading)

    def chars(self, mono: Font) -> int:
        return max(20, int(self.column_width / (mono.widths[0] * self.size / 1000)))


@dataclass(frozen=True)
class FrameBlock:
    """What a frame prints: its numbered head line and its pretty JSON."""

    head: str
    body: str


@dataclass(frozen=True)
class FrameSection:
    title: str
    blocks: list[FrameBlock]


def _json_escapes(error: UnicodeEncodeError) -> tuple[str, int]:
    """An encoding error handler: the characters ASCII lacks as their JSON escapes."""
    return json.dumps(error.object[error.start : error.end])[1:-1], error.end


codecs.register_error("certlab-json-escapes", _json_escapes)


def _ascii(text: str) -> bytes:
    """JSON with every non-ASCII character as its JSON escape: the same JSON."""
    return text.encode("ascii", errors="certlab-json-escapes")


def _wrapped(text: str, width: int) -> list[bytes]:
    """The body's lines cut to the column, each already escaped as a PDF string's inside.
    Wrapped on the plain text (an escape is not a character the reader sees), escaped in one
    pass over the whole body: per-line work is what 190,000 lines make expensive."""
    lines = _ascii(text).split(b"\n")
    if max(map(len, lines)) > width:
        cut: list[bytes] = []
        for line in lines:
            cut.append(line[:width])
            # » marks a wrapped line
            cut += [b"\xbb " + line[i : i + width - 2] for i in range(width, len(line), width - 2)]
        lines = cut
    return _escape(b"\n".join(lines)).split(b"\n")


def _escape(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


class _Column:
    """One column's text object: lines moved down by the leading with the ' operator, fonts
    switched only where a head line meets code. Far cheaper than positioning every line."""

    def __init__(self, grid: Grid, x: float, sans: Font, mono: Font) -> None:
        self.grid, self.sans, self.mono = grid, sans, mono
        # The first ' moves down one line: the first line lands two lines under the page title.
        top = grid.height - grid.top - grid.leading
        self.ops = [b"BT %.2f %.2f Td %.2f TL" % (x, top, grid.leading)]
        self.font: Font | None = None
        self.rows = 0.0

    def lines(self, font: Font, escaped: list[bytes]) -> None:
        """Lines already escaped (`_wrapped`), each shown on its own line."""
        if font is not self.font:
            size = self.grid.size + (0 if font is self.mono else 0.4)
            colour = b"0 0 0" if font is self.mono else b"0.12 0.16 0.3"
            self.ops.append(b"/%s %.2f Tf %s rg" % (font.name.encode(), size, colour))
            self.font = font
        self.ops.append(b"(" + b")'\n(".join(escaped) + b")'")
        self.rows += len(escaped)

    def gap(self) -> None:
        self.ops.append(b"0 %.2f Td" % (-self.grid.leading / 2))
        self.rows += 0.5

    def close(self) -> bytes:
        return b"\n".join([*self.ops, b"ET\n"])


def frame_pages(section: FrameSection, grid: Grid, sans: Font, mono: Font) -> list[bytes]:
    """The content streams of a step's frame pages: the section's title across the top of each
    page, then the frames in columns; a frame that breaks to the next column or page repeats its
    head line ("(continued)")."""
    width = grid.chars(mono)
    rows = grid.lines - 2  # under the title line
    pages: list[bytes] = []
    parts: list[bytes] = []
    index = 0

    def open_column() -> _Column:
        if index == 0:
            title = section.title if not pages else f"{section.title} (continued)"
            parts.append(text_ops(sans, grid.size + 1.6, grid.side, grid.height - grid.top,
                                  encode(title), (0.12, 0.16, 0.3)))  # fmt: skip
        x = grid.side + index * (grid.column_width + grid.gap)
        return _Column(grid, x, sans, mono)

    def next_column(column: _Column) -> _Column:
        nonlocal index
        parts.append(column.close())
        index += 1
        if index == grid.columns:
            pages.append(b"".join(parts))
            parts.clear()
            index = 0
        return open_column()

    column = open_column()
    for block in section.blocks:
        if column.rows + 2 > rows:  # never a head alone at the foot of a column
            column = next_column(column)
        head = encode(block.head)
        column.lines(sans, [_escape(head)])
        body = _wrapped(block.body, width)
        while body:
            room = max(0, math.ceil(rows - column.rows))
            if room:
                column.lines(mono, body[:room])
                body = body[room:]
            if body:
                column = next_column(column)
                column.lines(sans, [_escape(head + b" (continued)")])
        column.gap()  # a little air between frames
    parts.append(column.close())
    pages.append(b"".join(parts))
    return pages


# --- Every page: running header, page N of M, marks ---------------------------------------------


def page_furniture(
    sans: Font, width: float, height: float, *, head: str, marks: Iterable[str], number: int,
    total: int,
) -> bytes:  # fmt: skip
    size = 8
    ops = [text_ops(sans, size, 12 * MM, height - 10 * MM, encode(head), (0.27, 0.27, 0.33))]
    mark_text = encode("   ".join(marks))
    if mark_text:
        x = width - 12 * MM - sans.width(mark_text, size + 1)
        ops.append(text_ops(sans, size + 1, x, height - 10 * MM, mark_text, (0.71, 0.14, 0.09)))
    footer = encode(f"page {number} of {total}")
    x = width - 12 * MM - sans.width(footer, size)
    ops.append(text_ops(sans, size, x, 7 * MM, footer, (0.27, 0.27, 0.33)))
    return b"".join(ops)


def watermark(sans: Font, width: float, height: float, marks: Iterable[str]) -> bytes:
    """The marks across the page, light, drawn before the page's own content."""
    text = encode("   ".join(marks))
    if not text:
        return b""
    size = 34
    span = sans.width(text, size)
    # Rotate 25 degrees about the page's centre.
    cos, sin = 0.9063, 0.4226
    x = width / 2 - cos * span / 2
    y = height / 2 - sin * span / 2
    return b"q BT 0.95 0.80 0.78 rg /%s %d Tf %.4f %.4f %.4f %.4f %.2f %.2f Tm %s Tj ET Q\n" % (
        sans.name.encode(),
        size,
        cos,
        sin,
        -sin,
        cos,
        x,
        y,
        _literal(text),
    )
