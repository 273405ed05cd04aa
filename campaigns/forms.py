"""Campaign forms: creating a campaign with its lab parameters, planning, prompts, verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from django import forms
from django.forms.models import ModelChoiceIterator

from campaigns.engine.params import PARAMETERS, LabParameters, ParameterSpec
from campaigns.models import Applicability, CampaignStatus, Verdict
from certlab import limits
from stations.models import FirmwareVersion, Station


class FirmwareChoiceIterator(ModelChoiceIterator):
    """The firmware options in one <optgroup> per charger model, only the shown model's if the
    field has one (`shown_model_id`)."""

    def __iter__(self) -> Iterator:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        versions = self.queryset.order_by(
            "charger_model__manufacturer__name", "charger_model__name", "charger_model_id",
            "-created",
        )  # fmt: skip
        if self.field.shown_model_id is not None:
            versions = versions.filter(charger_model_id=self.field.shown_model_id)
        for model, group in groupby(versions, key=lambda firmware: firmware.charger_model):
            yield (str(model), [self.choice(firmware) for firmware in group])


class FirmwareChoiceField(forms.ModelChoiceField):
    """Validates against its whole queryset: the form's clean() explains a wrong model's
    firmware, which "not one of the available choices" would not."""

    iterator = FirmwareChoiceIterator
    shown_model_id: int | None = None

    def label_from_instance(self, obj: FirmwareVersion) -> str:
        return obj.version


class CampaignForm(forms.Form):
    station = forms.ModelChoiceField(queryset=Station.objects.none())
    firmware = FirmwareChoiceField(
        queryset=FirmwareVersion.objects.none(),
        required=False,
        label="Firmware under test",
        help_text="Defaults to the station's expected firmware.",
    )
    update_firmware = FirmwareChoiceField(
        queryset=FirmwareVersion.objects.none(),
        required=False,
        label="Firmware to install in the update test (step 12)",
        help_text="Needs a file. Defaults to the newest other version of the model.",
    )
    rehearsal = forms.BooleanField(
        required=False,
        label="Rehearsal (fast mode)",
        help_text="Short intervals; on the built-in simulator the simulator does the manual parts.",
    )
    strict = forms.BooleanField(
        required=False,
        label="Strict (OCTT) mode",
        help_text="Findings beyond the lab's acceptance criteria (OCTT rules such as a "
        "StatusNotification for connector 0 after a boot) decide the proposed verdicts too. "
        "Otherwise they are shown to QA apart and the lab's criteria alone decide.",
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=limits.NOTE,
        help_text="For the lab: shown on the campaign page to QA, not to vendors or in the report.",
    )

    def __init__(self, *args, stations, firmware, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations
        self.fields["firmware"].queryset = firmware
        self.fields["update_firmware"].queryset = firmware.exclude(file="")
        station = self._station_chosen()
        if station is not None:
            for name in ("firmware", "update_firmware"):
                self.fields[name].shown_model_id = station.charger_model_id
                self.fields[name].help_text += f" Versions of {station.charger_model} only."
        for name, spec in PARAMETERS.items():
            self.fields[name] = _parameter_field(name, spec)

    def parameter_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        groups: dict[str, list[forms.BoundField]] = {}
        for name, spec in PARAMETERS.items():
            groups.setdefault(spec.group, []).append(self[name])
        return list(groups.items())

    def _station_chosen(self) -> Station | None:
        """The station posted or given in the link (?station=<pk>), if it is one of the
        user's."""
        value = self.data.get("station") if self.is_bound else self.initial.get("station")
        if not value or not str(value).isdigit():
            return None
        return self.fields["station"].queryset.filter(pk=value).first()

    def clean(self) -> dict:
        data = super().clean()
        station = data.get("station")
        for name in ("firmware", "update_firmware"):
            chosen = data.get(name)
            if station and chosen and chosen.charger_model_id != station.charger_model_id:
                self.add_error(name, "This firmware belongs to another model than the station.")
        tags = LabParameters.for_mode(rehearsal=False)
        valid = data.get("valid_id_tag") or tags.valid_id_tag
        if valid == (data.get("invalid_id_tag") or tags.invalid_id_tag):
            self.add_error("invalid_id_tag", "The invalid idTag must differ from the valid one.")
        connector = data.get("connector_id")
        connectors = station.charger_model.connector_count if station else None
        if connector and connectors and connector > connectors:
            self.add_error(
                "connector_id", f"{station} has {connectors} connector(s) (its model's count)."
            )
        return data

    def parameters(self) -> LabParameters:
        """The mode's defaults with what QA typed over them (a blank field keeps the default)."""
        chosen = {}
        for name, spec in PARAMETERS.items():
            value = self.cleaned_data.get(name)
            if value is None or value == "":
                continue
            chosen[name] = value / 100 if spec.unit == "%" else value
        return LabParameters.for_mode(rehearsal=bool(self.cleaned_data.get("rehearsal")), **chosen)


