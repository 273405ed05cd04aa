"""Run all remaining steps of a campaign on its station, one attempt after the other, without
anybody keeping a page open.

The sequence is a row (models.RunAll): the plan items in order and the attempts it started.
When an attempt of it ends, the worker that ran it calls ``run_all_attempt_ended`` and the next
step starts; the worker's sweep (``run_alls_catch_up``) moves on any whose attempt was ended by
someone else (a lost worker). QA's abort of its step stops it at once, in the abort itself
(``campaigns.run_all_end``). A step waiting on a prompt holds the sequence until the prompt
is answered (on the step page or the campaign page) or expires.
The steps and the rules are those of ``manage.py run_campaign`` (campaigns.unattended) and of
the pages (campaigns.services.attempt_start).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from campaigns import selectors, services
from campaigns.events import run_all_changed_sync
from campaigns.models import (
    ACTIVE_STATUSES,
    Attempt,
    Campaign,
    PlanItem,
    RunAll,
    RunAllStatus,
)
from campaigns.run_all_end import STOPS_THE_RUN, run_all_end
from campaigns.unattended import steps_to_run
from stations import registry


def run_all_current(*, campaign: Campaign) -> RunAll | None:
    """The campaign's latest run-all (running or ended), for its page."""
    return campaign.run_alls.select_related("current__plan_item__function").first()


def campaign_run_all(*, campaign: Campaign, user: User, numbers: list[int] | None = None) -> RunAll:
    """Start running the campaign's planned steps without a final verdict, in catalogue order
    (or the steps ``numbers`` names, in that order): the first one starts now."""
    campaign = Campaign.objects.select_related("station").get(pk=campaign.pk)
    if campaign.is_locked:
        raise ValidationError("This campaign is signed off; it can no longer change.")
    if not campaign.takes_attempts:
        raise ValidationError("This campaign is completed: reopen it to run or retest a step.")
    if RunAll.objects.filter(campaign=campaign, status=RunAllStatus.RUNNING).exists():
        raise ValidationError("The remaining steps are already running one after the other.")
    try:
        items = [i for i in steps_to_run(campaign=campaign, numbers=numbers) if _runnable(i)]
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if not items:
        raise ValidationError("Nothing to run: every planned step has a final verdict.")
    if not _online(campaign):
        raise ValidationError(f"{campaign.station} is offline: connect it first.")
    with transaction.atomic():
        run = RunAll.objects.create(
            campaign=campaign, started_by=user, items=[item.pk for item in items]
        )
        # The first step's refusal (the station busy with another attempt) is the caller's to
        # show, and no run is left behind.
        attempt = services.attempt_start(plan_item=items[0], user=user)
        run.current, run.attempts = attempt, [attempt.pk]
        run.save(update_fields=["current", "attempts"])
    run_all_changed_sync(campaign.pk)
    return run


def campaign_run_all_stop(*, run_all: RunAll, user: User) -> bool:
    """Stop the sequence and abort its running step (it keeps what it saw). False when it had
    ended already."""
    with transaction.atomic():
        run = RunAll.objects.select_for_update().get(pk=run_all.pk)
        if not run.is_running:
            return False
        run_all_end(run, RunAllStatus.STOPPED, f"Stopped by {user.get_username()}.")
        current = run.current
    if current is not None:
        services.attempt_abort(attempt=current)
    run_all_changed_sync(run.campaign_id)
    return True


def run_all_attempt_ended(*, attempt_id: int) -> RunAll | None:
    """The sequence this attempt belongs to moves on: the next step starts, or it stops (the
    attempt was aborted, the station went away, nothing is left). None when the attempt is no
    running sequence's current one, or is still running."""
    with transaction.atomic():
        run = (
            RunAll.objects.select_for_update()
            .select_related("current__plan_item__function")
            .filter(current_id=attempt_id, status=RunAllStatus.RUNNING)
            .first()
        )
        if run is None or run.current.status in ACTIVE_STATUSES:
            return None
        ended = run.current
        if why := STOPS_THE_RUN.get(ended.status):
            number = ended.plan_item.function.number
            run_all_end(run, RunAllStatus.STOPPED, why.format(number=number).capitalize() + ".")
        else:
            _start_next(run)
    run_all_changed_sync(run.campaign_id)
    return run


