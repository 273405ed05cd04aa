"""What the station's declaration rules out: planned not applicable with the reason before the
run, criteria marked not applicable by the engine, parts of checks a step leaves out."""

from dataclasses import replace

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.engine import needs
from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.models import Applicability
from campaigns.steps import all_steps, step_module
from stations.capabilities import Capabilities
from tests.campaigns.conftest import GOOD_BOOT, STATION
from tests.factories import StationFactory


def _ctx(scripted, **capabilities) -> StepContext:
    params = LabParameters.fast(answer_prompts_on_simulator=False)
    station = replace(STATION, capabilities=Capabilities(**capabilities))
    return StepContext(port=scripted, station=station, params=params)


def test_every_need_names_a_step_criterion_or_part_of_the_catalogue():
    steps = all_steps()
    criteria = {c for step in steps.values() for c in step.CRITERIA}
    for key in needs.NEEDS:
        head = key.split("/", 1)[0]
        assert head in criteria or (head.isdigit() and int(head) in steps), key


def test_a_station_without_the_capabilities_has_the_steps_planned_not_applicable(db, qa_user):
    station = StationFactory(
        charger_model__has_fault_injection=False,
        charger_model__feature_profiles=["Core", "FirmwareManagement"],
        has_cable_sensing=False,
    )
    campaign = services.campaign_create(station=station, owner=qa_user)
    lacking = {
        item.function.number: item.reason
        for item in campaign.plan.exclude(applicability=Applicability.PLANNED)
    }
    assert sorted(lacking) == [10, 11, 16]
    assert lacking[10] == (
        "Not applicable: no hardware error can be provoked on the station (no fault injection) "
        f"(declared for the model {station.charger_model})."
    )
    assert lacking[11].startswith("Not applicable: the station has no cable sensing")
    assert "the station's own declaration" in lacking[11]
    assert lacking[16] == (
        "Not applicable: the station does not support the RemoteTrigger feature profile "
        f"(declared for the model {station.charger_model}: Core, FirmwareManagement)."
    )


def test_undeclared_profiles_leave_every_step_planned(db, qa_user):
    campaign = services.campaign_create(station=StationFactory(), owner=qa_user)
    assert not campaign.plan.exclude(applicability=Applicability.PLANNED).exists()


def test_the_campaign_page_shows_what_does_not_apply_before_the_run(db, qa_user, qa_client):
    station = StationFactory(charger_model__has_rfid_reader=False, has_modem=False)
    campaign = services.campaign_create(station=station, owner=qa_user)
    page = qa_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content
    page = page.decode()
    assert "6.b: Not applicable: the station has no RFID reader" in page
    assert "7.b: Not applicable: the station has no RFID reader" in page
    assert (
        "1.a: the BootNotification&#x27;s iccid is not required: the station has no modem, so "
        "no ICCID (the station&#x27;s own declaration)." in page
    )
    assert "7.c: Not applicable" not in page


async def test_a_criterion_the_declaration_rules_out_is_not_applicable_whatever_is_seen(
    scripted,
):
    """Step 7 would fail 7.b on a stop it cannot have caused: the station has no reader."""
    ctx = _ctx(scripted, has_rfid_reader=False)
    async with ctx:
        ctx.check("7.b", False, "StopTransaction reason Local although no tag was presented")
    result = ctx.results[0]
    assert result.outcome == Outcome.NOT_APPLICABLE
    assert result.detail == (
        "Not applicable: the station has no RFID reader (declared). Seen anyway: "
        "StopTransaction reason Local although no tag was presented"
    )


async def test_the_engine_marks_ruled_out_criteria_before_the_step_runs(scripted):
    """Whatever step 6 records for 6.b and 6.c on a station that answers nothing, they end
    not applicable; 6.a is judged as ever."""
    ctx = _ctx(scripted, has_rfid_reader=False)
    run = await run_step(step_module(6), ctx, time_limit=10)
    assert run.outcomes["6.b"] == Outcome.NOT_APPLICABLE
    assert run.outcomes["6.c"] == Outcome.NOT_APPLICABLE
    assert run.outcomes["6.a"] == Outcome.FAILED
    declared = [r for r in ctx.results if r.key == "6.b#declared"]
    assert declared[0].detail == "Not applicable: the station has no RFID reader (declared)."


async def test_boot_without_iccid_passes_on_a_station_without_a_modem(scripted):
    boot = {k: v for k, v in GOOD_BOOT.items() if k != "iccid"}
    scripted.emit("BootNotification", boot, 0.1)
    ctx = _ctx(scripted, has_modem=False)
    run = await run_step(step_module(1), ctx, time_limit=5)
    assert run.proposed == Proposed.OK, run.result_text
    fields = next(r for r in ctx.results if r.key == "1.a#fields")
    assert fields.detail.endswith(
        "; iccid not required: the station has no modem, so no ICCID (declared)"
    )
    assert "iccid=" not in fields.detail


