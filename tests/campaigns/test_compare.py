"""Comparing two campaigns of one charger model (campaigns.compare): verdict changes per step,
step 4's keys added, removed or changed, measured behaviour that moved (boot fields, heartbeat
and meter intervals), "not measured" where a campaign recorded nothing; the page, the PDF (read
back with pypdf), the chooser's empty state, and a vendor kept to its own campaigns."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from pypdf import PdfReader

from campaigns import services
from campaigns.compare import NOT_MEASURED, campaign_compare
from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.runner import run_step
from campaigns.models import Attempt, AttemptStatus, Campaign, Check
from campaigns.steps import step_module
from campaigns.vendor import campaign_share
from tests.campaigns.conftest import GOOD_BOOT, STATION
from tests.campaigns.scripted import ScriptedStation
from tests.factories import FirmwareVersionFactory, StationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BOOT = {"chargePointVendor": "Hyper", "chargePointModel": "HK-AE2", "iccid": "8931",
        "chargePointSerialNumber": "SN1", "firmwareVersion": "1.0"}  # fmt: skip


def ref(direction: str, kind: str, action: str, at: datetime, message: list) -> dict:
    return {"timestamp": at.isoformat(), "direction": direction, "message_type": kind,
            "action": action, "unique_id": str(message[1]), "connection_id": 1,
            "raw": json.dumps(message)}  # fmt: skip


def decide(campaign: Campaign, number: int, verdict: str = "ok", *, attachments=None,
           evidence: dict[str, list[dict]] | None = None) -> Attempt:  # fmt: skip
    """A decided attempt of step `number` with its attachments and, per criterion key, a
    check whose evidence is the frames given."""
    item = campaign.plan.select_related("function").get(function__number=number)
    attempt = Attempt.objects.create(
        plan_item=item, station=campaign.station, number=item.attempts.count() + 1,
        status=AttemptStatus.FINISHED, started=T0, ended=T0, proposed_verdict="ok",
        final_verdict=verdict, result_text=verdict, attachments=attachments or {},
        parameters=campaign.parameters,
    )  # fmt: skip
    for key, frames in (evidence or {}).items():
        Check.objects.create(attempt=attempt, criterion=item.function.criteria.get(key=key),
                             key=f"{key}#x", outcome="passed", detail="x", evidence=frames,
                             at=T0)  # fmt: skip
    return attempt


def boot(campaign: Campaign, **fields) -> None:
    payload = {**BOOT, **fields}
    frame = ref("in", "CALL", "BootNotification", T0, [2, "b1", "BootNotification", payload])
    decide(campaign, 1, evidence={"1.a": [frame]})


def heartbeats(campaign: Campaign, *, own: str, gaps: list[float]) -> None:
    read = ref("in", "CALLRESULT", "GetConfiguration", T0,
               [3, "g1", {"configurationKey": [{"key": "HeartbeatInterval", "value": own,
                                                "readonly": False}]}])  # fmt: skip
    # The triggered Heartbeat proves 2.b: it is no periodic beat and must not count as one.
    triggered = ref("in", "CALL", "Heartbeat", T0 + timedelta(seconds=1), [2, "t", "Heartbeat", {}])
    at, beats = T0 + timedelta(seconds=5), []
    for number, gap in enumerate([0.0, *gaps]):
        at += timedelta(seconds=gap)
        beats.append(ref("in", "CALL", "Heartbeat", at, [2, f"h{number}", "Heartbeat", {}]))
    decide(campaign, 2, evidence={"2.c": [read], "2.b": [triggered], "2.a": beats})


def meter(campaign: Campaign, *, gaps: list[float]) -> None:
    at, series = T0, []
    for gap in [0.0, *gaps]:
        at += timedelta(seconds=gap)
        series += [{"timestamp": at.isoformat(), "measurand": m, "unit": u, "value": "1",
                    "phase": None, "context": "Sample.Periodic"}
                   for m, u in (("Voltage", "V"), ("Power.Active.Import", "W"))]  # fmt: skip
    series.append(
        {
            "timestamp": (at + timedelta(seconds=3)).isoformat(),
            "value": "9",
            "measurand": "Energy.Active.Import.Register",
            "context": "Transaction.End",
        }
    )
    decide(campaign, 8, attachments={"meter_series": series})


def configuration(campaign: Campaign, keys: dict[str, tuple[str, bool]]) -> None:
    table = [{"key": k, "readonly": ro, "value": v} for k, (v, ro) in keys.items()]
    decide(campaign, 4, attachments={"configuration": table})


@pytest.fixture
def pair(qa_user, vendor_user):
    """Two campaigns of one station (the vendor's), on firmware 1.0 and then 2.0."""
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    made = []
    for version in ("1.0", "2.0"):
        firmware = FirmwareVersionFactory(charger_model=station.charger_model, version=version)
        made.append(services.campaign_create(station=station, owner=qa_user, firmware=firmware,
                                             parameters=LabParameters()))  # fmt: skip
    return made


def test_verdicts_that_changed_from_one_campaign_to_the_other_are_marked(pair):
    a, b = pair
    decide(a, 3, "ok")
    decide(b, 3, "ok")  # a retest decided otherwise: the last decided attempt is the verdict
    decide(b, 3, "failed")
    decide(a, 5, "ok")
    decide(b, 5, "ok")
    decide(b, 6, "not_supported")
    steps = {s.number: s for s in campaign_compare(a=a, b=b).steps}
    assert len(steps) == 16
    assert (steps[3].a, steps[3].b, steps[3].changed) == ("Ok", "Failed", True)
    assert not steps[5].changed
    assert (steps[6].a, steps[6].b, steps[6].changed) == ("Not decided", "Not supported", True)
    assert not steps[7].changed  # undecided in both


def test_configuration_keys_added_removed_and_changed_in_value_or_readonly_flag(pair):
    a, b = pair
    configuration(a, {"HeartbeatInterval": ("300", False), "LegacyKey": ("1", False),
                      "ResetRetries": ("3", True), "NumberOfConnectors": ("2", True)})  # fmt: skip
    configuration(b, {"HeartbeatInterval": ("60", False), "NewKey": ("on", False),
                      "ResetRetries": ("3", False), "NumberOfConnectors": ("2", True)})  # fmt: skip
    found = campaign_compare(a=a, b=b).configuration
    changes = {c.key: c for c in found.changes}
    assert found.compared and found.unchanged == 1  # NumberOfConnectors
    assert (changes["NewKey"].kind, changes["NewKey"].a) == ("added", None)
    assert (changes["LegacyKey"].kind, changes["LegacyKey"].b) == ("removed", None)
    heartbeat = changes["HeartbeatInterval"]
    assert (heartbeat.kind, heartbeat.what) == ("changed", "value")
    assert changes["HeartbeatInterval"].b == {"value": "60", "readonly": False}
    assert changes["ResetRetries"].what == "readonly flag"
    assert "NumberOfConnectors" not in changes


def test_intervals_and_boot_fields_that_moved_and_jitter_that_did_not(pair):
    a, b = pair
    boot(a)
    boot(b, firmwareVersion="2.0", imsi="2620")
    heartbeats(a, own="300", gaps=[60.0, 60.2])
    heartbeats(b, own="300", gaps=[90.1, 89.9])
    meter(a, gaps=[30.0, 30.0])
    meter(b, gaps=[30.4, 29.9])
    measures = {m.name: m for m in campaign_compare(a=a, b=b).measures}
    assert (measures["Firmware version"].a, measures["Firmware version"].b) == ("1.0", "2.0")
    assert measures["Firmware version"].moved and not measures["Vendor"].moved
    imsi = measures["IMSI"]
    assert (imsi.a, imsi.b, imsi.moved) == ("not sent", "2620", True)
    assert "Meter type" not in measures  # neither station sends it
    own = measures["HeartbeatInterval the station had (read in step 2)"]
    assert (own.a, own.b, own.moved) == ("300 s", "300 s", False)
    beats = measures["Gaps between periodic Heartbeats"]
    assert beats.a.startswith("median 60.1 s (60.0, 60.2") and "the lab set 60 s" in beats.a
    assert beats.b.startswith("median 90.0 s") and beats.moved
    samples = measures["Gaps between periodic meter samples"]
    assert samples.a.startswith("median 30.0 s (30.0, 30.0")
    assert samples.b.startswith("median 30.1 s (30.4, 29.9") and not samples.moved


def test_what_a_campaign_did_not_record_is_not_measured_and_never_moved(pair):
    a, b = pair
    boot(a)
    heartbeats(a, own="300", gaps=[60.0, 60.0])
    meter(a, gaps=[30.0])
    configuration(a, {"HeartbeatInterval": ("300", False)})
    decide(b, 2, "failed")  # step 2 ran in B but proved no Heartbeat
    comparison = campaign_compare(a=a, b=b)
    assert comparison.measures and all(m.b == NOT_MEASURED for m in comparison.measures)
    assert not any(m.moved for m in comparison.measures)
    assert comparison.configuration.listed_a and not comparison.configuration.listed_b
    assert comparison.configuration.changes == []


def test_different_lab_intervals_are_not_compared_as_a_move(pair):
    a, b = pair
    b.parameters = {**b.parameters, "heartbeat_interval": 2}
    b.save()
    heartbeats(a, own="300", gaps=[60.0, 60.0])
    heartbeats(b, own="300", gaps=[2.0, 2.0])
    beats = next(m for m in campaign_compare(a=a, b=b).measures if m.name.startswith("Gaps b"))
    assert not beats.moved and beats.note == "not comparable: the lab set 60 s and 2 s"


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def filled(a: Campaign, b: Campaign) -> None:
    decide(a, 3, "ok")
    decide(b, 3, "failed")
    configuration(a, {"HeartbeatInterval": ("300", False), "LegacyKey": ("1", False)})
    configuration(b, {"HeartbeatInterval": ("60", False), "NewKey": ("on", False)})
    heartbeats(a, own="300", gaps=[60.0, 60.0])
    heartbeats(b, own="300", gaps=[120.0, 120.0])


def test_the_campaign_page_leads_to_the_chooser_and_the_comparison_page(qa_client, pair):
    a, b = pair
    filled(a, b)
    detail = qa_client.get(reverse("campaigns:campaign_detail", args=[b.pk])).content.decode()
    assert reverse("campaigns:compare_choose", args=[b.pk]) in detail and "Compare with" in detail
    chooser = qa_client.get(reverse("campaigns:compare_choose", args=[b.pk]))
    assert reverse("campaigns:compare", args=[b.pk, a.pk]) in chooser.content.decode()
    chosen = qa_client.get(reverse("campaigns:compare_choose", args=[b.pk]), {"with": a.pk})
    assert chosen.status_code == 302
    page = flat(qa_client.get(chosen["Location"]).content.decode())
    # From the older campaign (A) to the newer (B), whichever page it was opened from.
    assert f'campaign #{a.pk} <span class="muted">→</span> #{b.pk}' in page
    assert "changed</b>: Ok → Failed" in page
    assert "NewKey" in page and "added" in page and "LegacyKey" in page and "removed" in page
    assert "moved" in page and NOT_MEASURED in page  # boot and meter: neither recorded
    assert reverse("campaigns:compare_pdf", args=[b.pk, a.pk]) in page


def test_the_comparison_pdf_says_what_changed(qa_client, pair):
    a, b = pair
    filled(a, b)
    response = qa_client.get(reverse("campaigns:compare_pdf", args=[a.pk, b.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages))
    assert f"campaigns #{a.pk} → #{b.pk}" in text
    assert "changed: Ok → Failed" in text
    assert "NewKey added not listed on (read-write)" in text
    assert "LegacyKey removed 1 (read-write) not listed" in text
    assert "HeartbeatInterval changed (value) 300 (read-write) 60 (read-write)" in text
    assert "median 120.0 s (120.0, 120.0; the lab set 60 s) moved" in text
    assert "BootNotification fields not measured not measured not compared" in text
    assert re.search(r"page 1 of \d", text)


def test_campaigns_of_different_models_are_refused_with_a_message(qa_client, qa_user, pair):
    a, _ = pair
    elsewhere = services.campaign_create(station=StationFactory(), owner=qa_user)
    for name in ("compare", "compare_pdf"):
        response = qa_client.get(reverse(f"campaigns:{name}", args=[a.pk, elsewhere.pk]))
        assert response.status_code == 400
        assert "only campaigns of one charger model compare" in response.content.decode()
    chooser = qa_client.get(reverse("campaigns:compare_choose", args=[a.pk])).content.decode()
    assert f"#{elsewhere.pk}<" not in chooser


def test_a_campaign_alone_of_its_model_has_nothing_to_compare_with(qa_client, qa_user):
    lone = services.campaign_create(station=StationFactory(), owner=qa_user)
    page = qa_client.get(reverse("campaigns:compare_choose", args=[lone.pk])).content.decode()
    assert "No other campaign of" in page and "to compare with" in page


def test_a_vendor_compares_its_own_campaigns_and_nothing_of_another_vendor(
    vendor_client, qa_user, pair
):
    a, b = pair
    assert vendor_client.get(reverse("campaigns:compare", args=[a.pk, b.pk])).status_code == 404
    for campaign in pair:  # the lab's until shared (issue 11.5)
        campaign_share(campaign=campaign, user=qa_user)
    assert vendor_client.get(reverse("campaigns:compare", args=[a.pk, b.pk])).status_code == 200
    theirs = services.campaign_create(station=StationFactory(), owner=qa_user)
    for name in ("compare", "compare_pdf"):
        for args in ([a.pk, theirs.pk], [theirs.pk, a.pk]):
            assert vendor_client.get(reverse(f"campaigns:{name}", args=args)).status_code == 404
    assert vendor_client.get(reverse("campaigns:compare_choose", args=[theirs.pk])).status_code == (
        404
    )
    # A campaign of the vendor's own model the lab has not shared is neither listed nor compared.
    unshared = services.campaign_create(station=a.station, owner=qa_user)
    chooser = vendor_client.get(reverse("campaigns:compare_choose", args=[a.pk])).content.decode()
    assert reverse("campaigns:compare", args=[a.pk, b.pk]) in chooser
    assert reverse("campaigns:compare", args=[a.pk, unshared.pk]) not in chooser
    refused = vendor_client.get(reverse("campaigns:compare", args=[a.pk, unshared.pk]))
    assert refused.status_code == 404


def run_and_store(campaign: Campaign, number: int, script, **params) -> None:
    """Run the real step module against a scripted station and keep what it recorded as the
    worker does (campaigns.execution): its checks with their evidence and its attachments."""

    async def run():
        scripted = ScriptedStation()
        script(scripted)
        ctx = StepContext(port=scripted, station=STATION, params=LabParameters.fast(
            answer_prompts_on_simulator=False, **params))  # fmt: skip
        await run_step(step_module(number), ctx, time_limit=30)
        return ctx

    ctx = asyncio.run(run())
    attempt = decide(campaign, number, attachments=json.loads(json.dumps(ctx.attachments)))
    criteria = {c.key: c for c in attempt.plan_item.function.criteria.all()}
    Check.objects.bulk_create(
        Check(attempt=attempt, criterion=criteria[r.criterion], key=r.key, outcome=r.outcome.value,
              level=r.level.value, detail=r.detail, evidence=r.evidence, at=r.at)
        for r in ctx.results
    )  # fmt: skip


def beating(interval: float, firmware: str):
    def script(scripted) -> None:
        values = {"HeartbeatInterval": "300"}

        def get(payload: dict) -> dict:
            keys = payload.get("key") or list(values)
            return {"configurationKey": [{"key": k, "readonly": False, "value": values[k]}
                                         for k in keys if k in values]}  # fmt: skip

        def change(payload: dict) -> dict:
            for n in range(1, 5):
                scripted.emit("Heartbeat", {}, interval * n)
            values[payload["key"]] = payload["value"]
            return {"status": "Accepted"}

        scripted.on("GetConfiguration", get)
        scripted.on("ChangeConfiguration", change)
        scripted.on("TriggerMessage", {"status": "Accepted"}, then=[("Heartbeat", {}, 0.05)])
        scripted.emit("BootNotification", {**GOOD_BOOT, "firmwareVersion": firmware}, 0.1)

    return script


def test_what_the_real_steps_record_is_what_the_comparison_reads(pair):
    a, b = pair
    # The lab sets 1 s in both; the station on V2 beats every 2.5 s regardless.
    for campaign, beat, firmware in ((a, 1.0, "V1"), (b, 2.5, "V2")):
        campaign.parameters = {**campaign.parameters, "heartbeat_interval": 1}
        campaign.save()
        run_and_store(campaign, 1, beating(beat, firmware))
        run_and_store(campaign, 2, beating(beat, firmware), heartbeat_interval=1,
                      heartbeat_tolerance=0.9)  # fmt: skip
    measures = {m.name: m for m in campaign_compare(a=a, b=b).measures}
    assert (measures["Firmware version"].a, measures["Firmware version"].b) == ("V1", "V2")
    assert measures["Firmware version"].moved and not measures["Model"].moved
    assert measures["Model"].a == GOOD_BOOT["chargePointModel"]
    own = measures["HeartbeatInterval the station had (read in step 2)"]
    assert (own.a, own.b, own.moved) == ("300 s", "300 s", False)
    beats = measures["Gaps between periodic Heartbeats"]
    medians = [float(re.match(r"median ([\d.]+) s", text)[1]) for text in (beats.a, beats.b)]
    # The scripted beats are timed by the event loop: a loaded machine may delay one a little.
    assert medians[0] == pytest.approx(1.0, abs=0.3) and medians[1] == pytest.approx(2.5, abs=0.3)
    assert "the lab set 1 s" in beats.a and beats.moved


def test_the_chooser_lists_the_models_campaigns_newest_first_25_a_page(qa_client, qa_user, pair):
    a, b = pair
    more = [services.campaign_create(station=a.station, owner=qa_user) for _ in range(25)]
    url = reverse("campaigns:compare_choose", args=[a.pk])
    first = qa_client.get(url).content.decode()
    assert reverse("campaigns:compare", args=[a.pk, more[-1].pk]) in first
    assert reverse("campaigns:compare", args=[a.pk, b.pk]) not in first  # the 26th: next page
    second = qa_client.get(url, {"page": 2}).content.decode()
    assert reverse("campaigns:compare", args=[a.pk, b.pk]) in second


def test_the_api_gives_the_comparison_with_the_pages_rules(qa_user, vendor_user, pair):
    from rest_framework.test import APIClient

    a, b = pair
    decide(a, 3, "ok")
    decide(b, 3, "failed")
    configuration(a, {"HeartbeatInterval": ("300", False)})
    configuration(b, {"HeartbeatInterval": ("60", False), "NewKey": ("on", False)})
    api = APIClient()
    api.force_authenticate(qa_user)
    body = api.get(f"/api/v1/campaigns/{b.pk}/compare/{a.pk}/").json()
    assert (body["a"], body["b"]) == (a.pk, b.pk)  # the older is a, whichever is asked from
    step3 = next(s for s in body["steps"] if s["number"] == 3)
    assert (step3["a"], step3["b"], step3["changed"]) == ("Ok", "Failed", True)
    changes = {c["key"]: c for c in body["configuration"]["changes"]}
    assert changes["NewKey"]["kind"] == "added"
    assert changes["HeartbeatInterval"]["what"] == "value"
    boot = [m for m in body["measures"] if m["group"] == "Boot"]
    assert boot and all(m["a"] == NOT_MEASURED and not m["moved"] for m in boot)
    elsewhere = services.campaign_create(station=StationFactory(), owner=qa_user)
    refused = api.get(f"/api/v1/campaigns/{a.pk}/compare/{elsewhere.pk}/")
    assert refused.status_code == 400 and "one charger model" in refused.json()["detail"]
    assert api.get(f"/api/v1/campaigns/{a.pk}/compare/{a.pk}/").status_code == 400
    vendor = APIClient()
    vendor.force_authenticate(vendor_user)
    assert vendor.get(f"/api/v1/campaigns/{a.pk}/compare/{b.pk}/").status_code == 404  # unshared
    campaign_share(campaign=a, user=qa_user)
    assert vendor.get(f"/api/v1/campaigns/{a.pk}/compare/{b.pk}/").status_code == 404
    campaign_share(campaign=b, user=qa_user)
    assert vendor.get(f"/api/v1/campaigns/{a.pk}/compare/{b.pk}/").status_code == 200
    assert vendor.get(f"/api/v1/campaigns/{a.pk}/compare/{elsewhere.pk}/").status_code == 404
