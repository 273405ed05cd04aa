"""Campaigns, their plans, attempts, results, prompts and the catalogue they test against."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.urls import reverse


class CatalogueVersion(models.Model):
    """A version of the test catalogue, loaded from campaigns/catalogue/<version>.json."""

    version = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    source = models.TextField(blank=True)
    loaded = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.version


class TestFunction(models.Model):
    catalogue = models.ForeignKey(
        CatalogueVersion, on_delete=models.PROTECT, related_name="functions"
    )
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    step = models.CharField(max_length=60, help_text="The step module that automates it.")

    class Meta:
        ordering = ["catalogue", "number"]
        constraints = [
            models.UniqueConstraint(fields=["catalogue", "number"], name="unique_function_number")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Criterion(models.Model):
    function = models.ForeignKey(TestFunction, on_delete=models.PROTECT, related_name="criteria")
    key = models.CharField(max_length=10, help_text="Stable id, e.g. 3.b")
    text = models.TextField(help_text="Verbatim from the test report.")
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["function", "order"]
        constraints = [
            models.UniqueConstraint(fields=["function", "key"], name="unique_criterion_key")
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def parts(self) -> tuple[str, list[str]]:
        """The text and its own sub-items ("i. …", "ii. …", as 3.d has), for nested lists."""
        head, *items = SUB_ITEM.split(self.text)
        return head.strip(), [item.strip() for item in items]


# A sub-item starts with a small roman numeral and a full stop after a space: " ii. If in error".
SUB_ITEM = re.compile(r"\s+(?=(?:i{1,3}|iv|v|vi{1,3})\.\s)")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    SIGNED_OFF = "signed_off", "Signed off"


class Campaign(models.Model):
    station = models.ForeignKey(
        "stations.Station", on_delete=models.PROTECT, related_name="campaigns"
    )
    firmware = models.ForeignKey(
        "stations.FirmwareVersion",
        on_delete=models.PROTECT,
        related_name="campaigns",
        null=True,
        blank=True,
        verbose_name="firmware under test",
    )
    update_firmware = models.ForeignKey(
        "stations.FirmwareVersion",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name="firmware to install in the update test",
    )
    catalogue = models.ForeignKey(CatalogueVersion, on_delete=models.PROTECT)
    status = models.CharField(max_length=12, choices=CampaignStatus.choices, default="draft")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_campaigns",
        verbose_name="QA owner",
    )  # fmt: skip
    parameters = models.JSONField(default=dict, blank=True, help_text="Lab parameters")
    rehearsal = models.BooleanField(
        default=False,
        help_text="Fast mode for practice: never a certification, never signed off.",
    )
    firmware_after_update = models.ForeignKey(
        "stations.FirmwareVersion",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="What the firmware-update step (12) installed, once the station booted on it.",
    )
    firmware_update_attempt = models.ForeignKey(
        "Attempt",
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        help_text="The step-12 attempt that installed firmware_after_update.",
    )
    # The evidence digest over the verdicts and their attempts' chain heads (campaigns.evidence),
    # and each verdict row's [name, hash]; resealed when a verdict changes and at sign-off.
    evidence_digest = models.CharField(max_length=64, blank=True)
    evidence_rows = models.JSONField(default=list, blank=True)
    # The report's revision: 1, raised each time a signed-off campaign is reopened.
    revision = models.PositiveSmallIntegerField("report revision", default=1)
    notes = models.TextField(blank=True)
    strict = models.BooleanField(
        "strict (OCTT) mode",
        default=False,
        help_text="Findings beyond the lab's criteria (OCTT rules) decide the proposed verdicts "
        "too; otherwise they are shown to QA apart.",
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    completed = models.DateTimeField(null=True, blank=True)
    signed_off = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="signed_off_campaigns",
    )  # fmt: skip
    # Who outside the lab sees the campaign: its vendor only once QA share it (or sign it off),
    # so a draft and its first rough attempts stay the lab's (campaigns.selectors.campaigns_for).
    shared_with_vendor = models.DateTimeField(null=True, blank=True)
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    vendor_acknowledged = models.DateTimeField(null=True, blank=True)
    vendor_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        firmware = self.firmware.version if self.firmware else "unknown firmware"
        return f"{self.station.charger_model} {firmware} on {self.station}"

    def get_absolute_url(self) -> str:
        return reverse("campaigns:campaign_detail", args=[self.pk])

    @property
    def manufacturer(self):
        return self.station.charger_model.manufacturer

    @property
    def is_locked(self) -> bool:
        return self.status == CampaignStatus.SIGNED_OFF

    @property
    def is_signed_off(self) -> bool:
        return self.status == CampaignStatus.SIGNED_OFF

    @property
    def vendor_can_see(self) -> bool:
        """The rule campaigns.selectors.VENDOR_SEES applies in queries, for one campaign."""
        return self.shared_with_vendor is not None or self.is_signed_off

    @property
    def takes_attempts(self) -> bool:
        """A completed campaign takes no new attempts until it is reopened."""
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.RUNNING)

    @property
    def current_firmware(self):
        """The firmware the station runs now: the update's once step 12 installed it."""
        return self.firmware_after_update or self.firmware


