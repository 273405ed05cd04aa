"""The vendor's declaration through the API: a model's capabilities and a station's overrides,
read and written with the forms' validation; a field left out keeps the model's default."""

from __future__ import annotations

import pytest

from stations.models import ChargerModel, Station
from tests.factories import ManufacturerFactory, StationFactory

pytestmark = pytest.mark.django_db


def test_a_model_created_without_its_declaration_can_do_everything(qa_api):
    maker = ManufacturerFactory()
    body = {
        "manufacturer": maker.pk,
        "name": "AC-22",
        "connector_count": 2,
        "current_type": "AC",
        "max_power_kw": "22.0",
        "has_modem": False,
        "feature_profiles": ["Core", "RemoteTrigger"],
    }
    response = qa_api.post("/api/v1/models/", body, format="json")
    assert response.status_code == 201, response.json()
    model = ChargerModel.objects.get(name="AC-22")
    assert (model.has_modem, model.has_rfid_reader, model.has_cable_sensing) == (False, True, True)
    assert response.json()["feature_profiles"] == ["Core", "RemoteTrigger"]
    assert response.json()["has_rfid_reader"] is True


def test_a_bad_declaration_is_a_400_naming_the_field(qa_api):
    maker = ManufacturerFactory()
    body = {
        "manufacturer": maker.pk,
        "name": "AC-22",
        "connector_count": 1,
        "current_type": "AC",
        "max_power_kw": "22.0",
        "feature_profiles": ["Core", "Teleportation"],
    }
    response = qa_api.post("/api/v1/models/", body, format="json")
    assert response.status_code == 400
    assert "feature_profiles" in str(response.json())


def test_a_station_overrides_its_model_through_the_api(qa_api):
    station = StationFactory(charger_model__has_fault_injection=False)
    url = f"/api/v1/stations/{station.pk}/"
    response = qa_api.patch(url, {"has_rfid_reader": False}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["has_rfid_reader"] is False and body["has_modem"] is None
    assert body["capabilities"]["has_rfid_reader"] is False
    assert body["capabilities"]["has_fault_injection"] is False
    assert body["capabilities"]["station_overrides"] == ["has_rfid_reader"]
    station = Station.objects.get(pk=station.pk)
    assert station.has_rfid_reader is False and station.has_modem is None
