"""The report as PDF: the printable page's template rendered by WeasyPrint, finished by CertLab.

WeasyPrint lays out the report and each step's appendix (each on its own pages). Its finisher
then adds what would be too slow or impossible to lay out there: each step's frames as pages of
their own, right after the step's section (campaigns.pdf_pages), the history appendix after the
last step's (campaigns.pdf_history), and on every page the running header (station, campaign,
report revision), the marks (DRAFT, REHEARSAL) and "page N of M", numbered over the whole
document, in the report's own font. The sign-off page stays last."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import pydyf
from django.contrib.staticfiles import finders
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns import pdf_fonts, pdf_history, pdf_pages
from campaigns.models import AuditEntry
from campaigns.report_data import StepAppendix, marks, running_head

# WeasyPrint's own margin boxes would number only its pages: CertLab numbers them all.
PDF_CSS = "@page { @top-left { content: none } @top-right { content: none } " \
          "@bottom-right { content: none } }"  # fmt: skip


def render_pdf(request: HttpRequest, template: str, context: dict) -> bytes:
    with cycle_collector_paused():
        return _render_pdf(request, template, context)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a report renders: WeasyPrint's boxes and 10,000
    frames' evidence make millions of live objects, and the collections their allocations set
    off walked them all (about a fifth of the render's CPU time, measured by bench.report_pdf).
    Reference counting still frees nearly everything; what cycles the render leaves are
    collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _render_pdf(request: HttpRequest, template: str, context: dict) -> bytes:
    from weasyprint import CSS, HTML

    html = render_to_string(template, {**context, "pdf": True}, request=request)
    stylesheets = [CSS(filename=path) for path in _stylesheets()] + [CSS(string=PDF_CSS)]
    document = HTML(string=html, base_url=request.build_absolute_uri("/")).render(
        stylesheets=stylesheets
    )
    campaign = context["campaign"]
    finisher = Finisher(
        appendices=context["appendices"],
        history=pdf_history.HistorySection(
            title=context["history_title"],
            intro=context["history_intro"],
            rows=[_history_row(entry) for entry in context["history"]],
        ),
        head=running_head(campaign, context["seal"]),
        marks=marks(campaign),
    )
    return document.write_pdf(finisher=finisher)


def _stylesheets() -> list[str]:
    found = finders.find("css/report.css")
    return [found] if found else []


class Finisher:
    def __init__(
        self, *, appendices: list[StepAppendix], history: pdf_history.HistorySection, head: str,
        marks: list[str],
    ) -> None:  # fmt: skip
        self.appendices = appendices
        self.history = history
        self.head = head
        self.marks = marks

    def __call__(self, document, pdf: pydyf.PDF) -> None:
        kids = list(pdf.pages["Kids"])
        page_numbers = kids[0::3]  # the Kids array is flat: number, 0, "R", …
        width, height = _size(pdf.objects[page_numbers[0]])
        sans = pdf_fonts.embed_font(pdf, "DejaVu Sans", "CLSans", "CLSANS")
        mono = pdf_fonts.embed_font(pdf, "DejaVu Sans Mono", "CLMono", "CLMONO")
        text = pdf_fonts.unicode_font("DejaVu Sans", "CLText")
        fonts = pydyf.Dictionary({
            sans.name: sans.dictionary.reference, mono.name: mono.dictionary.reference,
            text.name: text.embed(pdf, self.history.characters(), "CLTEXT").reference,
        })  # fmt: skip
        pdf.add_object(fonts)
        inserted = self._inserted_pages(document, width, height, sans, mono, text)
        order: list = []
        for index, number in enumerate(page_numbers):
            order.append(("weasy", number))
            order.extend(("own", page) for page in inserted.get(index, []))
        total = len(order)
        for position, (kind, page) in enumerate(order, start=1):
            furniture = pdf_pages.page_furniture(
                sans, width, height, head=self.head, marks=self.marks, number=position,
                total=total,
            )  # fmt: skip
            if kind == "weasy":
                self._finish_weasy_page(pdf, pdf.objects[page], fonts, furniture, sans)
            else:
                page["Contents"].append(furniture)
        kids = pydyf.Array()
        for kind, page in order:
            number = page if kind == "weasy" else self._add_page(pdf, page, width, height, fonts)
            kids.extend([number, 0, "R"])
        pdf.pages["Kids"] = kids
        pdf.pages["Count"] = total

    def _inserted_pages(self, document, width, height, sans, mono, text) -> dict[int, list]:
        """Each step's frame pages, keyed by the index of the WeasyPrint page they follow: the
        last page of the step's section (the page before the next section or the sign-off);
        after the last step's, the history's pages."""
        starts = {}
        for index, page in enumerate(document.pages):
            for anchor in page.anchors:
                starts.setdefault(anchor, index)
        follows: dict[int, list] = {}
        grid = pdf_pages.Grid(width=width, height=height)
        watermark = pdf_pages.watermark(sans, width, height, self.marks)
        # The sign-off follows the last step's section in WeasyPrint's pages (report.html).
        sections = [ap.anchor for ap in self.appendices] + ["signoff"]
        for position, appendix in enumerate(self.appendices):
            if not appendix.frames:
                continue
            after = starts.get(sections[position + 1], len(document.pages)) - 1
            section = pdf_pages.FrameSection(
                title=f"Appendix {appendix.number} · {appendix.row.item.function.title} — "
                f"frames {appendix.frame_range} of the {appendix.final.ordinal} attempt",
                blocks=[_block(frame) for frame in appendix.frames],
            )
            contents = pdf_pages.frame_pages(section, grid, sans, mono)
            follows.setdefault(after, []).extend(
                {"Contents": [watermark, content]} for content in contents
            )
        history = pdf_history.history_pages(self.history, grid, text)
        follows.setdefault(starts.get("signoff", len(document.pages)) - 1, []).extend(
            {"Contents": [watermark, content]} for content in history
        )
        return follows

    def _finish_weasy_page(self, pdf, page, fonts, furniture: bytes, sans) -> None:
        """Wrap WeasyPrint's content in q/Q (its stream leaves a transform set), draw the
        watermark before and the furniture after it, with CertLab's fonts in the resources."""
        width, height = _size(page)
        before = _stream(pdf, pdf_pages.watermark(sans, width, height, self.marks) + b"q\n")
        after = _stream(pdf, b"Q\n" + furniture)
        page["Contents"] = pydyf.Array([before.reference, page["Contents"], after.reference])
        _add_fonts(_target(pdf, _target(pdf, page["Resources"])["Font"]), fonts)

    @staticmethod
    def _add_page(pdf, page: dict, width: float, height: float, fonts) -> int:
        content = _stream(pdf, b"".join(page["Contents"]))
        resources = pydyf.Dictionary({"Font": fonts.reference})
        pdf.add_object(resources)
        new = pydyf.Dictionary({
            "Type": "/Page", "Parent": pdf.pages.reference,
            "MediaBox": pydyf.Array([0, 0, width, height]),
            "Contents": content.reference, "Resources": resources.reference,
        })  # fmt: skip
        pdf.add_object(new)
        return new.number


