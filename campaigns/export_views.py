"""The campaign's downloads (campaigns/exports.py): the frames of a campaign or an attempt as
CSV or JSON Lines, streamed, and the verdicts as JSON or JUnit XML. A vendor reaches only its own
(the pages' selectors: another's is a 404)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from campaigns import exports
from campaigns.views import _attempt, _campaign
from stations import frame_export


@login_required
@require_GET
def campaign_frames(
    request: HttpRequest, pk: int, fmt: frame_export.Format
) -> StreamingHttpResponse:
    campaign = _campaign(request, pk)
    return frame_export.response(
        request,
        exports.campaign_frames(campaign),
        fmt,
        f"campaign-{campaign.pk}-frames",
    )


@login_required
@require_GET
def attempt_frames(
    request: HttpRequest, attempt_pk: int, fmt: frame_export.Format
) -> StreamingHttpResponse:
    attempt = _attempt(request, attempt_pk)
    name = (
        f"campaign-{attempt.plan_item.campaign_id}-step-{attempt.plan_item.function.number}"
        f"-attempt-{attempt.number}-frames"
    )
    return frame_export.response(request, exports.attempt_frames(attempt), fmt, name)


@login_required
@require_GET
def verdicts_json(request: HttpRequest, pk: int) -> JsonResponse:
    campaign = _campaign(request, pk)
    response = JsonResponse(exports.verdicts(campaign), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="campaign-{pk}-verdicts.json"'
    return response


@login_required
@require_GET
def verdicts_junit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    response = HttpResponse(exports.verdicts_junit(campaign), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="campaign-{pk}-junit.xml"'
    return response
