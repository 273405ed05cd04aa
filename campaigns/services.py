"""Campaign actions: create, plan, start and abort attempts, answer prompts, record verdicts,
complete and sign off. Views and tasks call these; nothing else writes campaign state."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from campaigns import audit, vendor
from campaigns.catalogue import sync_catalogue
from campaigns.engine import needs
from campaigns.engine.params import LabParameters
from campaigns.engine.prompts import SimulatorAction
from campaigns.events import attempt_changed_sync, campaign_changed_sync
from campaigns.models import (
    Applicability,
    Attempt,
    Campaign,
    CampaignStatus,
    CatalogueVersion,
    Criterion,
    PlanItem,
    Prompt,
    PromptStatus,
    TestFunction,
    Verdict,
)
from campaigns.recovery import attempts_end_aborted
from campaigns.run_all_end import run_all_stop_on_abort
from campaigns.sealing import campaign_seal
from stations.models import FirmwareVersion, Station


class StationBusy(ValidationError):
    pass


def catalogue_current() -> CatalogueVersion:
    return sync_catalogue(CatalogueVersion, TestFunction, Criterion)


@transaction.atomic
def campaign_create(
    *,
    station: Station,
    owner: User,
    firmware: FirmwareVersion | None = None,
    update_firmware: FirmwareVersion | None = None,
    parameters: LabParameters | None = None,
    notes: str = "",
    strict: bool = False,
) -> Campaign:
    """A campaign planning every function of the current catalogue. Fast-mode parameters make a
    rehearsal (a flag of its own, so lists and sign-off need not read the parameters)."""
    catalogue = catalogue_current()
    firmware = firmware or station.expected_firmware
    parameters = parameters or LabParameters()
    campaign = Campaign.objects.create(
        station=station,
        firmware=firmware,
        update_firmware=update_firmware or _update_target(station, firmware),
        catalogue=catalogue,
        owner=owner,
        parameters=parameters.as_dict(),
        rehearsal=parameters.rehearsal or parameters.answer_prompts_on_simulator,
        notes=notes,
        strict=strict,
    )
    capabilities = station.capabilities
    PlanItem.objects.bulk_create(
        _planned(campaign, function, needs.step_lacks(capabilities, function.number))
        for function in catalogue.functions.all()
    )
    pk = campaign.pk  # the home page's tiles count it
    transaction.on_commit(lambda: campaign_changed_sync(pk, "created"))
    return campaign


def _planned(campaign: Campaign, function: TestFunction, lacking: str | None) -> PlanItem:
    """A plan item, not applicable with the reason when the station's declaration rules the
    step out (campaigns/engine/needs.py)."""
    if lacking is None:
        return PlanItem(campaign=campaign, function=function)
    return PlanItem(
        campaign=campaign,
        function=function,
        applicability=Applicability.NOT_APPLICABLE,
        reason=lacking,
    )


@transaction.atomic
def campaign_apply_declaration(*, campaign: Campaign, user: User | None = None) -> list[PlanItem]:
    """Steps still planned and never run that the station's declaration now rules out (it was
    changed after the campaign was planned) become not applicable, with the reason."""
    from campaigns.selectors import declaration_drift

    _unlocked(campaign)
    changed = []
    for item, reason in declaration_drift(campaign=campaign):
        before = item.get_applicability_display()
        item.applicability, item.reason = Applicability.NOT_APPLICABLE, reason
        item.save(update_fields=["applicability", "reason"])
        audit.record(campaign=campaign, user=user, what=audit.APPLICABILITY, field="Applicability",
                     before=before, after=item.get_applicability_display(), plan_item=item,
                     reason=reason, by="station declaration")  # fmt: skip
        changed.append(item)
    if changed:
        campaign_seal(campaign)
    return changed


def _update_target(station: Station, firmware: FirmwareVersion | None) -> FirmwareVersion | None:
    """The newest other firmware of the model with a file, else the one under test (if it has
    a file): what the firmware-update step installs unless QA choose another."""
    with_file = FirmwareVersion.objects.filter(charger_model=station.charger_model).exclude(file="")
    other = with_file.exclude(pk=firmware.pk) if firmware else with_file
    return (
        other.order_by("-created", "-pk").first()
        or with_file.filter(pk=getattr(firmware, "pk", None)).first()
    )


def _unlocked(campaign: Campaign) -> None:
    if campaign.is_locked:
        raise ValidationError("This campaign is signed off; it can no longer change.")


@transaction.atomic
def plan_item_set_applicability(
    *, plan_item: PlanItem, applicability: str, reason: str, user: User | None = None
) -> None:
    campaign = plan_item.campaign
    _unlocked(campaign)
    if applicability not in Applicability.values:
        raise ValidationError(f"Unknown applicability {applicability!r}.")
    if applicability != Applicability.PLANNED and not reason.strip():
        raise ValidationError("Say why the step is not applicable or not supported.")
    before, before_reason = plan_item.get_applicability_display(), plan_item.reason
    plan_item.applicability = applicability
    plan_item.reason = reason.strip() if applicability != Applicability.PLANNED else ""
    plan_item.save(update_fields=["applicability", "reason"])
    after = plan_item.get_applicability_display()
    if before != after:
        audit.record(campaign=campaign, user=user, what=audit.APPLICABILITY,
                     field="Applicability", before=before, after=after, plan_item=plan_item,
                     reason=plan_item.reason)  # fmt: skip
    else:
        audit.record(campaign=campaign, user=user, what=audit.PLAN_REASON, field="Reason",
                     before=before_reason, after=plan_item.reason, plan_item=plan_item)  # fmt: skip
    campaign_seal(campaign)


def attempt_start(*, plan_item: PlanItem, user: User) -> Attempt:
    """Queue a new attempt (a retest when there were others) and its task after commit."""
    from campaigns.tasks import run_attempt

    # Read the campaign afresh: the caller's copy may predate a completion or step 12's update.
    campaign = Campaign.objects.select_related("station", "firmware", "firmware_after_update").get(
        pk=plan_item.campaign_id
    )
    _unlocked(campaign)
    if not campaign.takes_attempts:
        raise ValidationError("This campaign is completed: reopen it to run or retest a step.")
    if plan_item.applicability != Applicability.PLANNED:
        raise ValidationError("This step is not planned: mark it planned first.")
    try:
        with transaction.atomic():
            number = (plan_item.attempts.aggregate(n=Max("number"))["n"] or 0) + 1
            attempt = Attempt.objects.create(
                plan_item=plan_item,
                station=campaign.station,
                number=number,
                started_by=user,
                parameters=campaign.parameters,
                strict=campaign.strict,
                # One attempt per station at a time: nothing can change it before this one runs.
                firmware=campaign.current_firmware,
            )
            if campaign.status == CampaignStatus.DRAFT:
                campaign.status = CampaignStatus.RUNNING
                campaign.started = timezone.now()
                campaign.save(update_fields=["status", "started"])
                plan_item.campaign.status, plan_item.campaign.started = (
                    campaign.status,
                    campaign.started,
                )
                pk = campaign.pk  # the home page's tiles count it running
                transaction.on_commit(lambda: campaign_changed_sync(pk, "started"))
            transaction.on_commit(lambda: run_attempt.delay(attempt.pk))
    except IntegrityError:
        raise StationBusy(
            f"{campaign.station} is already running a step: one attempt per station at a time."
        ) from None
    return attempt


def attempt_abort(*, attempt: Attempt) -> bool:
    """The worker running it stops it within a poll; one that nobody runs (still queued, or its
    worker gone) ends here and now. A "run all" on it stops at once. False when the attempt had
    ended already (nothing asked)."""
    updated = Attempt.objects.filter(pk=attempt.pk, status__in=["queued", "running"]).update(
        abort_requested=True
    )
    if updated:
        run_all_stop_on_abort(attempt=attempt)
        attempt_changed_sync(attempt.pk, "status")
        attempts_end_aborted()
    return bool(updated)


def attempt_end_wait(*, attempt: Attempt, wait_id: int) -> None:
    """QA give up on the long wait the step page shows (the station stays silent): the worker
    ends it and what it waited for is not observed (engine/waits)."""
    updated = Attempt.objects.filter(pk=attempt.pk, status="running", waiting__id=wait_id).update(
        end_wait_requested=wait_id
    )
    if not updated:
        raise ValidationError("That wait is over already.")
    attempt_changed_sync(attempt.pk, "wait")


def prompt_answer(
    *, prompt: Prompt, user: User, choice: str, value: str = "", on_simulator: bool = False
) -> None:
    if choice not in prompt.choices:
        raise ValidationError(f"{choice!r} is not one of the answers offered.")
    updated = Prompt.objects.filter(pk=prompt.pk, status=PromptStatus.OPEN).update(
        status=PromptStatus.ANSWERED,
        answer=choice,
        answer_value=value.strip()[:200],
        answered_by=user,
        answered_at=timezone.now(),
        answered_on_simulator=on_simulator,
    )
    if not updated:
        raise ValidationError(_closed_prompt_text(prompt))
    attempt_changed_sync(prompt.attempt_id, "prompt")


def _closed_prompt_text(prompt: Prompt) -> str:
    """What became of a prompt a stale page tried to answer."""
    prompt.refresh_from_db(fields=["status", "answer", "answered_by"])
    if prompt.status == PromptStatus.ANSWERED:
        who = prompt.answered_by.get_username() if prompt.answered_by else "someone"
        return f"This prompt is no longer open: {who} answered it {prompt.answer!r}."
    if prompt.status == PromptStatus.EXPIRED:
        return "This prompt is no longer open: its time ran out (not observed)."
    return "This prompt is no longer open: the step ended."


def prompt_do_on_simulator(*, prompt: Prompt, user: User) -> None:
    """The "do it on the simulator" button: the simulator performs the prompt's manual part
    (DataTransfer remote control), then the prompt is answered "Done" for the waiting step."""
    from stations import bus

    if not prompt.simulator_action or not prompt.attempt.station.is_simulator:
        raise ValidationError("This prompt has nothing the simulator can do.")
    if prompt.status != PromptStatus.OPEN:
        raise ValidationError("This prompt is no longer open.")
    stored = prompt.simulator_action
    action = SimulatorAction(stored["name"], stored.get("kwargs", {}))
    try:
        reply = bus.call_sync(
            prompt.attempt.station, "DataTransfer", action.data_transfer(), timeout=10
        )
    except bus.BusError as error:
        raise ValidationError(f"The simulator could not be reached: {error}") from None
    if reply.get("status") != "Accepted":
        raise ValidationError(f"The simulator answered {reply.get('status')}.")
    prompt_answer(
        prompt=prompt,
        user=user,
        choice=prompt.choices[0],
        value=action.answer_value,
        on_simulator=True,
    )


def lab_tags_prepare(*, params: LabParameters) -> None:
    """The campaign's valid idTag is Accepted on the lab's list and its invalid one is not."""
    from stations.models import AuthorizationTag

    AuthorizationTag.objects.update_or_create(
        id_tag=params.valid_id_tag, defaults={"status": "Accepted", "expiry_date": None}
    )
    AuthorizationTag.objects.filter(id_tag=params.invalid_id_tag).update(status="Invalid")


def attempt_record_verdict(
    *, attempt: Attempt, user: User, verdict: str, result_text: str, notes: str = ""
) -> None:
    with transaction.atomic():
        _record_verdict(attempt, user, verdict, result_text.strip(), notes.strip())
    # After the commit: the page that reloads on this event must find the verdict.
    attempt_changed_sync(attempt.pk, "verdict")


def _record_verdict(attempt: Attempt, user: User, verdict: str, result_text: str, notes: str):
    campaign = attempt.plan_item.campaign
    _unlocked(campaign)
    if attempt.is_active:
        raise ValidationError("The attempt is still running: wait for it to end or abort it.")
    if verdict not in Verdict.values:
        raise ValidationError(f"Unknown verdict {verdict!r}.")
    if not result_text:
        raise ValidationError("Write the result text as it goes into the report.")
    # Before: as stored now (locked), not as the caller's copy last saw it.
    current = Attempt.objects.select_for_update().get(pk=attempt.pk)
    before = (_verdict_label(current.final_verdict), current.result_text, current.notes)
    attempt.final_verdict = verdict
    attempt.result_text = result_text
    attempt.notes = notes
    attempt.decided_by = user
    attempt.decided_at = timezone.now()
    attempt.save(
        update_fields=["final_verdict", "result_text", "notes", "decided_by", "decided_at"]
    )
    after = (_verdict_label(attempt.final_verdict), attempt.result_text, attempt.notes)
    for (what, field), old, new in zip(VERDICT_FIELDS, before, after, strict=True):
        audit.record(campaign=campaign, user=user, what=what, field=field, before=old, after=new,
                     attempt=attempt)  # fmt: skip
    campaign_seal(campaign)


VERDICT_FIELDS = [
    (audit.VERDICT, "Verdict"),
    (audit.RESULT_TEXT, "Result text"),
    (audit.NOTES, "Internal note"),
]


def _verdict_label(value: str) -> str:
    return Verdict(value).label if value in Verdict.values else value


@transaction.atomic
def campaign_complete(*, campaign: Campaign, user: User | None = None) -> None:
    """Every planned step needs a final verdict; the refusal names those that have none."""
    from campaigns.selectors import undecided_steps

    _unlocked(campaign)
    if Attempt.objects.filter(plan_item__campaign=campaign, status__in=["queued", "running"]):
        raise ValidationError("A step is still running.")
    if campaign.status == CampaignStatus.COMPLETED:
        raise ValidationError("This campaign is already completed.")
    if missing := undecided_steps(campaign=campaign):
        raise ValidationError(
            f"Steps without a final verdict: {_step_list(missing)}. Decide them, or mark them "
            "not applicable or not supported with a reason."
        )
    before = campaign.get_status_display()
    campaign.status = CampaignStatus.COMPLETED
    campaign.completed = timezone.now()
    campaign.save(update_fields=["status", "completed"])
    _record_status(campaign, user, before)


@transaction.atomic
def campaign_reopen(*, campaign: Campaign, user: User | None = None, reason: str = "") -> None:
    """A completed campaign back to running, so that steps can be retested. Reopening a
    signed-off campaign is a different, audited act (issue 10's evidence work)."""
    _unlocked(campaign)
    if campaign.status != CampaignStatus.COMPLETED:
        raise ValidationError("Only a completed campaign can be reopened.")
    before = campaign.get_status_display()
    campaign.status = CampaignStatus.RUNNING
    campaign.completed = None
    campaign.save(update_fields=["status", "completed"])
    _record_status(campaign, user, before, reason=reason.strip())


@transaction.atomic
def campaign_reopen_signed_off(*, campaign: Campaign, user: User, reason: str) -> None:
    """The explicit undoing of a sign-off: only with a reason, recorded in the history with the
    new report revision. The campaign runs again (its evidence no longer frozen); a new sign-off
    seals the verdicts afresh."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the signed-off campaign is reopened.")
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != CampaignStatus.SIGNED_OFF:
        raise ValidationError("This campaign is not signed off: nothing to reopen this way.")
    before, revision = locked.get_status_display(), locked.revision
    campaign.status, campaign.revision = CampaignStatus.RUNNING, revision + 1
    campaign.completed = campaign.signed_off = campaign.signed_off_by = None
    # The vendor acknowledged the report of the old revision, not the one to come: kept, the
    # report would print an acknowledgement of a text the vendor never read.
    acknowledged = locked.vendor_acknowledged is not None
    campaign.vendor_acknowledged = campaign.vendor_acknowledged_by = None
    campaign.save(
        update_fields=["status", "revision", "completed", "signed_off", "signed_off_by",
                       "vendor_acknowledged", "vendor_acknowledged_by"]
    )  # fmt: skip
    _record_status(campaign, user, before, reason=reason)
    audit.record(campaign=campaign, user=user, what=audit.REVISION, field="Report revision",
                 before=revision, after=campaign.revision, reason=reason)  # fmt: skip
    if acknowledged:
        audit.record(campaign=campaign, user=user, what=audit.ACKNOWLEDGEMENT,
                     field="Report acknowledged by the vendor",
                     before=f"Acknowledged (revision {revision})", after="Not acknowledged",
                     reason=f"The acknowledgement was of revision {revision}.")  # fmt: skip
    campaign_seal(campaign)  # the digest names the new revision


@transaction.atomic
def campaign_sign_off(*, campaign: Campaign, user: User) -> None:
    """A rehearsal can never be signed off: its fast intervals certify nothing."""
    from campaigns.selectors import undecided_steps

    if campaign.status == CampaignStatus.SIGNED_OFF:
        raise ValidationError("This campaign is already signed off.")
    if campaign.rehearsal:
        raise ValidationError(
            "A rehearsal cannot be signed off: it is not a certification. Create a campaign "
            "without fast mode to certify the station."
        )
    if campaign.status != CampaignStatus.COMPLETED:
        raise ValidationError("Complete the campaign before signing it off.")
    if missing := undecided_steps(campaign=campaign):
        raise ValidationError(f"Steps without a final verdict: {_step_list(missing)}.")
    before = campaign.get_status_display()
    campaign.status = CampaignStatus.SIGNED_OFF
    campaign.signed_off = timezone.now()
    campaign.signed_off_by = user
    fields = ["status", "signed_off", "signed_off_by"]
    sharing = campaign.shared_with_vendor is None
    if sharing:  # the certified report is the vendor's, reopened or not
        campaign.shared_with_vendor, campaign.shared_by = campaign.signed_off, user
        fields += ["shared_with_vendor", "shared_by"]
    campaign.save(update_fields=fields)
    campaign_seal(campaign)
    _record_status(campaign, user, before)
    if sharing:
        reason = "Signed off: the certified report is the vendor's."
        vendor.sharing_record(campaign=campaign, user=user, was_shared=False, reason=reason)


def _record_status(campaign: Campaign, user: User | None, before: str, reason: str = "") -> None:
    # Every change of a campaign's status comes here: the home page hears it once committed.
    pk = campaign.pk
    transaction.on_commit(lambda: campaign_changed_sync(pk, "status"))
    audit.record(campaign=campaign, user=user, what=audit.STATUS, field="Status", before=before,
                 after=campaign.get_status_display(), reason=reason)  # fmt: skip


def _step_list(items: list[PlanItem]) -> str:
    return ", ".join(f"{item.function.number} ({item.function.title})" for item in items)


@transaction.atomic
def attempt_record_firmware_installed(*, attempt: Attempt, version: str) -> None:
    """Step 12 saw the station boot on `version`: the campaign's steps from now on run on it and
    the station's record expects it, so the next campaign's boot check holds. The campaign keeps
    the change (which attempt, from what, to what) for the report."""
    campaign = attempt.plan_item.campaign
    station = campaign.station
    installed = FirmwareVersion.objects.filter(
        charger_model_id=station.charger_model_id, version=version
    ).first()
    if installed is None:
        return  # a version the lab does not know: the step's checks say what the station reported
    by = f"step {attempt.plan_item.function.number}"
    audit.record(campaign=campaign, user=None, what=audit.FIRMWARE_AFTER_UPDATE,
                 field="Firmware after update", before=_version(campaign.firmware_after_update),
                 after=installed.version, attempt=attempt, by=by)  # fmt: skip
    campaign.firmware_after_update = installed
    campaign.firmware_update_attempt = attempt
    campaign.save(update_fields=["firmware_after_update", "firmware_update_attempt"])
    if station.expected_firmware_id != installed.pk:
        audit.record(campaign=campaign, user=None, what=audit.EXPECTED_FIRMWARE,
                     field="Station's expected firmware",
                     before=_version(station.expected_firmware), after=installed.version,
                     attempt=attempt, by=by)  # fmt: skip
        station.expected_firmware = installed
        station.save(update_fields=["expected_firmware"])


def _version(firmware: FirmwareVersion | None) -> str:
    return firmware.version if firmware else ""
