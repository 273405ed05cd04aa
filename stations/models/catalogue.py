"""What a lab certifies: a manufacturer's charger model in a firmware version, on a unit."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

# RFC 3986 "unreserved" characters: safe in a URL path without escaping, which matters because
# the charge point id is the last segment of ws://host/ocpp/<id>.
charge_point_id_validator = RegexValidator(
    r"^[A-Za-z0-9._~-]+$",
    "Use letters, digits and . _ ~ - only: the id is part of the station's OCPP URL.",
)
iccid_validator = RegexValidator(
    r"^[0-9]{18,19}[0-9Ff]?$", "An ICCID is 19 or 20 digits (the last may be F)."
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

    class Meta:
        ordering = ["charge_point_id"]

    def __str__(self) -> str:
        return self.charge_point_id

    def get_absolute_url(self) -> str:
        return reverse("stations:object_detail", args=["stations", self.pk])

    @property
    def manufacturer(self) -> Manufacturer:
        return self.charger_model.manufacturer

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
        if self.charge_point_id in {".", ".."}:
            raise ValidationError({"charge_point_id": "'.' and '..' are not usable in a URL path."})
