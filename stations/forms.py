"""Catalogue forms: errors land next to their field; nothing a user types raises a 500."""

from __future__ import annotations

from django import forms

from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station

MAX_FIRMWARE_BYTES = 512 * 1024 * 1024


class ManufacturerForm(forms.ModelForm):
    class Meta:
        model = Manufacturer
        fields = ["name", "number"]


class ChargerModelForm(forms.ModelForm):
    class Meta:
        model = ChargerModel
        fields = ["manufacturer", "name", "connector_count", "current_type", "max_power_kw"]


class FirmwareVersionForm(forms.ModelForm):
    class Meta:
        model = FirmwareVersion
        fields = ["charger_model", "version", "file", "release_notes"]
        widgets = {"release_notes": forms.Textarea(attrs={"rows": 4})}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and getattr(upload, "size", 0) > MAX_FIRMWARE_BYTES:
            raise forms.ValidationError("A firmware file may be at most 512 MB.")
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
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

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
