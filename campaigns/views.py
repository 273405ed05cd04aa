"""Campaign pages: list, create, the campaign table, a step with its live attempt, the report.

Reads go through campaigns.selectors (vendors see their own manufacturer's campaigns only);
actions are QA-only and call campaigns.services.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import qa_required
from campaigns import run_all, selectors, services
from campaigns.forms import (
    ApplicabilityForm,
    CampaignFilterForm,
    CampaignForm,
    PromptAnswerForm,
    ReopenForm,
    VerdictForm,
    error_text,
)
from campaigns.models import Attempt, Campaign, PlanItem, Prompt, PromptStatus
from campaigns.presentation import attempt_context, lab_parameter_rows
from stations import selectors as station_selectors
from stations.models import Frame, Station


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(selectors.campaigns_for(user=request.user), pk=pk)


def _plan_item(request: HttpRequest, pk: int, number: int) -> PlanItem:
    campaign = _campaign(request, pk)
    return get_object_or_404(
        PlanItem.objects.select_related("function", "campaign__station"),
        campaign=campaign,
        function__number=number,
    )


def _attempt(request: HttpRequest, attempt_pk: int) -> Attempt:
    return get_object_or_404(selectors.attempts_for(user=request.user), pk=attempt_pk)


def _fail(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    """All campaigns the user may see, or one station's (?station=<pk>, the station page's link),
    optionally of one status (?status=<value>; an unknown one is reported and ignored)."""
    campaigns = selectors.campaigns_for(user=request.user)
    station = None
    if "station" in request.GET:
        station = _station_filter(request, request.GET["station"])
        campaigns = campaigns.filter(station=station)
    filters = CampaignFilterForm(request.GET)
    if filters.is_valid() and filters.cleaned_data["status"]:
        campaigns = campaigns.filter(status=filters.cleaned_data["status"])
    page = Paginator(campaigns, 25).get_page(request.GET.get("page"))
    progress = selectors.progress_for(campaigns=list(page.object_list))
    return render(
        request,
        "campaigns/campaign_list.html",
        {"page": page, "progress": progress, "station": station, "filters": filters},
    )


def _station_filter(request: HttpRequest, value: str) -> Station:
    if not value.isdigit():
        raise Http404
    return get_object_or_404(station_selectors.stations_for(user=request.user), pk=value)


@login_required
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """The test catalogue the campaigns run: 16 functions, their criteria with stable ids."""
    version = services.catalogue_current()
    functions = version.functions.prefetch_related("criteria")
    return render(request, "campaigns/catalogue.html", {"version": version, "functions": functions})


@qa_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(
        request.POST or None,
        stations=station_selectors.stations_for(user=request.user),
        firmware=station_selectors.firmware_versions_for(user=request.user),
        initial={"station": request.GET.get("station")},
    )
    if request.method == "POST" and form.is_valid():
        campaign = services.campaign_create(
            station=form.cleaned_data["station"],
            owner=request.user,
            firmware=form.cleaned_data["firmware"],
            update_firmware=form.cleaned_data["update_firmware"],
            parameters=form.parameters(),
            notes=form.cleaned_data["notes"],
            strict=form.cleaned_data["strict"],
        )
        messages.success(request, f"Campaign created for {campaign.station}.")
        return redirect(campaign)
    status = 400 if request.method == "POST" else 200
    return render(request, "campaigns/campaign_form.html", {"form": form}, status=status)


@login_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    rows = selectors.report_rows(campaign=campaign)
    active = Attempt.objects.filter(plan_item__campaign=campaign, status__in=["queued", "running"])
    sequence = run_all.run_all_current(campaign=campaign)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "rows": rows,
            "remaining": sum(1 for row in rows if not row.verdict),
            "ra": run_all.run_all_progress(sequence) if sequence else None,
            "declared_limits": selectors.declared_limits(campaign=campaign),
            "declaration_drift": selectors.declaration_drift(campaign=campaign),
            "active": active.select_related("plan_item__function"),
            "parameters": lab_parameter_rows(campaign.parameters),
        },
    )


@login_required
@require_GET
def campaign_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every change to what the report says, newest first (a vendor: not the lab-only ones)."""
    campaign = _campaign(request, pk)
    entries = selectors.history_for(campaign=campaign, user=request.user)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "campaigns/campaign_history.html", {"campaign": campaign, "page": page})