class Applicability(models.TextChoices):
    PLANNED = "planned", "Planned"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NOT_SUPPORTED_BY_LAB = "not_supported_by_lab", "Not supported by the lab"


class PlanItem(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="plan")
    function = models.ForeignKey(TestFunction, on_delete=models.PROTECT)
    applicability = models.CharField(
        max_length=24, choices=Applicability.choices, default=Applicability.PLANNED
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["function__number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "function"], name="unique_plan_function")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.function}"


class AttemptStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    STATION_OFFLINE = "station_offline", "Station went offline"
    TIMED_OUT = "timed_out", "Timed out"
    ABORTED = "aborted", "Aborted"
    INTERRUPTED = "interrupted", "Interrupted (worker lost)"
    ERROR = "error", "Failed to run"


ACTIVE_STATUSES = (AttemptStatus.QUEUED, AttemptStatus.RUNNING)


class ProposedVerdict(models.TextChoices):
    OK = "ok", "Ok"
    FAILED = "failed", "Failed"
    INCOMPLETE = "incomplete", "Incomplete"


class Verdict(models.TextChoices):
    OK = "ok", "Ok"
    FAILED = "failed", "Failed"
    NOT_SUPPORTED = "not_supported", "Not supported"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Attempt(models.Model):
    """One run of one step; a retest is a new attempt and the old ones stay."""

    plan_item = models.ForeignKey(PlanItem, on_delete=models.CASCADE, related_name="attempts")
    # Denormalised so the database itself allows one active attempt per station.
    station = models.ForeignKey("stations.Station", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default="queued")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    queued = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    ended = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    abort_requested = models.BooleanField(default=False)
    # The long wait the step is in ({"id", "what", "started", "until", "silent_since"}), shown on
    # the step page, and the id of a wait QA asked to end (given up as not observed).
    waiting = models.JSONField(null=True, blank=True)
    end_wait_requested = models.PositiveIntegerField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    strict = models.BooleanField(
        default=False, help_text="Judged in strict (OCTT) mode: findings decided the verdict."
    )
    firmware = models.ForeignKey(
        "stations.FirmwareVersion",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name="firmware it ran on",
    )
    ending_reason = models.TextField(blank=True)
    proposed_verdict = models.CharField(max_length=12, choices=ProposedVerdict.choices, blank=True)
    proposed_text = models.TextField(blank=True)
    final_verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    result_text = models.TextField(
        "result (in the report)",
        blank=True,
        help_text="What the report states; the vendor reads it.",
    )
    # The internal note: QA's working note on the verdict, never shown to a vendor (pages, report,
    # exports, API); its changes are lab-only in the audit trail too.
    notes = models.TextField(
        "internal note (lab only)", blank=True, help_text="Never shown to the vendor."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    attachments = models.JSONField(default=dict, blank=True)
    # The tamper-evident record (campaigns.evidence), sealed when the attempt ends: the chain
    # head over its frames and checks, each row's [name, hash], and the last frame id it took.
    evidence_head = models.CharField(max_length=64, blank=True)
    evidence_rows = models.JSONField(default=list, blank=True)
    evidence_last_frame = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["plan_item", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan_item", "number"], name="unique_attempt_number"),
            models.UniqueConstraint(
                fields=["station"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_attempt_per_station",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_item.function.number}.{self.number}"

    def get_absolute_url(self) -> str:
        return (
            reverse(
                "campaigns:step_detail",
                args=[self.plan_item.campaign_id, self.plan_item.function.number],
            )
            + f"#attempt-{self.pk}"
        )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def ordinal(self) -> str:
        return {1: "1st", 2: "2nd", 3: "3rd"}.get(self.number, f"{self.number}th")


class Outcome(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    NOT_OBSERVED = "not_observed", "Not observed"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    FLAGGED = "flagged", "For QA to judge"


class CheckLevel(models.TextChoices):
    CRITERION = "criterion", "Lab criterion"
    FINDING = "finding", "Finding beyond the criterion"


class CriterionResult(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="criterion_results")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        ordering = ["criterion__order"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "criterion"], name="unique_result")
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}: {self.outcome}"


class Check(models.Model):
    """One automated check behind a criterion's outcome, with the frames that prove it."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="checks")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT)
    key = models.CharField(max_length=60)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    level = models.CharField(max_length=10, choices=CheckLevel.choices, default="criterion")
    reference = models.CharField(max_length=80, blank=True, help_text="e.g. OCTT TC_012")
    detail = models.TextField()
    evidence = models.JSONField(default=list, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.key}: {self.outcome}"


class AttemptNote(models.Model):
    """A progress line of a running attempt."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="progress")
    at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class PromptStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class Prompt(models.Model):
    """A manual part of a step: the operator does something and says so."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="prompts")
    text = models.TextField()
    choices = models.JSONField(default=list)
    input_label = models.CharField(max_length=100, blank=True)
    # What the manual part is, for scripts: "present_tag" with {"connector_id": 1, "id_tag": …}.
    kind = models.CharField(max_length=40, blank=True)
    details = models.JSONField(default=dict, blank=True)
    simulator_action = models.JSONField(null=True, blank=True)
    # Timed actions in order ([{"text", "seconds"}]), each shown with its own countdown.
    steps = models.JSONField(default=list, blank=True)
    opened = models.DateTimeField(auto_now_add=True)
    deadline = models.DateTimeField()
    status = models.CharField(max_length=10, choices=PromptStatus.choices, default="open")
    answer = models.CharField(max_length=40, blank=True)
    answer_value = models.CharField(max_length=200, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # The built-in simulator did the manual part (at answered_by's request), not a person.
    answered_on_simulator = models.BooleanField(default=False)

    class Meta:
        ordering = ["opened", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class RunAllStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    STOPPED = "stopped", "Stopped"


class RunAll(models.Model):
    """ "Run all remaining steps": the plan items to run, in order, one attempt after the other.
    Kept in the database and advanced by the worker when an attempt ends (campaigns.run_all),
    so it goes on when the browser that started it is closed."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="run_alls")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    items = models.JSONField(default=list, help_text="Plan item ids in the order they run.")
    attempts = models.JSONField(default=list, help_text="Attempt ids it started, in order.")
    current = models.ForeignKey(
        Attempt, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=RunAllStatus.choices, default=RunAllStatus.RUNNING
    )
    reason = models.TextField(blank=True, help_text="Why it ended.")
    created = models.DateTimeField(auto_now_add=True)
    ended = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign"],
                condition=models.Q(status="running"),
                name="one_running_run_all_per_campaign",
            )
        ]

    def __str__(self) -> str:
        return f"run all of campaign {self.campaign_id} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status == RunAllStatus.RUNNING


class AuditEntry(models.Model):
    """One change to what a report says: who (a user, or CertLab itself), when, what, before and
    after, and why. Written by campaigns.services in the change's own transaction (campaigns.audit)
    and never changed nor deleted. A station's expected firmware changed in the catalogue has no
    campaign: it belongs to the history of each campaign of the station open at the time."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="audit", null=True, blank=True
    )
    station = models.ForeignKey("stations.Station", on_delete=models.CASCADE, related_name="+")
    plan_item = models.ForeignKey(
        PlanItem, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    attempt = models.ForeignKey(
        Attempt, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True,
        blank=True,
    )  # fmt: skip
    # Who, as shown: the user's name at the time, or "CertLab (step 12)" when CertLab acted.
    actor_label = models.CharField(max_length=150)
    at = models.DateTimeField()
    what = models.CharField(max_length=40, help_text="Machine key, e.g. verdict.result_text")
    field = models.CharField(max_length=80, help_text="What changed, for people")
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    lab_only = models.BooleanField(default=False, help_text="Never shown to vendors.")

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["campaign", "-at"], name="audit_campaign_at"),
            models.Index(fields=["station", "-at"], name="audit_station_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.field}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("An audit entry is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("An audit entry is never deleted.")

    @property
    def step(self) -> int | None:
        return self.plan_item.function.number if self.plan_item_id else None

    @property
    def subject(self) -> str:
        """What changed as the history shows it: "Step 3, 1st attempt: Verdict"."""
        if not self.step:
            return self.field
        attempt = f", {self.attempt.ordinal} attempt" if self.attempt_id else ""
        return f"Step {self.step}{attempt}: {self.field}"
