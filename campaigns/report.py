"""The report as PDF: the same template as the printable page, rendered by WeasyPrint."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import HttpRequest
from django.template.loader import render_to_string


def render_pdf(request: HttpRequest, template: str, context: dict) -> bytes:
    from weasyprint import CSS, HTML

    html = render_to_string(template, {**context, "pdf": True}, request=request)
    stylesheets = [CSS(filename=path) for path in _stylesheets()]
    return HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf(
        stylesheets=stylesheets
    )


def _stylesheets() -> list[str]:
    found = finders.find("css/report.css")
    return [found] if found else []