@login_required
@require_GET
def step_detail(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    return _step_page(request, _plan_item(request, pk, number))


def _step_page(
    request: HttpRequest,
    item: PlanItem,
    verdict_form: VerdictForm | None = None,
    verdict_for: Attempt | None = None,
    status=200,
) -> HttpResponse:
    """The step page; a refused verdict form comes back as typed, with its errors, under the
    attempt it was for (the latest one's form otherwise)."""
    attempts = list(item.attempts.order_by("-number"))
    latest = attempts[0] if attempts else None
    context = {
        "campaign": item.campaign,
        "item": item,
        "criteria": list(item.function.criteria.all()),
        "declared_limits": selectors.item_limits(item),
        "attempts": [attempt_context(a) for a in attempts],
        "latest": latest,
        "applicability_form": ApplicabilityForm(
            initial={"applicability": item.applicability, "reason": item.reason}
        ),
        "verdict_form": verdict_form or _verdict_form(latest),
        "verdict_for": verdict_for or latest,
        "latest_frame_id": _frame_id_before(item.campaign.station, latest),
        "station_busy": Attempt.objects.filter(
            station=item.campaign.station, status__in=["queued", "running"]
        )
        .exclude(plan_item=item)
        .select_related("plan_item__function", "plan_item__campaign")
        .first(),
    }
    return render(request, "campaigns/step_detail.html", context, status=status)


def _frame_id_before(station, attempt: Attempt | None) -> int:
    """The live frame list of a running attempt starts with the attempt's own frames."""
    if attempt is None or not attempt.is_active:
        return 0
    since = attempt.started or attempt.queued
    last = Frame.objects.of_station(station.pk).filter(timestamp__lt=since).first()
    return last.pk if last else 0


def _verdict_form(latest: Attempt | None) -> VerdictForm | None:
    if latest is None or latest.is_active:
        return None
    if latest.final_verdict:
        initial = {"verdict": latest.final_verdict, "result_text": latest.result_text,
                   "notes": latest.notes}  # fmt: skip
    else:
        proposed = {"ok": "ok", "failed": "failed"}.get(latest.proposed_verdict, "failed")
        initial = {"verdict": proposed, "result_text": latest.proposed_text}
    return VerdictForm(initial=initial)


@login_required
@require_GET
def attempt_panel(request: HttpRequest, attempt_pk: int) -> HttpResponse:
    """The live panel of one attempt, for the page's refresh after a stream event."""
    attempt = _attempt(request, attempt_pk)
    return render(request, "campaigns/_attempt.html", {"a": attempt_context(attempt)})


@qa_required
@require_POST
def step_run(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    item = _plan_item(request, pk, number)
    try:
        attempt = services.attempt_start(plan_item=item, user=request.user)
        messages.success(request, f"{attempt.ordinal} attempt of step {number} queued.")
    except ValidationError as error:
        _fail(request, error)
    return redirect("campaigns:step_detail", pk=pk, number=number)


@qa_required
@require_POST
def campaign_run_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Run every planned step without a final verdict, one after the other, on the station."""
    campaign = _campaign(request, pk)
    try:
        sequence = run_all.campaign_run_all(campaign=campaign, user=request.user)
        messages.success(request, f"Running {len(sequence.items)} step(s) one after the other.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)


@qa_required
@require_POST
def campaign_run_all_stop(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    sequence = campaign.run_alls.filter(status="running").first()
    if sequence and run_all.campaign_run_all_stop(run_all=sequence, user=request.user):
        messages.info(request, "Stopped: the running step was asked to abort.")
    else:
        messages.info(request, "Nothing to stop: the steps are not running.")
    return redirect(campaign)


@qa_required
@require_POST
def step_plan(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    item = _plan_item(request, pk, number)
    form = ApplicabilityForm(request.POST)
    if form.is_valid():
        try:
            services.plan_item_set_applicability(
                plan_item=item,
                applicability=form.cleaned_data["applicability"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
            messages.success(request, "Plan updated.")
        except ValidationError as error:
            _fail(request, error)
    else:
        messages.error(request, f"Plan not changed. {error_text(form)}")
    return redirect("campaigns:step_detail", pk=pk, number=number)


@qa_required
@require_POST
def attempt_abort(request: HttpRequest, attempt_pk: int) -> HttpResponse:
    attempt = _attempt(request, attempt_pk)
    if services.attempt_abort(attempt=attempt):
        messages.info(request, "Abort requested: the step stops at once and keeps what it saw.")
    else:
        attempt.refresh_from_db(fields=["status"])
        status = attempt.get_status_display().lower()
        messages.info(request, f"Nothing to abort: this attempt has ended already ({status}).")
    return redirect(attempt)


@qa_required
@require_POST
def attempt_end_wait(request: HttpRequest, attempt_pk: int) -> HttpResponse:
    attempt = _attempt(request, attempt_pk)
    wait_id = request.POST.get("wait", "")
    try:
        if not wait_id.isdigit():
            raise ValidationError("No wait was given.")
        services.attempt_end_wait(attempt=attempt, wait_id=int(wait_id))
        messages.info(request, "Ending the wait: what it waited for will be not observed.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(attempt)


@qa_required
@require_POST
def attempt_verdict(request: HttpRequest, attempt_pk: int) -> HttpResponse:
    attempt = _attempt(request, attempt_pk)
    form = VerdictForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Verdict not recorded. {error_text(form)}")
        return _step_page(
            request, attempt.plan_item, verdict_form=form, verdict_for=attempt, status=400
        )
    try:
        services.attempt_record_verdict(attempt=attempt, user=request.user, **form.cleaned_data)
        messages.success(request, "Verdict recorded.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(attempt)


@qa_required
@require_POST
def prompt_answer(request: HttpRequest, prompt_pk: int) -> HttpResponse:
    prompt = get_object_or_404(
        Prompt.objects.filter(attempt__in=selectors.attempts_for(user=request.user)), pk=prompt_pk
    )
    form = PromptAnswerForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Choose one of the answers.")
        services.prompt_answer(prompt=prompt, user=request.user, **form.cleaned_data)
    except ValidationError as error:
        _fail(request, error)
    return _back(request, prompt.attempt)


@qa_required
@require_POST
def prompt_simulate(request: HttpRequest, prompt_pk: int) -> HttpResponse:
    """Do a prompt's manual part on the built-in simulator, then answer it "Done"."""
    prompt = get_object_or_404(
        Prompt.objects.filter(attempt__in=selectors.attempts_for(user=request.user)),
        pk=prompt_pk,
        status=PromptStatus.OPEN,
    )
    try:
        services.prompt_do_on_simulator(prompt=prompt, user=request.user)
    except ValidationError as error:
        _fail(request, error)
    return _back(request, prompt.attempt)


def _back(request: HttpRequest, default) -> HttpResponse:
    """Back to the page the form was on (``next``: the campaign page answers prompts too)."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect(default)


@qa_required
@require_POST
def campaign_complete(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        services.campaign_complete(campaign=campaign, user=request.user)
        messages.success(request, "Campaign completed.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)


@qa_required
@require_POST
def campaign_apply_declaration(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        changed = services.campaign_apply_declaration(campaign=campaign, user=request.user)
    except ValidationError as error:
        _fail(request, error)
    else:
        numbers = ", ".join(str(item.function.number) for item in changed) or "none"
        messages.success(request, f"Planned not applicable by the declaration: steps {numbers}.")
    return redirect(campaign)


@qa_required
@require_POST
def campaign_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        services.campaign_reopen(campaign=campaign, user=request.user)
        messages.success(request, "Campaign reopened: steps can be retested.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)


@qa_required
@require_POST
def campaign_reopen_signed_off(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    form = ReopenForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(f"Not reopened. {error_text(form)}")
        services.campaign_reopen_signed_off(
            campaign=campaign, user=request.user, reason=form.cleaned_data["reason"]
        )
        revision = campaign.revision
        messages.success(request, f"Reopened: the report is now revision {revision}, a draft.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)


@qa_required
@require_POST
def campaign_sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    try:
        services.campaign_sign_off(campaign=campaign, user=request.user)
        messages.success(request, "Campaign signed off.")
    except ValidationError as error:
        _fail(request, error)
    return redirect(campaign)


@login_required
@require_GET
def report(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    return render(request, "campaigns/report.html", _report_context(campaign))


@login_required
@require_GET
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from campaigns.report import cycle_collector_paused, render_pdf

    campaign = _campaign(request, pk)
    with cycle_collector_paused():  # the context holds every frame of the appendix
        pdf = render_pdf(request, "campaigns/report.html", _report_context(campaign))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"certlab-{campaign.station.charge_point_id}-{campaign.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def evidence_bundle(request: HttpRequest, pk: int) -> HttpResponse:
    """The report with its evidence, verifiable offline (campaigns.bundle)."""
    from campaigns.bundle import bundle_bytes
    from campaigns.report import cycle_collector_paused, render_pdf

    campaign = _campaign(request, pk)
    with cycle_collector_paused():
        context = _report_context(campaign)
        pdf = render_pdf(request, "campaigns/report.html", context)
    response = HttpResponse(
        bundle_bytes(campaign, pdf=pdf, revision=context["seal"].revision),
        content_type="application/zip",
    )
    name = f"certlab-{campaign.station.charge_point_id}-{campaign.pk}-evidence.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _report_context(campaign: Campaign) -> dict:
    from campaigns.report_data import marks, report_context, running_head

    context = report_context(campaign)
    return {**context, "marks": marks(campaign),
            "running_head": running_head(campaign, context["seal"])}  # fmt: skip
