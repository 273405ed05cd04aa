"""The frame pages CertLab sets itself (campaigns.pdf_pages), read back from their content
streams: nothing is cut (a long line wraps with », a frame that meets the foot of a column goes
on with its head repeated), and what the PDF's strings cannot hold is written the JSON way."""

import json
import re

import pydyf
import pytest

from campaigns import pdf_fonts, pdf_pages

STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)'")


@pytest.fixture(scope="module")
def fonts():
    pdf = pydyf.PDF()
    sans = pdf_fonts.embed_font(pdf, "DejaVu Sans", "CLSans", "CLSANS")
    mono = pdf_fonts.embed_font(pdf, "DejaVu Sans Mono", "CLMono", "CLMONO")
    return sans, mono


def shown_lines(pages: list[bytes]) -> list[bytes]:
    """Every line the ' operator shows, unescaped."""
    return [re.sub(rb"\\(.)", rb"\1", m) for page in pages for m in STRING.findall(page)]


def test_long_lines_wrap_whole_and_frames_go_on_with_their_head(fonts):
    sans, mono = fonts
    grid = pdf_pages.Grid(width=842, height=595)
    width = grid.chars(mono)
    long_value = "".join(str(i % 10) for i in range(width * 3))
    body = json.dumps({"note": "é (x) \\ ok", "long": long_value}, indent=2, ensure_ascii=False)
    blocks = [pdf_pages.FrameBlock(head=f"F{i} (head)", body=body) for i in range(1, 20)]
    tall = json.dumps(list(range(grid.lines * 3)), indent=2)  # taller than a column
    blocks.append(pdf_pages.FrameBlock(head="F20 (tall)", body=tall))

    pages = pdf_pages.frame_pages(pdf_pages.FrameSection("Frames", blocks), grid, sans, mono)
    lines = shown_lines(pages)

    assert len(pages) > 1
    assert all(len(line) <= width for line in lines)
    # The long line printed whole: its first piece and every "» " continuation put back together.
    start = lines.index(b'  "long": "' + long_value.encode()[: width - 11])
    rest = b""
    for line in lines[start + 1 :]:
        if not line.startswith(b"\xbb "):
            break
        rest += line[2:]
    assert lines[start] + rest == f'  "long": "{long_value}"'.encode()
    # é as its JSON escape (the same JSON); parentheses and the backslash kept as they were.
    assert b'  "note": "\\u00e9 (x) \\\\ ok",' in lines
    # A frame broken across a column or page says so under its own head.
    assert lines.count(b"F20 (tall) (continued)") >= 2
    assert [line.strip(b" ,") for line in lines if line.strip(b" ,").isdigit()] == [
        str(n).encode() for n in range(grid.lines * 3)
    ]
