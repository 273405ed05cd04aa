"""Campaign forms: creating a campaign with its lab parameters, planning, prompts, verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from itertools import groupby

from django import forms
from django.forms.models import ModelChoiceIterator

from campaigns.engine.params import LabParameters
from campaigns.models import Applicability, CampaignStatus, Verdict
from stations.models import FirmwareVersion, Station

# The lab parameters QA set on a campaign (the rest keep their defaults).
PARAMETER_FIELDS = {
    "heartbeat_interval": ("Heartbeat interval to test (s)", 1, 3600),
    "meter_interval": ("Meter value sample interval to test (s)", 1, 3600),
    "valid_id_tag": ("Valid idTag", None, None),
    "invalid_id_tag": ("Invalid idTag", None, None),
    "connector_id": ("Connector to test", 1, 32),
    "prompt_timeout": ("Time to answer a prompt (s)", 10, 3600),
    "reconnect_timeout": ("Time for a station to come back after a reset or drop (s)", 5, 3600),
    "offline_seconds": ("Offline time in the offline-transactions step (s)", 1, 3600),
}


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
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
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
        defaults = LabParameters()
        for name, (label, low, high) in PARAMETER_FIELDS.items():
            initial = getattr(defaults, name)
            if isinstance(initial, int):
                field = forms.IntegerField(label=label, min_value=low, max_value=high)
            else:
                field = forms.CharField(label=label, max_length=20)
            field.initial = initial
            self.fields[name] = field

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
        if data.get("valid_id_tag") and data.get("valid_id_tag") == data.get("invalid_id_tag"):
            self.add_error("invalid_id_tag", "The invalid idTag must differ from the valid one.")
        return data

    def parameters(self) -> LabParameters:
        chosen = {name: self.cleaned_data[name] for name in PARAMETER_FIELDS}
        if self.cleaned_data.get("rehearsal"):
            fast = LabParameters.fast().as_dict()
            keep = {k: v for k, v in chosen.items() if k in ("valid_id_tag", "invalid_id_tag",
                                                             "connector_id")}  # fmt: skip
            return LabParameters.from_dict({**fast, **keep})
        known = {f.name for f in fields(LabParameters)}
        return LabParameters.from_dict({k: v for k, v in chosen.items() if k in known})


class CampaignFilterForm(forms.Form):
    """The campaign list's filter; the station filter is the list's own (?station=<pk>)."""

    status = forms.ChoiceField(
        choices=[("", "All statuses"), *CampaignStatus.choices], required=False
    )


class ApplicabilityForm(forms.Form):
    applicability = forms.ChoiceField(choices=Applicability.choices, label="This step is")
    reason = forms.CharField(
        required=False,
        label="because",
        widget=forms.TextInput(
            attrs={"size": 50, "placeholder": "why not (goes into the report unless planned)"}
        ),
    )


class VerdictForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, label="Final verdict")
    result_text = forms.CharField(
        label="Result (as in the report)", widget=forms.Textarea(attrs={"rows": 2})
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PromptAnswerForm(forms.Form):
    choice = forms.CharField(max_length=40)
    value = forms.CharField(max_length=200, required=False)
