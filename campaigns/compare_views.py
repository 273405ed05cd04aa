"""Comparing two campaigns of one charger model (campaigns.compare): choosing the other campaign,
the comparison as a page and as a PDF in the report's style. Both campaigns go through
`campaigns_for`: a vendor compares only campaigns of their own manufacturer (404 otherwise)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from campaigns import compare
from campaigns.models import Campaign
from campaigns.views import _campaign


@login_required
@require_GET
def compare_choose(request: HttpRequest, pk: int) -> HttpResponse:
    """The other campaigns of the model to compare with; ?with=<pk> opens the comparison."""
    campaign = _campaign(request, pk)
    chosen = request.GET.get("with", "")
    if chosen:
        if not chosen.isdigit():
            raise Http404
        return redirect("campaigns:compare", pk=campaign.pk, other=int(chosen))
    return _chooser(request, campaign)


def _chooser(request: HttpRequest, campaign: Campaign, *, error: str = "") -> HttpResponse:
    others = compare.comparable_campaigns(campaign=campaign, user=request.user)
    page = Paginator(others, 25).get_page(request.GET.get("page"))
    context = {"campaign": campaign, "page": page, "error": error}
    return render(request, "campaigns/compare_choose.html", context, status=400 if error else 200)


def _pair(request: HttpRequest, pk: int, other: int) -> tuple[Campaign, Campaign] | HttpResponse:
    """The two campaigns, the older first; or the chooser saying why they do not compare."""
    campaign = _campaign(request, pk)
    try:
        return compare.campaign_pair(campaign, _campaign(request, other))
    except ValidationError as error:
        return _chooser(request, campaign, error=error.messages[0])


@login_required
@require_GET
def compare_campaigns(request: HttpRequest, pk: int, other: int) -> HttpResponse:
    pair = _pair(request, pk, other)
    if isinstance(pair, HttpResponse):
        return pair
    comparison = compare.campaign_compare(a=pair[0], b=pair[1])
    campaign = pair[0] if pair[0].pk == pk else pair[1]
    context = {"comparison": comparison, "campaign": campaign, "other_pk": other}
    return render(request, "campaigns/compare.html", context)


@login_required
@require_GET
def compare_pdf(request: HttpRequest, pk: int, other: int) -> HttpResponse:
    from weasyprint import CSS, HTML

    pair = _pair(request, pk, other)
    if isinstance(pair, HttpResponse):
        return pair
    comparison = compare.campaign_compare(a=pair[0], b=pair[1])
    html = render_to_string(
        "campaigns/compare_pdf.html", {"comparison": comparison, "pdf": True}, request=request
    )
    a, b = comparison.a, comparison.b
    head = f"{a.station.charger_model} · campaigns #{a.pk} → #{b.pk} · comparison, not a report"
    # The report's @page draws its running head from a string: given here, not from the page.
    running = f"@page {{ @top-left {{ content: {_css_string(head)} }} }}"
    stylesheet = finders.find("css/report.css")
    sheets = [CSS(filename=stylesheet)] if stylesheet else []
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf(
        stylesheets=[*sheets, CSS(string=running)]
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"certlab-compare-{a.pk}-{b.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _css_string(text: str) -> str:
    """A quoted CSS string of any text (a model's name is the user's)."""
    escaped = "".join(c if c.isalnum() or c in " .#·→-_,:" else f"\\{ord(c):x} " for c in text)
    return f'"{escaped}"'