async def test_boot_with_an_empty_iccid_fails_on_a_station_with_a_modem(scripted):
    scripted.emit("BootNotification", {**GOOD_BOOT, "iccid": ""}, 0.1)
    ctx = _ctx(scripted)
    run = await run_step(step_module(1), ctx, time_limit=5)
    assert run.outcomes == {"1.a": Outcome.FAILED}
    assert run.result_text == "Failed: BootNotification lacks iccid"


async def test_an_iccid_from_a_station_declared_without_modem_is_pointed_out(scripted):
    scripted.emit("BootNotification", GOOD_BOOT, 0.1)
    ctx = _ctx(scripted, has_modem=False)
    run = await run_step(step_module(1), ctx, time_limit=5)
    fields = next(r for r in ctx.results if r.key == "1.a#fields")
    assert fields.detail.endswith(f", yet the boot carries iccid={GOOD_BOOT['iccid']}")
    assert run.proposed == Proposed.OK


@pytest.mark.parametrize("number", [12, 13])
def test_firmware_management_steps_need_the_profile(number):
    caps = Capabilities(feature_profiles=("Core", "RemoteTrigger"))
    assert "FirmwareManagement feature profile" in needs.step_lacks(caps, number)
    assert needs.step_lacks(Capabilities(), number) is None


def _charging_ctx(charger, **capabilities) -> StepContext:
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, status_window=0.5, transaction_window=0.5
    )
    station = replace(STATION, capabilities=Capabilities(**capabilities))
    return StepContext(port=charger, station=station, params=params, prompts=charger.operator)


async def test_a_station_without_rfid_reader_is_never_asked_for_a_tag_in_step_7(db):
    """The false pass of issue 13: the station stops by itself; 7.b must not take it."""
    from tests.campaigns.charging_lab import ScriptedCharger

    charger = ScriptedCharger()
    ctx = _charging_ctx(charger, has_rfid_reader=False)
    run = await run_step(step_module(7), ctx, time_limit=20)
    assert not [text for text in charger.operator.prompts if "tag" in text]
    assert run.outcomes == {
        "7.a": Outcome.PASSED, "7.b": Outcome.NOT_APPLICABLE, "7.c": Outcome.PASSED
    }  # fmt: skip
    assert run.proposed == Proposed.OK
    starts = [p for a, p in charger.calls if a == "RemoteStartTransaction"]
    assert len(starts) == 2  # no transaction started for the stop that does not apply


async def test_a_station_without_rfid_reader_is_never_asked_for_a_tag_in_step_6(db):
    from tests.campaigns.charging_lab import ScriptedCharger, prepare_tags

    await prepare_tags()
    charger = ScriptedCharger()
    ctx = _charging_ctx(charger, has_rfid_reader=False)
    run = await run_step(step_module(6), ctx, time_limit=20)
    assert not [text for text in charger.operator.prompts if "tag" in text.lower()]
    assert run.outcomes["6.b"] == Outcome.NOT_APPLICABLE
    assert run.outcomes["6.c"] == Outcome.NOT_APPLICABLE
    assert any(n.startswith("Not asked: “Present the unknown RFID tag") for n in ctx.notes)


def test_a_declaration_changed_after_planning_is_shown_and_applied_on_request(
    db, qa_user, qa_client
):
    station = StationFactory()
    campaign = services.campaign_create(station=station, owner=qa_user)
    station.has_fault_injection = False
    station.save()
    url = reverse("campaigns:campaign_detail", args=[campaign.pk])
    page = qa_client.get(url).content.decode()
    assert "now rules out step 10 (Not applicable: no hardware error can be provoked" in page
    assert campaign.plan.get(function__number=10).applicability == Applicability.PLANNED
    response = qa_client.post(reverse("campaigns:campaign_apply_declaration", args=[campaign.pk]))
    assert response.status_code == 302
    item = campaign.plan.get(function__number=10)
    assert item.applicability == Applicability.NOT_APPLICABLE
    assert item.reason.startswith("Not applicable: no hardware error can be provoked")
    assert "now rules out" not in qa_client.get(url).content.decode()


def test_a_vendor_cannot_apply_the_declaration(db, qa_user, vendor_client, vendor_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    campaign = services.campaign_create(station=station, owner=qa_user)
    station.has_fault_injection = False
    station.save()
    url = reverse("campaigns:campaign_apply_declaration", args=[campaign.pk])
    assert vendor_client.post(url).status_code == 403
    assert campaign.plan.get(function__number=10).applicability == Applicability.PLANNED


def test_the_step_page_says_what_will_not_apply_before_the_run(db, qa_user, qa_client):
    station = StationFactory(has_cable_sensing=False)
    campaign = services.campaign_create(station=station, owner=qa_user)
    page = qa_client.get(reverse("campaigns:step_detail", args=[campaign.pk, 7])).content.decode()
    assert "7.c: Not applicable: the station has no cable sensing" in page
    assert "7.b: Not applicable" not in page
