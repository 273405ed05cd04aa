"""Catalogue forms: errors land next to their field; nothing a user types raises a 500."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxLengthValidator

from certlab import limits
from stations.capabilities import FLAGS, FeatureProfile
from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station

MAX_FIRMWARE_BYTES = 512 * 1024 * 1024


class ManufacturerForm(forms.ModelForm):
    class Meta:
        model = Manufacturer
        fields = ["name", "number"]


PROFILE_CHOICES = [(p.value, p.value) for p in FeatureProfile]
DECLARATION_FIELDS = [*FLAGS, "connector_types", "feature_profiles"]


def _profiles_field(help_text: str) -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        label="Supported feature profiles",
        choices=PROFILE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


class ChargerModelForm(forms.ModelForm):
    """The model's facts and its vendor's declaration of what it can do."""

    feature_profiles = _profiles_field(
        "The OCPP 1.6 profiles the model implements (SupportedFeatureProfiles). "
        "None ticked: not declared."
    )

    class Meta:
        model = ChargerModel
        fields = [
            "manufacturer", "name", "connector_count", "current_type", "max_power_kw",
            *DECLARATION_FIELDS,
        ]  # fmt: skip

    def clean_feature_profiles(self) -> list[str]:
        return _in_order(self.cleaned_data.get("feature_profiles") or [])


def _in_order(profiles: list[str]) -> list[str]:
    return [p.value for p in FeatureProfile if p.value in profiles]


class OverrideSelect(forms.NullBooleanSelect):
    """Yes / No / as the model declares, for a station's own declaration."""

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "As the model declares"), ("true", "Yes"), ("false", "No")]


class FirmwareVersionForm(forms.ModelForm):
    class Meta:
        model = FirmwareVersion
        fields = ["charger_model", "version", "file", "release_notes"]
        widgets = {"release_notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["release_notes"], limits.RELEASE_NOTES)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and getattr(upload, "size", 0) > MAX_FIRMWARE_BYTES:
            raise forms.ValidationError(
                f"This file is {upload.size / 1024 / 1024:.0f} MB; a firmware file may be at "
                f"most {MAX_FIRMWARE_BYTES // 1024 // 1024} MB."
            )
        return upload


class StationForm(forms.ModelForm):
    password = forms.CharField(
        label="Basic-auth password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="OCPP security profile 1. Stored hashed. Leave empty to keep the current one.",
    )
    clear_password = forms.BooleanField(
        label="Remove the password", required=False, help_text="The station connects without auth."
    )

    class Meta:
        model = Station
        fields = [
            "charge_point_id",
            "charger_model",
            "expected_firmware",
            "serial_number",
            "iccid",
            "is_simulator",
            "notes",
            *DECLARATION_FIELDS,
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            **{name: OverrideSelect for name in FLAGS},
        }

    feature_profiles = _profiles_field(
        "Only where this unit differs from its model. None ticked: as the model declares."
    )

    def clean_feature_profiles(self) -> list[str] | None:
        return _in_order(self.cleaned_data.get("feature_profiles") or []) or None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["notes"], limits.NOTE)
        model = self.instance.charger_model if self.instance.charger_model_id else None
        for name, (_, help_text) in FLAGS.items():
            field = self.fields[name]
            field.help_text = help_text
            if model is not None:  # say what "as the model declares" means for this unit
                said = "yes" if getattr(model, name) else "no"
                field.widget.choices = [("unknown", f"As the model declares ({said})"),
                                        *field.widget.choices[1:]]  # fmt: skip

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password", "")
        # OCPP 1.6 security: AuthorizationKey is 16 to 40 bytes (20-bytes recommended).
        if password and not 16 <= len(password.encode()) <= 40:
            raise forms.ValidationError("A station password is 16 to 40 characters (OCPP 1.6).")
        if password and ":" in password:
            raise forms.ValidationError("A basic-auth password cannot contain ':'.")
        return password

    def save(self, commit: bool = True) -> Station:
        station = super().save(commit=False)
        if self.cleaned_data.get("clear_password"):
            station.set_password(None)
        elif self.cleaned_data.get("password"):
            station.set_password(self.cleaned_data["password"])
        if commit:
            station.save()
        return station


def _limit(field: forms.CharField, length: int) -> None:
    """A free-text model field (TextField) gets a form limit and its message."""
    field.max_length = length
    field.validators.append(MaxLengthValidator(length))
    field.widget.attrs["maxlength"] = str(length)
