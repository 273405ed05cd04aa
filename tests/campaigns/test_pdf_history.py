"""The history pages CertLab sets itself (campaigns.pdf_history), written into a PDF of their own
and read back with pypdf: nothing cut (a long text wraps, a word wider than its column breaks),
an entry taller than a page goes on under the next page's header, every character DejaVu Sans
has shown as typed (the Unicode font's ToUnicode map gives it back), one it lacks as "?"."""

import io
import re

import pydyf
import pytest
from pypdf import PdfReader

from campaigns import pdf_fonts, pdf_history
from campaigns.pdf_pages import Grid

HEADER = "When Who What Before After Reason"
GRID = Grid(width=842, height=595)


@pytest.fixture(scope="module")
def face():
    return pdf_fonts.unicode_font("DejaVu Sans", "CLText")


def row(n: int, **texts) -> pdf_history.HistoryRow:
    fields = {"when": f"2026-11-22 10:{n:02d}:00", "who": "QA", "what": "Result text",
              "before": f"before {n}", "after": f"after {n}", "reason": f"reason {n}"}  # fmt: skip
    return pdf_history.HistoryRow(**{**fields, **texts})


def written(section: pdf_history.HistorySection, face) -> list[str]:
    """The section's pages as a PDF, read back page by page."""
    pdf = pydyf.PDF()
    font = face.embed(pdf, section.characters(), "CLTEXT")
    resources = pydyf.Dictionary({"Font": pydyf.Dictionary({face.name: font.reference})})
    pdf.add_object(resources)
    for content in pdf_history.history_pages(section, GRID, face):
        stream = pydyf.Stream([content])
        pdf.add_object(stream)
        page = pydyf.Dictionary({
            "Type": "/Page", "Parent": pdf.pages.reference, "Contents": stream.reference,
            "MediaBox": pydyf.Array([0, 0, GRID.width, GRID.height]),
            "Resources": resources.reference,
        })  # fmt: skip
        pdf.add_page(page)
    out = io.BytesIO()
    pdf.write(out)
    return [page.extract_text() for page in PdfReader(out).pages]


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_an_entry_taller_than_a_page_goes_on_under_the_next_pages_header(face):
    tall = " ".join(f"word{i:04d}" for i in range(900))  # about three pages in its column
    rows = [row(n) for n in range(1, 6)] + [row(6, before="", after=tall, reason="")]
    rows += [row(n) for n in range(7, 60)]
    section = pdf_history.HistorySection("Appendix: history", "What it lists.", rows)

    pages = written(section, face)

    assert len(pages) >= 4
    assert "Appendix: history" in pages[0] and "What it lists." in pages[0]
    assert all(HEADER in re.sub(r"\s+", " ", page) for page in pages)
    assert all("(continued)" in page for page in pages[1:3])
    # Read on across the pages, without what each repeats, every text is whole and in order.
    text = squeezed("".join(re.sub(r"\s+", " ", page).replace(HEADER, "") for page in pages))
    text = text.replace("(continued)", "")
    assert squeezed(tall) in text
    for n in (*range(1, 6), *range(7, 60)):
        assert f"before{n}after{n}reason{n}" in text, n
    order = [text.index(part) for part in ("reason5", "word0000", "word0899", "before7")]
    assert order == sorted(order)


def test_long_texts_wrap_inside_their_column_and_lose_nothing(face):
    width = 150.0
    first = "Heartbeat-interval-" * 40 + " " + "x" * 300
    lines = pdf_history.wrap(first + "\nsecond  paragraph", width, face, pdf_history.SIZE)

    assert all(face.width(line, pdf_history.SIZE) <= width for line in lines)
    assert len(lines) > 10
    # A word wider than the column breaks after a hyphen where it has one, anywhere where it
    # has none; the text's own line break and spaces kept.
    assert all(line.endswith("-") for line in lines[:3])
    assert "".join(lines[:-1]) == first.replace(" ", "")
    assert lines[-1] == "second  paragraph"


def test_what_people_typed_is_shown_as_typed_and_a_missing_character_as_a_question_mark(face):
    rows = [row(1, who="Łukasz Żółć", after="Heartbeat ≤ 61 s → Ok", reason="中")]
    pages = written(pdf_history.HistorySection("History", "", rows), face)
    assert "Łukasz Żółć" in pages[0] and "Heartbeat ≤ 61 s → Ok" in pages[0]
    assert "中" not in pages[0] and re.search(r"Ok\s*\?", pages[0])


def test_an_empty_history_says_so_without_a_table(face):
    pages = written(pdf_history.HistorySection("History", "Every change.", []), face)
    assert len(pages) == 1 and "No change recorded." in pages[0]
    assert HEADER not in re.sub(r"\s+", " ", pages[0])
