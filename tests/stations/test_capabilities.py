"""The vendor's declaration of what a charger can do: on the model, overridable per station,
edited on the catalogue forms and shown on the pages."""

import pytest
from django.urls import reverse

from stations.capabilities import Capabilities
from stations.models import ChargerModel, Station
from tests.factories import ChargerModelFactory, StationFactory

pytestmark = pytest.mark.django_db


def test_a_station_takes_its_models_declaration_and_overrides_parts_of_it():
    model = ChargerModelFactory(
        has_modem=False, feature_profiles=["Core", "RemoteTrigger"], connector_types="CCS2"
    )
    station = StationFactory(charger_model=model, has_rfid_reader=False, has_modem=True)
    caps = station.capabilities
    assert caps.has_modem is True and caps.has_rfid_reader is False
    assert caps.has_cable_sensing is True  # as the model declares
    assert caps.feature_profiles == ("Core", "RemoteTrigger")
    assert caps.connector_types == ("CCS2",)
    assert caps.station_overrides == {"has_rfid_reader", "has_modem"}
    assert caps.source("has_modem") == "the station's own declaration"
    assert caps.source("has_cable_sensing") == f"declared for the model {model}"
    assert caps.connector_type(2) == "CCS2"


def test_an_undeclared_profile_list_decides_nothing():
    assert Capabilities().declares_profile("FirmwareManagement") is None
    declared = Capabilities(feature_profiles=("Core",))
    assert declared.declares_profile("FirmwareManagement") is False


def _model_post(model: ChargerModel, **fields) -> dict:
    data = {
        "manufacturer": model.manufacturer_id,
        "name": model.name,
        "connector_count": model.connector_count,
        "current_type": model.current_type,
        "max_power_kw": str(model.max_power_kw),
        "has_cable_sensing": "on",
        "reboots_on_reset": "on",
        "connector_types": "",
    }
    data.update(fields)
    return data


def test_qa_declare_a_models_capabilities_on_its_form(qa_client):
    model = ChargerModelFactory(connector_count=2)
    url = reverse("stations:object_edit", args=["models", model.pk])
    data = _model_post(
        model, connector_types="CCS2, CHAdeMO", feature_profiles=["RemoteTrigger", "Core"]
    )
    response = qa_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    model.refresh_from_db()
    assert model.feature_profiles == ["Core", "RemoteTrigger"]  # in the specification's order
    assert model.connector_types == "CCS2, CHAdeMO"
    assert (model.has_cable_sensing, model.has_rfid_reader, model.has_modem) == (True, False, False)


@pytest.mark.parametrize(
    "types,message",
    [
        ("CCS2, CHAdeMO, Type2Socket", "one per connector (2), not 3"),
        ("Schuko", "Unknown connector type Schuko"),
    ],
)
def test_wrong_connector_types_are_answered_next_to_the_field(qa_client, types, message):
    model = ChargerModelFactory(connector_count=2)
    url = reverse("stations:object_edit", args=["models", model.pk])
    response = qa_client.post(url, _model_post(model, connector_types=types))
    assert response.status_code == 400
    assert message in str(response.context["form"].errors["connector_types"])


def test_a_station_form_overrides_or_inherits_each_capability(qa_client):
    station = StationFactory(charger_model__feature_profiles=["Core"])
    url = reverse("stations:object_edit", args=["stations", station.pk])
    data = {
        "charge_point_id": station.charge_point_id,
        "charger_model": station.charger_model_id,
        "expected_firmware": station.expected_firmware_id,
        "serial_number": station.serial_number,
        "iccid": "",
        "notes": "",
        "has_modem": "false",
        "has_rfid_reader": "unknown",
        "feature_profiles": [],
    }
    response = qa_client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    station = Station.objects.get(pk=station.pk)
    assert station.has_modem is False and station.has_rfid_reader is None
    assert station.feature_profiles is None  # none ticked: as the model declares
    assert station.capabilities.feature_profiles == ("Core",)


def test_model_and_station_pages_show_the_declaration(qa_client):
    station = StationFactory(charger_model__has_display=False, has_modem=False)
    page = qa_client.get(station.get_absolute_url()).content.decode()
    assert "vendor's declaration" in page
    assert '<dt>Modem</dt><dd>no <span class="badge">this unit</span></dd>' in page
    assert "<dt>Display</dt><dd>no</dd>" in page
    model_page = qa_client.get(station.charger_model.get_absolute_url()).content.decode()
    assert "<dt>Modem</dt><dd>yes</dd>" in model_page
    assert "<dt>Feature profiles</dt><dd>not declared</dd>" in model_page


def test_a_vendor_reads_its_own_declaration_and_not_anothers(vendor_client, vendor_user):
    own = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    other = StationFactory()
    assert "<dt>RFID reader</dt>" in vendor_client.get(own.get_absolute_url()).content.decode()
    assert vendor_client.get(other.charger_model.get_absolute_url()).status_code == 404
    edit = reverse("stations:object_edit", args=["models", own.charger_model_id])
    assert vendor_client.post(edit, {}).status_code == 403


def test_the_demo_stations_declare_what_they_can_do():
    from stations.demo import DEMO_SIMULATED_STATION, seed_demo

    seed_demo()
    simulated = Station.objects.get(charge_point_id=DEMO_SIMULATED_STATION).capabilities
    # What the built-in simulator reports in SupportedFeatureProfiles.
    assert simulated.feature_profiles == ("Core", "FirmwareManagement", "Reservation",
                                          "RemoteTrigger")  # fmt: skip
    assert simulated.connector_types == ("CCS2", "CHAdeMO")
    assert simulated.has_modem and simulated.has_rfid_reader and not simulated.has_display
