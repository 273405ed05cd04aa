"""Every campaign button as an API call, each through campaigns.services: its refusals come
back as a 400 (409 for a station already busy) with the service's own message."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.models import Attempt, Prompt

pytestmark = pytest.mark.django_db


def test_a_campaign_is_created_with_the_forms_defaults_and_every_step_planned(qa_api, ours):
    response = qa_api.post(
        "/api/v1/campaigns/",
        {"station": ours.station.pk, "rehearsal": True, "valid_id_tag": "TAG-OK"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["firmware"] == ours.firmware.pk
    assert body["parameters"]["heartbeat_interval"] == 2  # the rehearsal's fast intervals
    assert body["parameters"]["valid_id_tag"] == "TAG-OK"
    assert [s["number"] for s in body["steps"]] == list(range(1, 17))
    assert {s["applicability"] for s in body["steps"]} == {"planned"}


def test_a_campaign_with_bad_input_is_a_400_naming_the_field(qa_api, ours, theirs):
    wrong_model = qa_api.post(
        "/api/v1/campaigns/",
        {"station": ours.station.pk, "firmware": theirs.firmware.pk},
        format="json",
    )
    assert wrong_model.status_code == 400 and "firmware" in wrong_model.json()
    same_tags = qa_api.post(
        "/api/v1/campaigns/",
        {"station": ours.station.pk, "valid_id_tag": "A", "invalid_id_tag": "A"},
        format="json",
    )
    assert same_tags.status_code == 400 and "invalid_id_tag" in same_tags.json()
    nothing = qa_api.post("/api/v1/campaigns/", {}, format="json")
    assert nothing.status_code == 400 and "station" in nothing.json()


def test_planning_a_step_out_needs_a_reason(qa_api, ours):
    url = f"/api/v1/campaigns/{ours.campaign.pk}/steps/7/plan/"
    refused = qa_api.post(url, {"applicability": "not_applicable"}, format="json")
    assert refused.status_code == 400
    assert "Say why" in refused.json()["detail"]
    done = qa_api.post(
        url, {"applicability": "not_applicable", "reason": "no RFID reader"}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["verdict"] == "not_applicable"
    assert "no RFID reader" in done.json()["result"]


def test_running_a_step_queues_an_attempt_and_a_busy_station_is_a_409(
    qa_api, ours, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("campaigns.tasks.run_attempt.delay", queued.append)
    url = f"/api/v1/campaigns/{ours.campaign.pk}/steps/2/run/"
    with django_capture_on_commit_callbacks(execute=True):
        response = qa_api.post(url)
    assert response.status_code == 201, response.json()
    attempt = response.json()
    assert (attempt["step"], attempt["number"], attempt["status"]) == (2, 1, "queued")
    assert queued == [attempt["id"]]
    busy = qa_api.post(f"/api/v1/campaigns/{ours.campaign.pk}/steps/3/run/")
    assert busy.status_code == 409
    assert "already running a step" in busy.json()["detail"]
    early = qa_api.post(
        f"/api/v1/attempts/{attempt['id']}/verdict/",
        {"verdict": "ok", "result_text": "Ok"},
        format="json",
    )
    assert early.status_code == 400 and "still running" in early.json()["detail"]
    aborted = qa_api.post(f"/api/v1/attempts/{attempt['id']}/abort/")
    assert aborted.json()["abort_requested"] is True


def test_an_open_prompt_is_answered_with_one_of_its_choices(qa_api, ours):
    prompt = Prompt.objects.create(
        attempt=ours.attempt,
        text="Plug in",
        choices=["Done", "Cannot do"],
        kind="plug_in",
        details={"connector_id": 1},
        deadline=timezone.now(),
    )
    url = f"/api/v1/prompts/{prompt.pk}/answer/"
    wrong = qa_api.post(url, {"choice": "Maybe"}, format="json")
    assert wrong.status_code == 400 and "not one of the answers" in wrong.json()["detail"]
    answered = qa_api.post(url, {"choice": "Done"}, format="json")
    assert answered.status_code == 200
    assert (answered.json()["status"], answered.json()["answered_by"]) == ("answered", "qa-api")
    again = qa_api.post(url, {"choice": "Done"}, format="json")
    assert again.status_code == 400 and "no longer open" in again.json()["detail"]
    simulate = qa_api.post(f"/api/v1/prompts/{prompt.pk}/simulate/")
    assert simulate.status_code == 400


def test_a_verdict_complete_reopen_and_sign_off_follow_the_campaign_rules(qa_api, ours):
    campaign = f"/api/v1/campaigns/{ours.campaign.pk}"
    verdict = qa_api.post(
        f"/api/v1/attempts/{ours.attempt.pk}/verdict/",
        {"verdict": "ok", "result_text": "Ok", "notes": "clean boot"},
        format="json",
    )
    assert verdict.status_code == 200
    assert (verdict.json()["final_verdict"], verdict.json()["decided_by"]) == ("ok", "qa-api")
    assert qa_api.get(f"{campaign}/steps/1/").json()["verdict"] == "ok"
    assert qa_api.post(f"{campaign}/sign-off/").status_code == 400
    undecided = qa_api.post(f"{campaign}/complete/")
    assert undecided.status_code == 400
    assert "without a final verdict" in undecided.json()["detail"]
    for number in range(2, 17):
        qa_api.post(
            f"{campaign}/steps/{number}/plan/",
            {"applicability": "not_supported_by_lab", "reason": "not today"},
            format="json",
        )
    assert qa_api.post(f"{campaign}/complete/").json()["status"] == "completed"
    assert qa_api.post(f"{campaign}/reopen/").json()["status"] == "running"
    assert qa_api.post(f"{campaign}/reopen/").status_code == 400
    assert qa_api.post(f"{campaign}/complete/").json()["status"] == "completed"
    signed = qa_api.post(f"{campaign}/sign-off/")
    assert signed.status_code == 200, signed.json()
    assert (signed.json()["status"], signed.json()["signed_off_by"]) == ("signed_off", "qa-api")
    locked = qa_api.post(f"{campaign}/steps/1/run/")
    assert locked.status_code == 400 and "signed off" in locked.json()["detail"]


def test_texts_longer_than_the_forms_allow_are_a_400_naming_the_limit(qa_api, ours):
    """The API holds the same limits as the forms (certlab.limits): nothing the report prints
    arrives longer than it was laid out for, and nothing is cut silently."""
    huge = "x" * 100_000
    verdict = qa_api.post(
        f"/api/v1/attempts/{ours.attempt.pk}/verdict/",
        {"verdict": "ok", "result_text": huge},
        format="json",
    )
    assert verdict.status_code == 400
    assert "no more than 2000 characters" in verdict.json()["result_text"][0]
    notes = qa_api.post(
        f"/api/v1/attempts/{ours.attempt.pk}/verdict/",
        {"verdict": "ok", "result_text": "Ok", "notes": huge},
        format="json",
    )
    assert notes.status_code == 400 and "no more than 4000" in notes.json()["notes"][0]
    ours.attempt.refresh_from_db()
    assert ours.attempt.final_verdict == "" and ours.attempt.result_text == ""
    reason = qa_api.post(
        f"/api/v1/campaigns/{ours.campaign.pk}/steps/7/plan/",
        {"applicability": "not_applicable", "reason": huge},
        format="json",
    )
    assert reason.status_code == 400 and "no more than 500" in reason.json()["reason"][0]
    created = qa_api.post(
        "/api/v1/campaigns/", {"station": ours.station.pk, "notes": huge}, format="json"
    )
    assert created.status_code == 400 and "no more than 4000" in created.json()["notes"][0]
    exactly = qa_api.post(
        f"/api/v1/attempts/{ours.attempt.pk}/verdict/",
        {"verdict": "ok", "result_text": "y" * 2000},
        format="json",
    )
    assert exactly.status_code == 200


def test_an_attempt_shows_its_criteria_checks_evidence_and_prompts(qa_api, vendor_api, ours):
    ours.attempt.attachments = {"traceback": "lab trouble", "configuration": {"a": 1}}
    ours.attempt.save()
    body = qa_api.get(f"/api/v1/attempts/{ours.attempt.pk}/").json()
    (check,) = body["checks"]
    assert check["evidence"] == [{"id": ours.frame.pk, "raw": ours.frame.raw}]
    assert check["criterion"].startswith("1.")
    assert body["prompts"][0]["kind"] == "power_cycle"
    assert body["attachments"]["traceback"] == "lab trouble"
    vendor_view = vendor_api.get(f"/api/v1/attempts/{ours.attempt.pk}/").json()
    assert "traceback" not in vendor_view["attachments"]
    listed = qa_api.get("/api/v1/attempts/", {"campaign": ours.campaign.pk, "step": 1}).json()
    assert [a["id"] for a in listed["results"]] == [ours.attempt.pk]
    assert Attempt.objects.count() >= 1


def test_the_catalogue_lists_sixteen_functions_with_their_criteria(qa_api, vendor_api):
    body = vendor_api.get("/api/v1/catalogue/").json()
    assert len(body["functions"]) == 16
    assert body["functions"][0]["criteria"][0]["key"] == "1.a"


def test_a_campaigns_lab_parameters_and_strict_mode_are_the_forms(qa_api, ours):
    response = qa_api.post(
        "/api/v1/campaigns/",
        {
            "station": ours.station.pk,
            "strict": True,
            "heartbeat_interval": 120,
            "heartbeat_tolerance": 10,
            "answer_prompts_on_simulator": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    parameters = response.json()["parameters"]
    assert parameters["heartbeat_interval"] == 120
    assert parameters["heartbeat_tolerance"] == 0.1
    assert parameters["answer_prompts_on_simulator"] is True
    from campaigns.models import Campaign

    assert Campaign.objects.get(pk=response.json()["id"]).strict is True
    too_long = qa_api.post(
        "/api/v1/campaigns/", {"station": ours.station.pk, "heartbeat_interval": 0}, format="json"
    )
    assert too_long.status_code == 400 and "heartbeat_interval" in too_long.json()


def test_how_late_certlab_may_answer_and_the_cable_prompt_wait_are_api_parameters(qa_api, ours):
    response = qa_api.post(
        "/api/v1/campaigns/",
        {"station": ours.station.pk, "late_answer": 4, "cable_prompt_wait": 0},
        format="json",
    )
    assert response.status_code == 201, response.json()
    parameters = response.json()["parameters"]
    assert (parameters["late_answer"], parameters["cable_prompt_wait"]) == (4, 0)
    for name, value in (("late_answer", 0), ("cable_prompt_wait", 31)):
        refused = qa_api.post(
            "/api/v1/campaigns/", {"station": ours.station.pk, name: value}, format="json"
        )
        assert refused.status_code == 400 and name in refused.json(), refused.json()


def test_qa_end_a_long_wait_through_the_api_and_a_vendor_cannot(qa_api, vendor_api, ours):
    from campaigns.models import Attempt

    Attempt.objects.filter(pk=ours.attempt.pk).update(
        status="running", waiting={"id": 7, "what": "a FirmwareStatusNotification"}
    )
    shown = qa_api.get(f"/api/v1/attempts/{ours.attempt.pk}/").json()
    assert shown["waiting"]["id"] == 7
    url = f"/api/v1/attempts/{ours.attempt.pk}/end-wait/"
    assert vendor_api.post(url, {"wait": 7}, format="json").status_code == 403
    over = qa_api.post(url, {"wait": 6}, format="json")
    assert over.status_code == 400 and "over already" in over.json()["detail"]
    assert qa_api.post(url, {}, format="json").status_code == 400
    assert qa_api.post(url, {"wait": 7}, format="json").status_code == 200
    assert Attempt.objects.get(pk=ours.attempt.pk).end_wait_requested == 7


def test_a_prompts_timed_actions_are_in_the_api(qa_api, ours):
    Prompt.objects.create(
        attempt=ours.attempt, text="Cut the network", choices=["Done"],
        deadline=timezone.now(), steps=[{"text": "Unplug it", "seconds": 30}],
    )  # fmt: skip
    prompts = qa_api.get(f"/api/v1/attempts/{ours.attempt.pk}/").json()["prompts"]
    assert prompts[-1]["steps"] == [{"text": "Unplug it", "seconds": 30}]
