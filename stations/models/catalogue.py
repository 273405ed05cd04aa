"""What a lab certifies: a manufacturer's charger model in a firmware version, on a unit."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from stations.capabilities import FLAGS, Capabilities, ConnectorType, FeatureProfile, parse_list

# RFC 3986 "unreserved" characters: safe in a URL path without escaping, which matters because
# the charge point id is the last segment of ws://host/ocpp/<id>.
charge_point_id_validator = RegexValidator(
    r"^[A-Za-z0-9._~-]+$",
    "Use letters, digits and . _ ~ - only: the id is part of the station's OCPP URL.",
)
iccid_validator = RegexValidator(
    r"^[0-9]{18,19}[0-9Ff]?$", "An ICCID is 19 or 20 digits (the last may be F)."
)


def connector_types_validator(value: str) -> None:
    unknown = [name for name in parse_list(value) if name not in set(ConnectorType)]
    if unknown:
        known = ", ".join(ConnectorType)
        raise ValidationError(f"Unknown connector type {', '.join(unknown)}: use {known}.")


def feature_profiles_validator(value) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not set(value) <= set(FeatureProfile):
        raise ValidationError(f"Feature profiles are a list of {', '.join(FeatureProfile)}.")


def _declared(name: str) -> models.BooleanField:
    """A yes/no capability a model declares (see stations.capabilities.FLAGS)."""
    label, help_text = FLAGS[name]
    return models.BooleanField(label, default=True, help_text=help_text)


def _overridden(name: str) -> models.BooleanField:
    """The same capability on a station: None means as its model declares."""
    label, help_text = FLAGS[name]
    return models.BooleanField(
        label, null=True, blank=True, default=None,
        help_text=f"{help_text} Empty: as the model declares.",
    )  # fmt: skip


CONNECTOR_TYPES_HELP = (
    "One type for every connector, or one per connector in order, comma-separated "
    "(e.g. “CCS2, CHAdeMO”). Types: " + ", ".join(ConnectorType) + "."
)


class Manufacturer(models.Model):
    name = models.CharField(max_length=100, unique=True)
    number = models.CharField(
        "manufacturer number", max_length=64, blank=True, help_text="As on the test report."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("stations:object_detail", args=["manufacturers", self.pk])


class CurrentType(models.TextChoices):
    AC = "AC", "AC"
    DC = "DC", "DC"


class ChargerModel(models.Model):
    manufacturer = models.ForeignKey(Manufacturer, on_delete=models.PROTECT, related_name="models")
    name = models.CharField("model name", max_length=100)
    connector_count = models.PositiveSmallIntegerField(
        "number of connectors", default=1, validators=[MinValueValidator(1), MaxValueValidator(32)]
    )
    current_type = models.CharField("AC/DC", max_length=2, choices=CurrentType.choices)
    max_power_kw = models.DecimalField(
        "maximum power (kW)",
        max_digits=7,
        decimal_places=1,
        validators=[MinValueValidator(0.1), MaxValueValidator(10000)],
    )
    # The vendor's declaration of what the model can do (PICS): it decides, before a campaign
    # runs, which steps and criteria apply (campaigns/engine/needs.py).
    has_rfid_reader = _declared("has_rfid_reader")
    has_cable_sensing = _declared("has_cable_sensing")
    has_fault_injection = _declared("has_fault_injection")
    has_modem = _declared("has_modem")
    reboots_on_reset = _declared("reboots_on_reset")
    has_connector_lock = _declared("has_connector_lock")
    has_display = _declared("has_display")
    connector_types = models.CharField(
        "connector types", max_length=200, blank=True,
        validators=[connector_types_validator], help_text=CONNECTOR_TYPES_HELP,
    )  # fmt: skip
    feature_profiles = models.JSONField(
        "supported feature profiles", default=list, blank=True,
        validators=[feature_profiles_validator],
        help_text="OCPP 1.6 profiles the model implements. None ticked: not declared.",
    )  # fmt: skip

    class Meta:
        ordering = ["manufacturer__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "name"], name="unique_model_per_manufacturer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.manufacturer.name} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("stations:object_detail", args=["models", self.pk])

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            **{name: getattr(self, name) for name in FLAGS},
            connector_count=self.connector_count,
            connector_types=parse_list(self.connector_types),
            feature_profiles=tuple(self.feature_profiles or ()),
            model_name=str(self),
        )

    def clean(self) -> None:
        super().clean()
        _check_connector_types(self.connector_types, self.connector_count)


def firmware_upload_to(instance: FirmwareVersion, filename: str) -> str:
    return f"firmware/{instance.charger_model_id}/{filename}"


class FirmwareVersion(models.Model):
    charger_model = models.ForeignKey(
        ChargerModel,
        on_delete=models.PROTECT,
        related_name="firmware_versions",
        verbose_name="model",
    )
    version = models.CharField(max_length=50)
    file = models.FileField("firmware file", upload_to=firmware_upload_to, blank=True)
    # Taken while the upload streamed to storage (stations.firmware_files), so QA can check the
    # file against the vendor's before it goes onto a station.
    file_size = models.BigIntegerField("size (bytes)", null=True, blank=True)
    file_sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text="Who uploaded the file (a vendor's upload: criterion 12.a).",
    )  # fmt: skip
    release_notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["charger_model__manufacturer__name", "charger_model__name", "-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["charger_model", "version"], name="unique_version_per_model"
            )
        ]

    def __str__(self) -> str:
        return f"{self.charger_model} {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("stations:object_detail", args=["firmware", self.pk])

    @property
    def manufacturer(self) -> Manufacturer:
        return self.charger_model.manufacturer


class Station(models.Model):
    """A unit under test, known to the Central System by its charge point id."""

    charge_point_id = models.CharField(
        "charge point id",
        max_length=48,  # OCPP 1.6 CiString48 identity
        unique=True,
        validators=[charge_point_id_validator],
    )
    charger_model = models.ForeignKey(
        ChargerModel, on_delete=models.PROTECT, related_name="stations", verbose_name="model"
    )
    expected_firmware = models.ForeignKey(
        FirmwareVersion,
        on_delete=models.PROTECT,
        related_name="stations",
        null=True,
        blank=True,
        verbose_name="expected firmware version",
    )
    serial_number = models.CharField(max_length=25, blank=True)  # CiString25 in BootNotification
    iccid = models.CharField("ICCID", max_length=20, blank=True, validators=[iccid_validator])
    password_hash = models.CharField(max_length=256, blank=True, editable=False)
    is_simulator = models.BooleanField(
        "built-in simulator",
        default=False,
        help_text="CertLab's own simulated charger: prompts offer to do the manual part on it.",
    )
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # The unit's own declaration where it differs from its model's (None / empty: as the model).
    has_rfid_reader = _overridden("has_rfid_reader")
    has_cable_sensing = _overridden("has_cable_sensing")
    has_fault_injection = _overridden("has_fault_injection")
    has_modem = _overridden("has_modem")
    reboots_on_reset = _overridden("reboots_on_reset")
    has_connector_lock = _overridden("has_connector_lock")
    has_display = _overridden("has_display")
    connector_types = models.CharField(
        "connector types", max_length=200, blank=True,
        validators=[connector_types_validator],
        help_text=CONNECTOR_TYPES_HELP + " Empty: as the model declares.",
    )  # fmt: skip
    feature_profiles = models.JSONField(
        "supported feature profiles", null=True, blank=True, default=None,
        validators=[feature_profiles_validator],
        help_text="None ticked: as the model declares.",
    )  # fmt: skip

    class Meta:
        ordering = ["charge_point_id"]
        constraints = [
            # "KP-01" and "kp-01" would be one station to a person and two to the lab.
            models.UniqueConstraint(
                Lower("charge_point_id"),
                name="station_id_unique_any_case",
                violation_error_message="A station with this charge point id in another case "
                "exists already.",
            )
        ]

    def __str__(self) -> str:
        return self.charge_point_id

    def get_absolute_url(self) -> str:
        return reverse("stations:object_detail", args=["stations", self.pk])

    @property
    def manufacturer(self) -> Manufacturer:
        return self.charger_model.manufacturer

    @property
    def capabilities(self) -> Capabilities:
        """The model's declaration with this unit's overrides applied."""
        declared = self.charger_model.capabilities
        overrides: dict = {name: getattr(self, name) for name in FLAGS}
        overrides = {name: value for name, value in overrides.items() if value is not None}
        if self.connector_types:
            overrides["connector_types"] = parse_list(self.connector_types)
        if self.feature_profiles:
            overrides["feature_profiles"] = tuple(self.feature_profiles)
        return replace(declared, **overrides, station_overrides=frozenset(overrides))

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def set_password(self, raw_password: str | None) -> None:
        """Store the basic-auth password hashed (OCPP security profile 1); None or '' clears it."""
        self.password_hash = make_password(raw_password) if raw_password else ""

    def check_password(self, raw_password: str) -> bool:
        return bool(self.password_hash) and check_password(raw_password, self.password_hash)

    def clean(self) -> None:
        super().clean()
        if (
            self.expected_firmware_id
            and self.charger_model_id
            and self.expected_firmware.charger_model_id != self.charger_model_id
        ):
            raise ValidationError(
                {"expected_firmware": "This firmware version belongs to another model."}
            )
        if self.charger_model_id:
            _check_connector_types(self.connector_types, self.charger_model.connector_count)
        if self.charge_point_id in {".", ".."}:
            raise ValidationError({"charge_point_id": "'.' and '..' are not usable in a URL path."})


def _check_connector_types(text: str, connector_count: int) -> None:
    types = parse_list(text)
    if len(types) > 1 and len(types) != connector_count:
        raise ValidationError(
            {"connector_types": f"Give one type for all connectors or one per connector "
             f"({connector_count}), not {len(types)}."}
        )  # fmt: skip
