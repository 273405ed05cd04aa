"""The vendor's side of a campaign page: QA share it with the vendor or take it back; the vendor
acknowledges a signed-off report. The services are in campaigns.vendor."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.permissions import qa_required
from campaigns import vendor
from campaigns.views import _campaign, _fail


@qa_required
@require_POST
def campaign_share(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        vendor.campaign_share(campaign=campaign, user=request.user)
        messages.success(request, f"Shared with {campaign.manufacturer}: its users see it now.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)


@qa_required
@require_POST
def campaign_unshare(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        vendor.campaign_unshare(campaign=campaign, user=request.user)
        messages.success(request, f"No longer shared: {campaign.manufacturer} does not see it.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)


@login_required
@require_POST
def campaign_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        vendor.campaign_acknowledge(campaign=campaign, user=request.user)
        messages.success(request, "Report acknowledged.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)
