"""The history appendix as pages CertLab sets itself, like the frame listings (campaigns.pdf_pages)
and in the same page frame (pdf_pages.Grid); the finisher (campaigns.report) adds the running
header, the marks and "page N of M" as on every page. WeasyPrint laid the history out as a table
at about 8 ms of CPU per entry (7.8 s for 1,000, about 25 s under load; bench.report_pdf
--history 1000), where a normal campaign has 50-100 entries. Set here it takes 0.15 ms per entry,
so every PDF sets it this way: one layout whatever the length, the one the tests read.

A table in a fixed grid: when, who, what, before, after, reason; the header row on every page.
A text wraps at its spaces, a word wider than its column after a hyphen or anywhere: nothing is
cut. A short entry stays whole (to the next page if need be); a long one breaks where the page
ends and goes on under the next page's header, "(continued)" in its first column. The texts are
what people typed (names, results, reasons), so they are set in DejaVu Sans as a Unicode font
(pdf_fonts)."""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.pdf_fonts import UnicodeFont
from campaigns.pdf_pages import MM, Grid

SIZE = 7.2  # pt, the table's text
LEADING = 8.8
PAD = 2.0  # pt between a cell's border and its text
# Label and width of each column; None: an equal share of what the fixed ones leave.
COLUMNS = (("When", 30 * MM), ("Who", 28 * MM), ("What", 46 * MM), ("Before", None),
           ("After", None), ("Reason", None))  # fmt: skip
KEEP_WHOLE = 8  # lines: an entry up to this tall is never broken across pages
MIN_PART = 3  # lines: a long entry breaks only where at least this much of it fits
INK, MUTED, TITLE = (0.07, 0.07, 0.07), (0.4, 0.4, 0.47), (0.12, 0.16, 0.3)


@dataclass(frozen=True)
class HistoryRow:
    when: str
    who: str
    what: str
    before: str
    after: str
    reason: str

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.when, self.who, self.what, self.before or "—", self.after or "—",
                self.reason)  # fmt: skip


@dataclass(frozen=True)
class HistorySection:
    title: str
    intro: str
    rows: list[HistoryRow]
    empty: str = "No change recorded."

    def characters(self) -> set[str]:
        """Every character the pages show: what the font embedded must hold."""
        texts = [self.title, self.intro, self.empty, *(label for label, _ in COLUMNS)]
        return set("".join(texts + [cell for row in self.rows for cell in row.cells]))


def wrap(text: str, width: float, face: UnicodeFont, size: float) -> list[str]:
    """The lines of `text` in `width` points: its own line breaks kept, broken at spaces, a
    word wider than the column after a hyphen or wherever it must be."""
    limit = width * 1000 / size
    get, missing = face.widths.get, face.widths["?"]
    space = face.widths[" "]
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line, used, started = "", 0.0, False
        for word in paragraph.split(" "):
            advance = sum(get(c, missing) for c in word)
            if started and used + space + advance <= limit:
                line, used = f"{line} {word}", used + space + advance
                continue
            if started:
                lines.append(line)
            while advance > limit:
                taken, cut = 0.0, 0
                while cut < len(word) and taken + get(word[cut], missing) <= limit:
                    taken += get(word[cut], missing)
                    cut += 1
                # After a hyphen or a slash where there is one, as a browser breaks.
                cut = max(word.rfind("-", 0, cut) + 1, word.rfind("/", 0, cut) + 1) or max(cut, 1)
                lines.append(word[:cut])
                word = word[cut:]
                advance = sum(get(c, missing) for c in word)
            line, used, started = word, advance, True
        lines.append(line)
    return lines


