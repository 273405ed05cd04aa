"""The four kinds of catalogue object, described once so their pages share one set of views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.db import transaction
from django.db.models import Model, QuerySet

from stations import forms as station_forms
from stations import selectors
from stations.events import catalogue_changed_sync
from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station
from stations.signals import expected_firmware_changed


@dataclass(frozen=True)
class Column:
    label: str
    attr: str


@dataclass(frozen=True)
class Kind:
    slug: str
    model: type[Model]
    form: type[forms.ModelForm]
    visible: Callable[..., QuerySet]
    columns: tuple[Column, ...]
    empty_hint: str

    @property
    def url_prefix(self) -> str:
        return self.model._meta.model_name

    @property
    def title(self) -> str:
        return str(self.model._meta.verbose_name_plural).capitalize()

    @property
    def singular(self) -> str:
        return str(self.model._meta.verbose_name)


KINDS: dict[str, Kind] = {
    kind.slug: kind
    for kind in (
        Kind(
            slug="manufacturers",
            model=Manufacturer,
            form=station_forms.ManufacturerForm,
            visible=selectors.manufacturers_for,
            columns=(Column("Name", "name"), Column("Manufacturer number", "number")),
            empty_hint="Add the manufacturer whose charger you are about to certify.",
        ),
        Kind(
            slug="models",
            model=ChargerModel,
            form=station_forms.ChargerModelForm,
            visible=selectors.charger_models_for,
            columns=(
                Column("Manufacturer", "manufacturer"),
                Column("Model", "name"),
                Column("Connectors", "connector_count"),
                Column("AC/DC", "current_type"),
                Column("Max power (kW)", "max_power_kw"),
            ),
            empty_hint="A model belongs to a manufacturer: add the manufacturer first.",
        ),
        Kind(
            slug="firmware",
            model=FirmwareVersion,
            form=station_forms.FirmwareVersionForm,
            visible=selectors.firmware_versions_for,
            columns=(
                Column("Model", "charger_model"),
                Column("Version", "version"),
                Column("File", "file"),
                Column("Size (bytes)", "file_size"),
                Column("SHA-256", "file_sha256"),
                Column("Uploaded by", "uploaded_by"),
            ),
            empty_hint="Add the firmware version under test, with its file for the update test.",
        ),
        Kind(
            slug="stations",
            model=Station,
            form=station_forms.StationForm,
            visible=selectors.stations_for,
            columns=(
                Column("Charge point id", "charge_point_id"),
                Column("Model", "charger_model"),
                Column("Expected firmware", "expected_firmware.version"),
                Column("Serial number", "serial_number"),
            ),
            empty_hint="A station is a unit under test: it connects to CertLab by its id.",
        ),
    )
}


def limit_choices(form: forms.ModelForm, *, user) -> None:
    """Offer only objects the user may see in a catalogue form's foreign-key fields (the pages
    and the API validate with the same forms)."""
    scoped = {
        "manufacturer": selectors.manufacturers_for,
        "charger_model": selectors.charger_models_for,
        "expected_firmware": selectors.firmware_versions_for,
    }
    for name, visible in scoped.items():
        if name in form.fields:
            form.fields[name].queryset = visible(user=user)


@transaction.atomic
def save_form(form: forms.ModelForm, *, user) -> Model:
    """Save a valid catalogue form (the pages and the API alike). A station whose expected
    firmware changes says so (stations.signals) in the same transaction; an object added, or
    moved to another manufacturer, is announced once committed (the home page's tiles)."""
    before = None
    if form.instance.pk:  # the form's instance holds the new values already: read the old
        before = type(form.instance).objects.get(pk=form.instance.pk)
    if isinstance(form.instance, FirmwareVersion) and "file" in form.changed_data:
        obj = _save_firmware(form, user=user)
    else:
        obj = form.save()
    if (
        before is not None
        and isinstance(obj, Station)
        and (before.expected_firmware_id != obj.expected_firmware_id)
    ):
        expected_firmware_changed.send(
            sender=Station, station=obj, before=before.expected_firmware,
            after=obj.expected_firmware, user=user, via="in the catalogue",
        )  # fmt: skip
    if before is None:
        catalogue_announce(manufacturer_ids=[owner(obj)], what="added")
    elif (was := owner(before)) != (now := owner(obj)):
        catalogue_announce(manufacturer_ids=[was, now], what="moved")
    return obj


def owner(obj: Model) -> int:
    """The manufacturer whose vendor sees the object (the scope of stations.selectors)."""
    if isinstance(obj, Manufacturer):
        return obj.pk
    if isinstance(obj, ChargerModel):
        return obj.manufacturer_id
    return ChargerModel.objects.values_list("manufacturer_id", flat=True).get(
        pk=obj.charger_model_id
    )


def catalogue_announce(*, manufacturer_ids: list[int], what: str) -> None:
    """Tell the home pages once the transaction is committed (a rollback announces nothing)."""
    transaction.on_commit(lambda: catalogue_changed_sync(manufacturer_ids, what))


def _save_firmware(form: forms.ModelForm, *, user) -> FirmwareVersion:
    """A new firmware file: stored with its size, SHA-256 and uploader (stations.firmware_files);
    a cleared one takes them away."""
    from stations.firmware_files import firmware_store_file

    firmware = form.save(commit=False)
    if upload := form.cleaned_data.get("file"):
        firmware_store_file(firmware=firmware, upload=upload, user=user)
    else:  # the file was cleared: its facts go with it
        firmware.file_size, firmware.file_sha256, firmware.uploaded_by = None, "", None
    firmware.save()
    return firmware