def _parameter_field(name: str, spec: ParameterSpec) -> forms.Field:
    """A lab parameter's field: blank means the mode's default, which the help text gives for
    both modes (and the placeholder for the mode chosen, switched by the page's script)."""
    certification = getattr(LabParameters(), name)
    rehearsal = getattr(LabParameters.fast(), name)
    shown = (spec.shown(certification), spec.shown(rehearsal))
    label = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
    if isinstance(certification, bool):
        field: forms.Field = forms.TypedChoiceField(
            label=label, required=False, empty_value=None,
            coerce=lambda value: value == "yes",
            choices=[("", "The mode's default"), ("yes", "Yes"), ("no", "No")],
        )  # fmt: skip
    elif isinstance(certification, str):
        field = forms.CharField(label=label, required=False, max_length=20, strip=True)
    else:
        unit = f" {spec.unit}".replace("%", "%%") if spec.unit else ""  # %-formatted
        field = forms.IntegerField(
            label=label, required=False, min_value=spec.low, max_value=spec.high,
            error_messages={"min_value": f"At least %(limit_value)s{unit}.",
                            "max_value": f"At most %(limit_value)s{unit}.",
                            "invalid": "A whole number, please."},
        )  # fmt: skip
    field.help_text = (
        f"Default {shown[0]}" + (f"; rehearsal {shown[1]}." if shown[1] != shown[0] else
                                 " in both modes.")
    )  # fmt: skip
    placeholder = [_bare(spec, v) for v in (certification, rehearsal)]
    field.widget.attrs.update({"placeholder": placeholder[0], "data-default": placeholder[0],
                               "data-rehearsal-default": placeholder[1]})  # fmt: skip
    return field


def _bare(spec: ParameterSpec, value) -> str:
    """A default as it would be typed into the field."""
    if isinstance(value, bool):
        return ""
    return str(round(value * 100)) if spec.unit == "%" else str(value)


class CampaignFilterForm(forms.Form):
    """The campaign list's filter; the station filter is the list's own (?station=<pk>)."""

    status = forms.ChoiceField(
        choices=[("", "All statuses"), *CampaignStatus.choices], required=False
    )


class ApplicabilityForm(forms.Form):
    applicability = forms.ChoiceField(choices=Applicability.choices, label="This step is")
    reason = forms.CharField(
        required=False,
        max_length=limits.REASON,
        label="because",
        widget=forms.TextInput(
            attrs={"size": 50, "placeholder": "why not (goes into the report unless planned)"}
        ),
    )


class VerdictForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, label="Final verdict")
    # Two texts for two readers: what the report states, and what stays in the lab. The labels
    # say who reads each, so nothing meant for the lab reaches the vendor by accident.
    result_text = forms.CharField(
        label="Result (in the report — the vendor reads this)",
        max_length=limits.RESULT_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Printed in the report, the PDF, the exports and the API: the vendor reads it.",
    )
    notes = forms.CharField(
        label="Internal note (lab only — never shown to the vendor)",
        required=False,
        max_length=limits.NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For QA only: never in the report, the exports or anything the vendor sees.",
    )


class ReopenForm(forms.Form):
    """Reopening a signed-off campaign: the reason goes into the report's history."""

    reason = forms.CharField(
        label="Why reopen it",
        max_length=limits.REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the signed-off campaign is reopened."},
    )


class PromptAnswerForm(forms.Form):
    choice = forms.CharField(max_length=40)
    value = forms.CharField(max_length=limits.PROMPT_VALUE, required=False)


def error_text(form: forms.Form) -> str:
    """A form's errors as one message line: "Result (as in the report): Ensure this value …"."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        label = label or (name.replace("_", " ").capitalize() if name != "__all__" else "")
        parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return " ".join(parts)
