"""'Fill the record from the last BootNotification': a confirmation page, then a POST, QA only;
only values that map onto the catalogue are taken."""

import pytest
from django.urls import reverse
from django.utils import timezone

from stations.models import Station, StationLive
from tests.factories import ChargerModelFactory, FirmwareVersionFactory, StationFactory

pytestmark = pytest.mark.django_db


def _booted(station: Station, **fields) -> StationLive:
    values = {
        "boot_at": timezone.now(),
        "charge_point_vendor": station.charger_model.manufacturer.name,
        "charge_point_model": station.charger_model.name,
        "charge_point_serial_number": "SN-FROM-BOOT",
        "firmware_version": "",
        "iccid": "8931440400000000999",
    }
    values.update(fields)
    return StationLive.objects.create(station=station, **values)


def _url(station: Station) -> str:
    return reverse("stations:station_fill_from_boot", args=[station.pk])


def test_the_confirmation_page_shows_what_would_change_and_changes_nothing(qa_client):
    station = StationFactory(serial_number="SN-OLD")
    _booted(station, firmware_version="9.9.9")
    page = qa_client.get(_url(station))
    assert page.status_code == 200
    changes = {c.label: c for c in page.context["changes"]}
    assert changes["Serial number"].taken and changes["Serial number"].new == "SN-FROM-BOOT"
    assert changes["ICCID"].taken
    assert not changes["Model"].taken and changes["Model"].note == "already so"
    assert changes["Expected firmware"].note == (
        f"not in the catalogue for {station.charger_model}: add it there first"
    )
    station.refresh_from_db()
    assert station.serial_number == "SN-OLD"


def test_posting_takes_serial_iccid_and_a_firmware_the_catalogue_holds(qa_client):
    station = StationFactory(serial_number="SN-OLD", iccid="")
    newer = FirmwareVersionFactory(charger_model=station.charger_model, version="2.0.1")
    _booted(station, firmware_version="2.0.1")
    response = qa_client.post(_url(station))
    assert response.status_code == 302
    station.refresh_from_db()
    assert (station.serial_number, station.iccid) == ("SN-FROM-BOOT", "8931440400000000999")
    assert station.expected_firmware == newer
    page = qa_client.get(station.get_absolute_url()).content.decode()
    assert "Taken from the last BootNotification: serial number SN-FROM-BOOT" in page


def test_a_model_the_catalogue_holds_is_taken_and_a_firmware_of_the_old_model_cleared(qa_client):
    station = StationFactory()
    other = ChargerModelFactory(manufacturer=station.charger_model.manufacturer, name="HK-360")
    _booted(
        station,
        charge_point_vendor=f"{station.charger_model.manufacturer.name} Ltd",
        charge_point_model="hk-360",
        firmware_version="7.7",
    )
    qa_client.post(_url(station))
    station.refresh_from_db()
    assert station.charger_model == other
    assert station.expected_firmware is None


def test_no_iccid_in_the_boot_keeps_the_record_and_a_bad_one_is_not_taken(qa_client):
    station = StationFactory(iccid="8931440400000000001")
    _booted(station, iccid="")
    changes = {c.label: c for c in qa_client.get(_url(station)).context["changes"]}
    assert changes["ICCID"].note == "none in the boot (no modem?)"
    StationLive.objects.filter(station=station).update(iccid="not-an-iccid")
    qa_client.post(_url(station))
    station.refresh_from_db()
    assert station.iccid == "8931440400000000001"


def test_the_station_page_offers_it_only_to_qa_and_only_after_a_boot(qa_client, vendor_client,
                                                                       vendor_user):  # fmt: skip
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    label = "Fill the record from the last BootNotification"
    assert label not in qa_client.get(station.get_absolute_url()).content.decode()
    _booted(station)
    assert label in qa_client.get(station.get_absolute_url()).content.decode()
    assert label not in vendor_client.get(station.get_absolute_url()).content.decode()
    assert vendor_client.post(_url(station)).status_code == 403
    station.refresh_from_db()
    assert station.serial_number != "SN-FROM-BOOT"


def test_without_a_boot_nothing_is_offered_and_nothing_changes(qa_client):
    station = StationFactory(serial_number="SN-OLD")
    assert "not sent a BootNotification yet" in qa_client.get(_url(station)).content.decode()
    qa_client.post(_url(station))
    station.refresh_from_db()
    assert station.serial_number == "SN-OLD"
