"""Campaigns, their steps, attempts with criterion results, checks and evidence, and prompts."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.engine.params import PARAMETERS, LabParameters, ParameterSpec
from campaigns.models import (
    Applicability,
    Attempt,
    AttemptNote,
    AuditEntry,
    Campaign,
    Check,
    CriterionResult,
    Prompt,
    RunAll,
    TestFunction,
    Verdict,
)
from certlab import limits


def _is_qa(serializer: serializers.Serializer) -> bool:
    request = serializer.context.get("request")
    return bool(request and request.user.is_qa)


class CriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()


class TestFunctionSerializer(serializers.ModelSerializer):
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = TestFunction
        fields = ["number", "title", "step", "criteria"]


class CampaignSerializer(serializers.ModelSerializer):
    catalogue = serializers.SlugRelatedField(slug_field="version", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    signed_off_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    vendor_acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    manufacturer = serializers.IntegerField(source="station.charger_model.manufacturer_id")
    notes = serializers.SerializerMethodField(help_text="The lab's notes (QA only).")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "station",
            "manufacturer",
            "firmware",
            "update_firmware",
            "catalogue",
            "status",
            "rehearsal",
            "strict",
            "owner",
            "parameters",
            "notes",
            "created",
            "started",
            "completed",
            "signed_off",
            "signed_off_by",
            "revision",
            "shared_with_vendor",
            "vendor_acknowledged",
            "vendor_acknowledged_by",
        ]

    def get_notes(self, obj: Campaign) -> str:
        return obj.notes if _is_qa(self) else ""


class CampaignCreateSerializer(serializers.Serializer):
    """What the new-campaign form asks; a lab parameter not given keeps the mode's default
    (percentages in whole percent, as on the form)."""

    station = serializers.IntegerField()
    firmware = serializers.IntegerField(required=False, allow_null=True)
    update_firmware = serializers.IntegerField(required=False, allow_null=True)
    rehearsal = serializers.BooleanField(required=False, default=False)
    strict = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=limits.NOTE
    )


def _parameter_field(name: str, spec: ParameterSpec) -> serializers.Field:
    default = getattr(LabParameters(), name)
    label = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
    if isinstance(default, bool):
        return serializers.BooleanField(required=False, allow_null=True, help_text=label)
    if isinstance(default, str):
        return serializers.CharField(required=False, max_length=20, help_text=label)
    return serializers.IntegerField(required=False, help_text=label)


for _name, _spec in PARAMETERS.items():
    CampaignCreateSerializer._declared_fields[_name] = _parameter_field(_name, _spec)


class AttemptBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["id", "number", "status", "proposed_verdict", "final_verdict", "queued", "ended"]


class StepSerializer(serializers.Serializer):
    """One row of the campaign table: the step, its plan and its result so far."""

    number = serializers.IntegerField(source="item.function.number")
    title = serializers.CharField(source="item.function.title")
    applicability = serializers.ChoiceField(
        source="item.applicability", choices=Applicability.choices
    )
    reason = serializers.CharField(source="item.reason")
    verdict = serializers.CharField(help_text="A final verdict, or empty while undecided.")
    result = serializers.CharField(help_text="The result as in the report, with the history.")
    criteria = CriterionSerializer(many=True)
    attempts = AttemptBriefSerializer(many=True)


class CampaignDetailSerializer(CampaignSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "steps"]

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, obj: Campaign) -> list[dict]:
        return StepSerializer(self.context["rows"], many=True).data


class ApplicabilitySerializer(serializers.Serializer):
    applicability = serializers.ChoiceField(choices=Applicability.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=limits.REASON
    )


class VerdictSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    result_text = serializers.CharField(
        max_length=limits.RESULT_TEXT,
        help_text="The result as it goes into the report: the vendor reads it.",
    )
    notes = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=limits.NOTE,
        help_text="Internal note, lab only: never shown to the vendor.",
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="None: CertLab itself acted."
    )
    actor_label = serializers.CharField(help_text='Who, as shown: "CertLab (step 12)" too.')
    step = serializers.IntegerField(read_only=True, help_text="The step it concerns, if any.")

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "actor_label", "step", "attempt", "what", "field",
                  "before", "after", "reason", "lab_only"]  # fmt: skip


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=limits.REASON, required=False, allow_blank=True, default="",
        help_text="Why: required to reopen a signed-off campaign; goes into its history.",
    )  # fmt: skip


class EndWaitSerializer(serializers.Serializer):
    wait = serializers.IntegerField(min_value=1, help_text="The id of the attempt's `waiting`.")


class PromptAnswerSerializer(serializers.Serializer):
    choice = serializers.CharField(max_length=40, help_text="One of the prompt's choices.")
    value = serializers.CharField(
        max_length=limits.PROMPT_VALUE, required=False, allow_blank=True, default=""
    )


class PromptSerializer(serializers.ModelSerializer):
    answered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    can_simulate = serializers.SerializerMethodField()

    class Meta:
        model = Prompt
        fields = [
            "id",
            "attempt",
            "text",
            "kind",
            "details",
            "steps",
            "choices",
            "input_label",
            "opened",
            "deadline",
            "status",
            "answer",
            "answer_value",
            "answered_by",
            "answered_at",
            "answered_on_simulator",
            "can_simulate",
        ]

    def get_can_simulate(self, obj: Prompt) -> bool:
        return bool(obj.simulator_action)


class CriterionResultSerializer(serializers.ModelSerializer):
    key = serializers.CharField(source="criterion.key")
    text = serializers.CharField(source="criterion.text")

    class Meta:
        model = CriterionResult
        fields = ["key", "text", "outcome"]


class CheckSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="criterion.key")
    evidence = serializers.JSONField(help_text="The frames that prove the check (id, raw, …).")

    class Meta:
        model = Check
        fields = [
            "id",
            "key",
            "criterion",
            "outcome",
            "level",
            "reference",
            "detail",
            "at",
            "evidence",
        ]


class ProgressSerializer(serializers.ModelSerializer):
    class Meta:
        model = AttemptNote
        fields = ["at", "text"]


class AttemptSerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="plan_item.campaign_id")
    step = serializers.IntegerField(source="plan_item.function.number")
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    notes = serializers.SerializerMethodField(
        help_text="The verdict's internal note (lab only: empty for a vendor)."
    )

    class Meta:
        model = Attempt
        fields = [
            "id",
            "campaign",
            "step",
            "number",
            "station",
            "status",
            "abort_requested",
            "waiting",
            "started_by",
            "queued",
            "started",
            "ended",
            "ending_reason",
            "proposed_verdict",
            "proposed_text",
            "final_verdict",
            "result_text",
            "notes",
            "decided_by",
            "decided_at",
        ]

    def get_notes(self, obj: Attempt) -> str:
        return obj.notes if _is_qa(self) else ""


class AttemptDetailSerializer(AttemptSerializer):
    criterion_results = CriterionResultSerializer(many=True, read_only=True)
    checks = CheckSerializer(many=True, read_only=True)
    prompts = PromptSerializer(many=True, read_only=True)
    progress = ProgressSerializer(many=True, read_only=True)
    attachments = serializers.SerializerMethodField()

    class Meta(AttemptSerializer.Meta):
        fields = [
            *AttemptSerializer.Meta.fields,
            "criterion_results",
            "checks",
            "prompts",
            "progress",
            "attachments",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_attachments(self, obj: Attempt) -> dict:
        # A traceback is CertLab's own trouble: the lab's to read, not a vendor's.
        if _is_qa(self):
            return obj.attachments
        return {k: v for k, v in obj.attachments.items() if k != "traceback"}


class WaitSerializer(serializers.Serializer):
    """What a long-poll returns: the attempt as it is now, and the prompt waited for."""

    attempt = AttemptSerializer()
    prompt = PromptSerializer(allow_null=True)
    ended = serializers.BooleanField()
    timed_out = serializers.BooleanField()


class RunAllRequestSerializer(serializers.Serializer):
    steps = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text="Step numbers in the order to run them (default: every planned step without "
        "a final verdict, in catalogue order).",
    )


class RunAllSerializer(serializers.ModelSerializer):
    """A campaign's "run all remaining steps": the steps in order, the attempts so far."""

    campaign = serializers.IntegerField(source="campaign_id")
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    steps = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()
    attempts = serializers.SerializerMethodField()

    class Meta:
        model = RunAll
        fields = ["id", "campaign", "status", "reason", "started_by", "created", "ended",
                  "steps", "current", "attempts"]  # fmt: skip

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_steps(self, run: RunAll) -> list[int]:
        numbers = dict(run.campaign.plan.values_list("pk", "function__number"))
        return [numbers[pk] for pk in run.items if pk in numbers]

    @extend_schema_field(AttemptSerializer(allow_null=True))
    def get_current(self, run: RunAll) -> dict | None:
        current = run.current if run.is_running else None
        return AttemptSerializer(current).data if current else None

    @extend_schema_field(AttemptSerializer(many=True))
    def get_attempts(self, run: RunAll) -> list[dict]:
        attempts = Attempt.objects.filter(pk__in=run.attempts).select_related(
            "plan_item__function", "started_by", "decided_by"
        )
        return AttemptSerializer(sorted(attempts, key=lambda a: a.pk), many=True).data
