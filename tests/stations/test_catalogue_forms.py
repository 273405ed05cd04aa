"""QA create and edit catalogue objects; bad input comes back next to its field, never a 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station
from tests.factories import ChargerModelFactory, FirmwareVersionFactory, StationFactory

pytestmark = pytest.mark.django_db


def test_qa_creates_a_manufacturer_and_lands_on_its_page(qa_client):
    response = qa_client.post(
        reverse("stations:object_create", args=["manufacturers"]),
        {"name": "HICONICS", "number": "1104190610010"},
        follow=True,
    )
    maker = Manufacturer.objects.get(name="HICONICS")
    assert response.redirect_chain[-1][0] == maker.get_absolute_url()
    assert "Created manufacturer “HICONICS”." in response.content.decode()


def test_duplicate_manufacturer_name_is_shown_next_to_the_field(qa_client):
    Manufacturer.objects.create(name="Kempower")
    response = qa_client.post(
        reverse("stations:object_create", args=["manufacturers"]), {"name": "Kempower"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        "Manufacturer with this Name already exists."
    ]
    assert "field-error" in response.content.decode()


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("connector_count", "0", "greater than or equal to 1"),
        ("connector_count", "many", "Enter a whole number."),
        ("max_power_kw", "-5", "greater than or equal to 0.1"),
        ("current_type", "XX", "Select a valid choice."),
    ],
)
def test_charger_model_form_rejects_bad_values(qa_client, field, value, message):
    maker = Manufacturer.objects.create(name="Maker")
    data = {
        "manufacturer": maker.pk,
        "name": "M1",
        "connector_count": "2",
        "current_type": "AC",
        "max_power_kw": "22",
    }
    data[field] = value
    response = qa_client.post(reverse("stations:object_create", args=["models"]), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not ChargerModel.objects.exists()


def test_firmware_upload_is_stored(qa_client):
    model = ChargerModelFactory()
    response = qa_client.post(
        reverse("stations:object_create", args=["firmware"]),
        {
            "charger_model": model.pk,
            "version": "V2",
            "release_notes": "fixes",
            "file": SimpleUploadedFile("fw.bin", b"version: V2\n"),
        },
    )
    firmware = FirmwareVersion.objects.get(version="V2")
    assert response.status_code == 302
    assert firmware.file.read() == b"version: V2\n"


def _station_data(model, **overrides):
    data = {
        "charge_point_id": "NEW-CP-1",
        "charger_model": model.pk,
        "expected_firmware": "",
        "serial_number": "SN1",
        "iccid": "8931440400000000001",
        "notes": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"charge_point_id": "bad id/with slash"}, "charge_point_id"),
        ({"charge_point_id": "X" * 49}, "charge_point_id"),
        ({"iccid": "12"}, "iccid"),
        ({"password": "short"}, "password"),
        ({"password": "a:b" + "x" * 20}, "password"),
    ],
)
def test_station_form_shows_field_errors(qa_client, overrides, field):
    model = ChargerModelFactory()
    url = reverse("stations:object_create", args=["stations"])
    response = qa_client.post(url, _station_data(model, **overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Station.objects.filter(charger_model=model).exists()


def test_station_firmware_from_another_model_is_refused(qa_client):
    model = ChargerModelFactory()
    foreign = FirmwareVersionFactory()
    response = qa_client.post(
        reverse("stations:object_create", args=["stations"]),
        _station_data(model, expected_firmware=foreign.pk),
    )
    assert response.status_code == 400
    assert "another model" in " ".join(response.context["form"].errors["expected_firmware"])


def test_station_password_is_set_kept_and_cleared(qa_client):
    model = ChargerModelFactory()
    url = reverse("stations:object_create", args=["stations"])
    qa_client.post(url, _station_data(model, password="0123456789abcdefABCD"))
    station = Station.objects.get(charge_point_id="NEW-CP-1")
    assert station.check_password("0123456789abcdefABCD")

    edit = reverse("stations:object_edit", args=["stations", station.pk])
    qa_client.post(edit, _station_data(model, notes="kept"))
    station.refresh_from_db()
    assert station.notes == "kept"
    assert station.check_password("0123456789abcdefABCD")

    qa_client.post(edit, _station_data(model, clear_password="on"))
    station.refresh_from_db()
    assert not station.has_password


def test_duplicate_charge_point_id_is_refused(qa_client):
    existing = StationFactory(charge_point_id="DUP-1")
    response = qa_client.post(
        reverse("stations:object_create", args=["stations"]),
        _station_data(existing.charger_model, charge_point_id="DUP-1"),
    )
    assert response.status_code == 400
    assert "charge_point_id" in response.context["form"].errors


@pytest.mark.parametrize("typed", ["dup-1", "Dup-1", "  DUP-1  ", " dup-1"])
def test_a_charge_point_id_differing_only_in_case_or_spaces_is_refused(qa_client, typed):
    existing = StationFactory(charge_point_id="DUP-1")
    response = qa_client.post(
        reverse("stations:object_create", args=["stations"]),
        _station_data(existing.charger_model, charge_point_id=typed),
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "A station with this charge point id in another case exists already."
    ]
    assert "another case exists already" in response.content.decode()
    assert Station.objects.count() == 1


def test_surrounding_spaces_are_dropped_from_a_new_charge_point_id(qa_client):
    model = ChargerModelFactory()
    qa_client.post(
        reverse("stations:object_create", args=["stations"]),
        _station_data(model, charge_point_id="  NEW-CP-9 "),
    )
    assert Station.objects.filter(charge_point_id="NEW-CP-9").exists()
