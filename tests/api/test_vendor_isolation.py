"""A vendor reads its own manufacturer's objects through every endpoint and gets a 404 for
another vendor's, exactly as on the pages; it changes nothing (403, before any look-up)."""

from __future__ import annotations

import pytest

from tests.api.conftest import World

pytestmark = pytest.mark.django_db

# Every object endpoint a vendor may read, by the object of a World it addresses (the
# long-polls, served beside Django, are in test_waiting.py).
READS = [
    ("/api/v1/manufacturers/{w.manufacturer.pk}/", None),
    ("/api/v1/models/{w.model.pk}/", None),
    ("/api/v1/firmware/{w.firmware.pk}/", None),
    ("/api/v1/firmware/{w.firmware.pk}/file/", None),
    ("/api/v1/stations/{w.station.pk}/", None),
    ("/api/v1/stations/{w.station.pk}/frames/", "results"),
    ("/api/v1/stations/{w.station.pk}/diagnostics/", "results"),
    ("/api/v1/stations/{w.station.pk}/firmware-downloads/", "results"),
    ("/api/v1/diagnostics/{w.diagnostics.pk}/", None),
    ("/api/v1/diagnostics/{w.diagnostics.pk}/file/", None),
    ("/api/v1/campaigns/{w.campaign.pk}/", None),
    ("/api/v1/campaigns/{w.campaign.pk}/steps/1/", None),
    ("/api/v1/attempts/{w.attempt.pk}/", None),
    ("/api/v1/prompts/{w.prompt.pk}/", None),
]
LISTS = [
    ("/api/v1/manufacturers/", lambda w: w.manufacturer.pk),
    ("/api/v1/models/", lambda w: w.model.pk),
    ("/api/v1/firmware/", lambda w: w.firmware.pk),
    ("/api/v1/stations/", lambda w: w.station.pk),
    ("/api/v1/campaigns/", lambda w: w.campaign.pk),
    ("/api/v1/attempts/", lambda w: w.attempt.pk),
]
WRITES = [
    ("post", "/api/v1/manufacturers/", {"name": "Mine now"}),
    ("patch", "/api/v1/manufacturers/{w.manufacturer.pk}/", {"name": "Renamed"}),
    ("post", "/api/v1/models/", {"name": "X"}),
    ("patch", "/api/v1/models/{w.model.pk}/", {"name": "X"}),
    ("post", "/api/v1/firmware/", {"version": "9"}),
    ("patch", "/api/v1/firmware/{w.firmware.pk}/", {"version": "9"}),
    ("post", "/api/v1/stations/", {"charge_point_id": "MINE"}),
    ("patch", "/api/v1/stations/{w.station.pk}/", {"notes": "x"}),
    ("post", "/api/v1/campaigns/", {"station": "{w.station.pk}"}),
    ("post", "/api/v1/campaigns/{w.campaign.pk}/complete/", {}),
    ("post", "/api/v1/campaigns/{w.campaign.pk}/sign-off/", {}),
    ("post", "/api/v1/campaigns/{w.campaign.pk}/share/", {}),
    ("post", "/api/v1/campaigns/{w.campaign.pk}/unshare/", {}),
    ("post", "/api/v1/campaigns/{w.campaign.pk}/reopen/", {}),
    ("post", "/api/v1/attempts/{w.attempt.pk}/end-wait/", {"wait": 1}),
    ("post", "/api/v1/campaigns/{w.campaign.pk}/steps/1/plan/", {"applicability": "planned"}),
    ("post", "/api/v1/campaigns/{w.campaign.pk}/steps/1/run/", {}),
    ("post", "/api/v1/attempts/{w.attempt.pk}/abort/", {}),
    ("post", "/api/v1/attempts/{w.attempt.pk}/verdict/", {"verdict": "ok", "result_text": "Ok"}),
    ("post", "/api/v1/prompts/{w.prompt.pk}/answer/", {"choice": "Done"}),
    ("post", "/api/v1/prompts/{w.prompt.pk}/simulate/", {}),
]


def _url(template: str, world: World) -> str:
    return template.format(w=world)


@pytest.mark.parametrize(("template", "listed"), READS)
def test_a_vendor_reads_its_own_objects(vendor_api, ours, theirs, template, listed):
    response = vendor_api.get(_url(template, ours))
    assert response.status_code == 200, response.content[:300]
    if listed:
        assert response.json()[listed], "its own list is not empty"


@pytest.mark.parametrize(("template", "listed"), READS)
def test_another_vendors_object_is_not_found(vendor_api, ours, theirs, template, listed):
    assert vendor_api.get(_url(template, theirs)).status_code == 404


@pytest.mark.parametrize(("template", "pk_of"), LISTS)
def test_a_vendors_lists_hold_only_its_own_objects(
    vendor_api, qa_api, ours, theirs, template, pk_of
):
    ids = {row["id"] for row in vendor_api.get(template).json()["results"]}
    assert ids == {pk_of(ours)}
    everything = {row["id"] for row in qa_api.get(template).json()["results"]}
    assert {pk_of(ours), pk_of(theirs)} <= everything


def test_the_campaign_filter_by_another_vendors_station_lists_nothing(vendor_api, ours, theirs):
    response = vendor_api.get(f"/api/v1/campaigns/?station={theirs.station.pk}")
    assert response.json()["results"] == []


def test_attempt_filters_cannot_reach_another_vendors_attempts(vendor_api, ours, theirs):
    for name in ("campaign", "station"):
        value = getattr(theirs, name).pk
        assert vendor_api.get(f"/api/v1/attempts/?{name}={value}").json()["results"] == []


@pytest.mark.parametrize(("method", "template", "body"), WRITES)
@pytest.mark.parametrize("whose", ["ours", "theirs"])
def test_a_vendor_changes_nothing(vendor_api, ours, theirs, method, template, body, whose):
    world = {"ours": ours, "theirs": theirs}[whose]
    data = {k: (_url(v, world) if isinstance(v, str) else v) for k, v in body.items()}
    response = getattr(vendor_api, method)(_url(template, world), data, format="json")
    assert response.status_code == 403
    ours.campaign.refresh_from_db()
    assert ours.campaign.status == "draft"


def test_a_vendors_one_campaign_write_reaches_only_its_own_campaign(vendor_api, ours, theirs):
    # Acknowledging a report is the vendor's to do (campaigns.vendor): another's campaign is a
    # 404, its own campaign not signed off a 400, and neither changes.
    def acknowledge(world: World) -> int:
        return vendor_api.post(f"/api/v1/campaigns/{world.campaign.pk}/acknowledge/").status_code

    assert (acknowledge(theirs), acknowledge(ours)) == (404, 400)
    for world in (ours, theirs):
        world.campaign.refresh_from_db()
        assert world.campaign.vendor_acknowledged is None


def test_a_vendor_does_not_see_the_labs_campaign_notes(vendor_api, qa_api, ours):
    url = f"/api/v1/campaigns/{ours.campaign.pk}/"
    assert vendor_api.get(url).json()["notes"] == ""
    assert qa_api.get(url).json()["notes"] == "lab notes Ours"


def test_the_evidence_frame_list_of_another_vendors_station_is_not_found(vendor_api, theirs):
    url = f"/api/v1/stations/{theirs.station.pk}/frames/?after=0"
    assert vendor_api.get(url).status_code == 404


def test_a_user_without_a_token_or_session_is_refused(client, ours):
    for template, _ in READS:
        response = client.get(_url(template, ours))
        assert response.status_code == 401, template