def run_alls_catch_up() -> list[int]:
    """Running sequences whose current attempt ended without their worker moving them on (it
    was aborted before it started, its worker was lost): moved on now. Safe at any time."""
    stuck = RunAll.objects.filter(status=RunAllStatus.RUNNING).exclude(
        current__status__in=ACTIVE_STATUSES
    )
    moved = []
    for run in stuck.only("pk", "current_id"):
        if run.current_id is None:
            with transaction.atomic():
                locked = RunAll.objects.select_for_update().get(pk=run.pk)
                if locked.is_running and locked.current_id is None:
                    run_all_end(locked, RunAllStatus.STOPPED, "Its step's attempt was deleted.")
            moved.append(run.pk)
        elif run_all_attempt_ended(attempt_id=run.current_id):
            moved.append(run.pk)
    return moved


def _start_next(run: RunAll) -> None:
    """The next step of the sequence that is still planned, undecided and not yet run by it."""
    campaign = Campaign.objects.select_related("station").get(pk=run.campaign_id)
    item = _next_item(run, campaign)
    if item is None:
        run_all_end(run, RunAllStatus.FINISHED, "Every step ran.")
        return
    if not _online(campaign):
        run_all_end(run, RunAllStatus.STOPPED, f"{campaign.station} is offline.")
        return
    try:
        attempt = services.attempt_start(plan_item=item, user=run.started_by)
    except ValidationError as error:  # completed or signed off meanwhile, the station busy
        run_all_end(run, RunAllStatus.STOPPED, " ".join(error.messages))
        return
    run.current = attempt
    run.attempts = [*run.attempts, attempt.pk]
    run.save(update_fields=["current", "attempts"])


def _next_item(run: RunAll, campaign: Campaign) -> PlanItem | None:
    # Read afresh each time: QA may have decided a step, or planned it not applicable, since.
    undecided = {item.pk: item for item in selectors.undecided_steps(campaign=campaign)}
    ran = set(Attempt.objects.filter(pk__in=run.attempts).values_list("plan_item_id", flat=True))
    for pk in run.items:
        if pk in undecided and pk not in ran and _runnable(undecided[pk]):
            return undecided[pk]
    return None


def _runnable(item: PlanItem) -> bool:
    """Planned (the chosen steps of ``numbers`` may include steps that are not)."""
    return item.applicability == "planned"


def _online(campaign: Campaign) -> bool:
    cp_id = campaign.station.charge_point_id
    return cp_id in registry.online_ids([cp_id])


def run_all_progress(run: RunAll) -> dict:
    """What the campaign page shows of a sequence: step i of n, the current step with its open
    prompt, and the attempts so far with their proposed verdicts."""
    attempts = {
        a.pk: a
        for a in Attempt.objects.filter(pk__in=run.attempts)
        .select_related("plan_item__function")
        .prefetch_related("prompts")
    }
    done = [attempts[pk] for pk in run.attempts if pk in attempts]
    current = attempts.get(run.current_id) if run.is_running else None
    open_prompt = None
    if current is not None:
        open_prompt = next((p for p in current.prompts.all() if p.status == "open"), None)
    total = len(done)
    if run.is_running:  # and the steps still to come, without those decided meanwhile
        campaign = Campaign.objects.get(pk=run.campaign_id)
        undecided = {item.pk for item in selectors.undecided_steps(campaign=campaign)}
        ran = {attempt.plan_item_id for attempt in done}
        total += sum(1 for pk in run.items if pk in undecided and pk not in ran)
    return {
        "run": run,
        "position": len(done),
        "total": total,
        "current": current,
        "open_prompt": open_prompt,
        "done": [a for a in done if a is not current],
    }