class _Pages:
    """The pages being set: per page, its text (one text object) and its rules."""

    def __init__(self, grid: Grid, face: UnicodeFont) -> None:
        self.grid, self.face = grid, face
        left, share = grid.side, grid.width - 2 * grid.side
        fixed = sum(width for _, width in COLUMNS if width)
        flexible = (share - fixed) / sum(1 for _, width in COLUMNS if not width)
        self.edges = [left]
        for _, width in COLUMNS:
            self.edges.append(self.edges[-1] + (width or flexible))
        self.widths = [b - a - 2 * PAD for a, b in zip(self.edges, self.edges[1:], strict=False)]
        self.done: list[bytes] = []
        self.fills: list[bytes] = []  # drawn first: under the text
        self.text: list[bytes] = []
        self.rules: list[bytes] = []
        self.y = 0.0
        self.table_top = 0.0
        self.rows_on_page = 0

    def font(self, size: float, rgb: tuple[float, float, float]) -> None:
        leading = LEADING if size == SIZE else size * 1.35
        name = self.face.name.encode()
        self.text.append(b"/%s %.2f Tf %.2f TL %.3f %.3f %.3f rg" % (name, size, leading, *rgb))

    def lines(self, x: float, y: float, lines: list[str]) -> None:
        """Lines from baseline y down, one leading apart."""
        if not lines:
            return
        hexes = [self.face.hex(line) for line in lines]
        self.text.append(b"1 0 0 1 %.2f %.2f Tm %s Tj" % (x, y, hexes[0]))
        if hexes[1:]:
            self.text.append(b" '\n".join(hexes[1:]) + b" '")

    def rule(self, y: float) -> None:
        self.rules.append(b"%.2f %.2f m %.2f %.2f l" % (self.edges[0], y, self.edges[-1], y))

    def header(self, top: float) -> None:
        height = LEADING + 2 * PAD
        self.fills.append(b"q 0.914 0.929 0.949 rg %.2f %.2f %.2f %.2f re f Q\n" % (
            self.edges[0], top - height, self.edges[-1] - self.edges[0], height))  # fmt: skip
        self.font(SIZE, TITLE)
        for (label, _), x in zip(COLUMNS, self.edges, strict=False):
            self.lines(x + PAD, top - PAD - SIZE * 0.95, [label])
        self.font(SIZE, INK)
        self.rule(top)
        self.table_top, self.y = top, top - height
        self.rule(self.y)

    def row(self, cells: list[list[str]], count: int, *, continued: bool) -> None:
        """The first `count` lines of each cell, taken off it; a rule under them."""
        baseline = self.y - PAD - SIZE * 0.95
        for lines, x in zip(cells, self.edges, strict=False):
            self.lines(x + PAD, baseline, lines[:count])
            del lines[:count]
        if continued:  # after the cells: read out, an entry's text goes on whole
            self.font(SIZE, MUTED)
            self.lines(self.edges[0] + PAD, baseline, ["(continued)"])
            self.font(SIZE, INK)
        self.y -= count * LEADING + 2 * PAD
        self.rule(self.y)
        self.rows_on_page += 1

    def room(self) -> int:
        """Lines of a row that still fit on the page."""
        return int((self.y - self.grid.bottom - 2 * PAD) // LEADING)

    def new_page(self) -> None:
        self.finish()
        self.header(self.grid.height - self.grid.top + SIZE)
        self.rows_on_page = 0

    def finish(self) -> None:
        content = b"".join(self.fills) + b"BT\n" + b"\n".join(self.text) + b"\nET\n"
        if self.rules:
            columns = [b"%.2f %.2f m %.2f %.2f l" % (x, self.table_top, x, self.y)
                       for x in self.edges]  # fmt: skip
            content += b"q 0.6 G 0.4 w " + b" ".join([*self.rules, *columns]) + b" S Q\n"
        self.done.append(content)
        self.fills, self.text, self.rules = [], [], []


def history_pages(section: HistorySection, grid: Grid, face: UnicodeFont) -> list[bytes]:
    """The content streams of the history's pages: the title and what the table lists on the
    first, then the table, its header row on each page."""
    pages = _Pages(grid, face)
    top = grid.height - grid.top
    pages.font(12, TITLE)
    pages.lines(grid.side, top, [section.title])
    pages.font(8, MUTED)
    intro = wrap(section.intro, grid.width - 2 * grid.side, face, 8)
    pages.lines(grid.side, top - 20, intro)
    table_top = top - 20 - len(intro) * 8 * 1.35 - 4
    if not section.rows:
        pages.lines(grid.side, table_top - 8, [section.empty])
        pages.finish()
        return pages.done
    pages.header(table_top)
    for row in section.rows:
        cells = [wrap(text, width, face, SIZE) for text, width in zip(row.cells, pages.widths,
                                                                       strict=True)]  # fmt: skip
        continued = False
        while (tall := max(map(len, cells))) > 0:
            room = pages.room()
            if tall <= room:
                pages.row(cells, tall, continued=continued)
                break
            if pages.rows_on_page and (tall <= KEEP_WHOLE or room < MIN_PART):
                pages.new_page()
                continue
            pages.row(cells, room, continued=continued)
            continued = True
            pages.new_page()
    pages.finish()
    return pages.done
