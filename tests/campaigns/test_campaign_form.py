"""The new-campaign form: firmware choices grouped by model, only the station's model's when the
form is opened for a station, and a wrong model's firmware refused."""

import re

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from tests.factories import FirmwareVersionFactory, StationFactory

pytestmark = pytest.mark.django_db

PARAMETERS = {"heartbeat_interval": 60, "meter_interval": 30, "valid_id_tag": "GOOD-1",
              "invalid_id_tag": "BAD-1", "connector_id": 1, "prompt_timeout": 300,
              "reconnect_timeout": 180, "offline_seconds": 60}  # fmt: skip


def _select(html: str, name: str) -> str:
    return re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)


@pytest.fixture
def two_models():
    """Two stations of different models, each model with two firmware versions (one file)."""
    station, other = StationFactory(), StationFactory()
    FirmwareVersionFactory(charger_model=station.charger_model, file="fw/a.bin")
    FirmwareVersionFactory(charger_model=other.charger_model, file="fw/b.bin")
    return station, other


def test_firmware_options_are_grouped_by_charger_model(qa_client, two_models):
    station, other = two_models
    html = qa_client.get(reverse("campaigns:campaign_create")).content.decode()
    firmware = _select(html, "firmware")
    for model in (station.charger_model, other.charger_model):
        group = re.search(rf'<optgroup label="{model}">(.*?)</optgroup>', firmware, re.S)
        assert group, model
        versions = set(model.firmware_versions.values_list("version", flat=True))
        assert set(re.findall(r">([^<]+)</option>", group.group(1))) == versions


def test_opened_for_a_station_only_its_models_firmware_is_offered(qa_client, two_models):
    station, other = two_models
    url = reverse("campaigns:campaign_create")
    html = qa_client.get(url, {"station": station.pk}).content.decode()
    for name in ("firmware", "update_firmware"):
        select = _select(html, name)
        assert f'<optgroup label="{station.charger_model}">' in select
        assert str(other.charger_model) not in select
        for firmware in other.charger_model.firmware_versions.all():
            assert f'value="{firmware.pk}"' not in select
    offered = re.findall(r'<option value="(\d+)"', _select(html, "firmware"))
    assert sorted(map(int, offered)) == sorted(
        station.charger_model.firmware_versions.values_list("pk", flat=True)
    )
    assert f'<option value="{station.pk}" selected>' in _select(html, "station")


def test_a_bad_station_in_the_link_offers_every_models_firmware(qa_client, two_models):
    _, other = two_models
    for bad in ("abc", "99999999999999999999999", "0"):
        response = qa_client.get(reverse("campaigns:campaign_create"), {"station": bad})
        assert response.status_code == 200
        assert str(other.charger_model) in _select(response.content.decode(), "firmware")


def test_the_station_page_links_to_the_form_for_that_station(qa_client):
    station = StationFactory()
    html = qa_client.get(reverse("stations:object_detail", args=["stations", station.pk]))
    assert f'href="/campaigns/new/?station={station.pk}"' in html.content.decode()


@pytest.mark.parametrize("field", ["firmware", "update_firmware"])
def test_another_models_firmware_is_refused(qa_client, two_models, field):
    station, other = two_models
    wrong = other.charger_model.firmware_versions.exclude(file="").get()
    response = qa_client.post(
        reverse("campaigns:campaign_create") + f"?station={station.pk}",
        {"station": station.pk, field: wrong.pk, **PARAMETERS},
    )
    assert response.status_code == 400
    assert "another model" in " ".join(response.context["form"].errors[field])
    assert not Campaign.objects.exists()


def test_the_stations_own_firmware_is_accepted(qa_client, two_models):
    station, _ = two_models
    chosen = station.charger_model.firmware_versions.exclude(file="").get()
    response = qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "firmware": chosen.pk, "update_firmware": chosen.pk,
         **PARAMETERS},
    )  # fmt: skip
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.firmware, campaign.update_firmware) == (chosen, chosen)


def test_every_lab_parameter_is_on_the_form_with_its_unit_and_both_defaults(qa_client):
    from dataclasses import fields

    from campaigns.engine.params import LabParameters

    html = qa_client.get(reverse("campaigns:campaign_create")).content.decode()
    for field in fields(LabParameters):
        name = "rehearsal" if field.name == "rehearsal" else field.name
        assert f'name="{name}"' in html, name
    assert "Time for the whole firmware update (s)" in html
    assert "Default 600 s; rehearsal 30 s." in html
    assert "Heartbeat tolerance (%)" in html and "Default 20 %; rehearsal 50 %." in html
    assert 'placeholder="600" data-default="600" data-rehearsal-default="30"' in html