def _block(frame) -> pdf_pages.FrameBlock:
    direction = "station -> CS" if frame.direction == "in" else "CS -> station"
    return pdf_pages.FrameBlock(
        head=f"F{frame.number}  {direction} · {frame.message_type} {frame.action} · "
        f"{frame.time} · id {frame.unique_id}",
        body=frame.pretty,
    )


def _history_row(entry: AuditEntry) -> pdf_history.HistoryRow:
    """An entry as the history table shows it (campaigns/_history.html on the page)."""
    return pdf_history.HistoryRow(
        when=f"{timezone.localtime(entry.at):%Y-%m-%d %H:%M:%S}",
        who=entry.actor_label,
        what=entry.subject + (" (lab only)" if entry.lab_only else ""),
        before=entry.before,
        after=entry.after,
        reason=entry.reason,
    )


def _size(page) -> tuple[float, float]:
    box = page["MediaBox"]
    return float(box[2]) - float(box[0]), float(box[3]) - float(box[1])


def _stream(pdf: pydyf.PDF, data: bytes) -> pydyf.Stream:
    stream = pydyf.Stream([data], compress=True)
    pdf.add_object(stream)
    return stream


def _target(pdf: pydyf.PDF, reference: bytes):
    """The object an indirect reference (b"12 0 R") points to."""
    return pdf.objects[int(reference.split()[0])]


def _add_fonts(weasy_fonts: pydyf.Dictionary, fonts: pydyf.Dictionary) -> None:
    for name, reference in fonts.items():
        weasy_fonts.setdefault(name, reference)