def test_empty_parameters_take_the_certification_defaults(qa_client):
    station = StationFactory()
    response = qa_client.post(reverse("campaigns:campaign_create"), {"station": station.pk})
    assert response.status_code == 302
    from campaigns.engine.params import LabParameters

    assert Campaign.objects.get().parameters == LabParameters().as_dict()


def test_typed_parameters_override_the_rehearsal_defaults(qa_client):
    station = StationFactory()
    response = qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "rehearsal": "on", "firmware_timeout": 45,
         "heartbeat_tolerance": 30, "quiet_window": 3, "answer_prompts_on_simulator": "no"},
    )  # fmt: skip
    assert response.status_code == 302
    parameters = Campaign.objects.get().parameters
    assert parameters["firmware_timeout"] == 45
    assert parameters["heartbeat_tolerance"] == 0.3
    assert parameters["quiet_window"] == 3
    assert parameters["answer_prompts_on_simulator"] is False
    assert parameters["transaction_window"] == 8  # not typed: the rehearsal's
    assert parameters["rehearsal"] is True


def test_how_late_certlab_may_answer_and_the_wait_before_the_cable_prompt_are_set_on_the_form(
    qa_client,
):
    station = StationFactory()
    form = qa_client.get(reverse("campaigns:campaign_create")).content.decode()
    assert "CertLab answering this late is lab-side trouble (s)" in form
    assert "Time for a start or Preparing before the cable prompt (s)" in form
    response = qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "late_answer": 5, "cable_prompt_wait": 0},
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.parameters["late_answer"], campaign.parameters["cable_prompt_wait"]) == (5, 0)
    html = qa_client.get(campaign.get_absolute_url()).content.decode()
    assert (
        "CertLab answering this late is lab-side trouble</th>"
        '<td>5 s <span class="muted">(default 2 s)</span></td>'
    ) in html
    assert (
        "Time for a start or Preparing before the cable prompt</th>"
        '<td>0 s <span class="muted">(default 2 s)</span></td>'
    ) in html


def test_a_campaign_recorded_before_a_parameter_existed_shows_and_runs_with_its_default(
    qa_client,
):
    from campaigns.engine.params import LabParameters

    qa_client.post(reverse("campaigns:campaign_create"), {"station": StationFactory().pk})
    campaign = Campaign.objects.get()
    for name in ("late_answer", "cable_prompt_wait"):
        del campaign.parameters[name]
    campaign.save(update_fields=["parameters"])
    used = LabParameters.from_dict(Campaign.objects.get().parameters)
    assert (used.late_answer, used.cable_prompt_wait) == (2, 2)
    html = qa_client.get(campaign.get_absolute_url()).content.decode()
    assert "CertLab answering this late is lab-side trouble</th><td>2 s</td>" in html
    assert "Time for a start or Preparing before the cable prompt</th><td>2 s</td>" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("firmware_timeout", 0, "At least 10 s."),
        ("firmware_timeout", 99999, "At most 7200 s."),
        ("transaction_window", "abc", "A whole number, please."),
        ("heartbeat_tolerance", 150, "At most 99 %."),
        ("connector_id", 3, "has 2 connector(s)"),
        ("answer_prompts_on_simulator", "maybe", "Select a valid choice"),
        ("valid_id_tag", "X" * 21, "at most 20 characters"),
        ("late_answer", 0, "At least 1 s."),
        ("late_answer", 31, "At most 30 s."),
        ("cable_prompt_wait", -1, "At least 0 s."),
        ("cable_prompt_wait", 31, "At most 30 s."),
    ],
)
def test_a_bad_parameter_is_refused_with_a_message(qa_client, field, value, message):
    station = StationFactory()
    response = qa_client.post(
        reverse("campaigns:campaign_create"), {"station": station.pk, field: value}
    )
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not Campaign.objects.exists()


def test_the_campaign_page_shows_every_parameter_with_its_unit(qa_client):
    station = StationFactory()
    qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "firmware_timeout": 120},
    )
    html = qa_client.get(Campaign.objects.get().get_absolute_url()).content.decode()
    assert "Lab parameters</b>: certification" in html
    changed = '<td>120 s <span class="muted">(default 600 s)</span></td>'
    assert f"Time for the whole firmware update</th>{changed}" in html
    assert "Heartbeat tolerance</th><td>20 %</td>" in html
    assert "Time to watch that nothing follows</th><td>30 s</td>" in html
