"""Exports: a station's, a campaign's and an attempt's frames as CSV and JSON Lines (streamed, the
raw text as it was logged), a campaign's verdicts as JSON and JUnit XML; links on the pages; a
vendor reaches only its own (404 for another's, every URL)."""

import csv
import io
import json
import tracemalloc
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from campaigns.models import Applicability, Check, CriterionResult
from campaigns.vendor import campaign_share
from stations import frame_export
from stations.models import Frame
from tests.campaigns.report_campaign import T0, full_campaign
from tests.factories import StationFactory, VendorFactory

pytestmark = pytest.mark.django_db

TRICKY = '[2,"a,1","DataTransfer",{"vendorId":"x","data":"line one\\nsaid \\"hi\\", then é"}]'


@pytest.fixture
def station(vendor_user):
    return StationFactory(charger_model__manufacturer=vendor_user.manufacturer)


@pytest.fixture
def campaign(station, qa_user):
    campaign = full_campaign(station=station, owner=qa_user)
    campaign_share(campaign=campaign, user=qa_user)
    return campaign


def log(station, at, raw='[2,"u","Heartbeat",{}]', **fields) -> Frame:
    fields = {
        "direction": "in",
        "message_type": "CALL",
        "action": "Heartbeat",
        "unique_id": "u",
    } | fields
    return Frame.objects.create(station=station, timestamp=at, raw=raw, **fields)


def body(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def test_a_station_log_exports_as_csv_oldest_first_with_the_raw_text_as_logged(
    vendor_client, station
):
    first = log(station, T0, raw=TRICKY, action="DataTransfer", unique_id="a,1")
    second = log(station, T0 + timedelta(seconds=1), direction="out", message_type="CALLERROR",
                 raw='[4,"u","FormationViolation","bad",{}]', error="not OCPP")  # fmt: skip
    log(StationFactory(), T0)  # another station's
    response = vendor_client.get(reverse("stations:frame_export", args=[station.pk, "csv"]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{station.charge_point_id}-frames.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert list(rows[0]) == list(frame_export.COLUMNS)
    assert [r["id"] for r in rows] == [str(first.pk), str(second.pk)]
    assert rows[0]["raw"] == TRICKY
    assert rows[0]["time"] == T0.isoformat()
    assert rows[0]["unique_id"] == "a,1" and rows[0]["action"] == "DataTransfer"
    assert rows[1]["direction"] == "out" and rows[1]["message_type"] == "CALLERROR"
    assert rows[1]["error"] == "not OCPP"


def test_a_station_log_exports_as_json_lines(vendor_client, station):
    log(station, T0, raw=TRICKY)
    response = vendor_client.get(reverse("stations:frame_export", args=[station.pk, "jsonl"]))
    assert response["Content-Type"] == "application/x-ndjson"
    lines = body(response).splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert list(record) == list(frame_export.COLUMNS)
    assert record["raw"] == TRICKY and record["connection"] is None


def test_an_unknown_export_format_is_a_404(qa_client, station):
    url = reverse("stations:frame_export", args=[station.pk, "csv"])
    assert qa_client.get(url).status_code == 200
    assert qa_client.get(url.replace(".csv", ".xlsx")).status_code == 404


def test_an_attempt_exports_its_frames_and_a_campaign_those_of_all_its_attempts(
    qa_client, campaign, station
):
    attempts = list(campaign.plan.get(function__number=1).attempts.all())
    step1 = attempts[0]
    before = log(station, step1.started - timedelta(seconds=1))
    inside = log(station, step1.started + timedelta(seconds=10))
    between = log(station, step1.ended + timedelta(seconds=30))  # steps are 5 minutes apart
    step2 = campaign.plan.get(function__number=2).attempts.get()
    in_step2 = log(station, step2.started + timedelta(seconds=1))

    url = reverse("campaigns:attempt_frames", args=[step1.pk, "csv"])
    response = qa_client.get(url)
    assert f"campaign-{campaign.pk}-step-1-attempt-1-frames.csv" in response["Content-Disposition"]
    assert [r["id"] for r in csv_rows(response)] == [str(inside.pk)]

    response = qa_client.get(reverse("campaigns:campaign_frames", args=[campaign.pk, "jsonl"]))
    ids = [json.loads(line)["id"] for line in body(response).splitlines()]
    assert ids == [inside.pk, in_step2.pk]
    assert before.pk not in ids and between.pk not in ids


def _verdict_campaign(campaign):
    """Step 2 failed on its check, step 3 not observed, step 5 planned not applicable."""
    step2 = campaign.plan.get(function__number=2).attempts.get()
    criterion = step2.criterion_results.first().criterion
    CriterionResult.objects.filter(attempt=step2, criterion=criterion).update(outcome="failed")
    Check.objects.filter(attempt=step2, criterion=criterion).update(
        outcome="failed", detail="2 Heartbeats of 3 expected arrived"
    )
    step3 = campaign.plan.get(function__number=3).attempts.get()
    CriterionResult.objects.filter(attempt=step3).update(outcome="not_observed")
    Check.objects.filter(attempt=step3).update(
        outcome="not_observed", detail="the operator could not plug in"
    )
    item5 = campaign.plan.get(function__number=5)
    item5.applicability, item5.reason = Applicability.NOT_APPLICABLE, "no local authorization"
    item5.save()
    return criterion


def test_the_verdicts_export_as_json(vendor_client, campaign):
    _verdict_campaign(campaign)
    response = vendor_client.get(reverse("campaigns:verdicts_json", args=[campaign.pk]))
    assert response.status_code == 200
    data = response.json()
    assert data["campaign"] == campaign.pk and data["station"] == campaign.station.charge_point_id
    steps = {s["number"]: s for s in data["steps"]}
    assert len(steps) == 16
    assert steps[1]["verdict"] == "ok" and steps[1]["result"] == "Ok, step 1 passed"
    assert steps[12]["attempt"]["number"] == 2  # the retest decided
    assert {c["outcome"] for c in steps[3]["criteria"]} == {"not_observed"}
    assert steps[5]["planned"] is False
    assert steps[5]["reason"] == "Not applicable: no local authorization"
    assert any(
        "2 Heartbeats of 3 expected" in d for c in steps[2]["criteria"] for d in c["details"]
    )


def test_the_verdicts_export_as_junit_one_case_per_criterion(vendor_client, campaign):
    failed = _verdict_campaign(campaign)
    response = vendor_client.get(reverse("campaigns:verdicts_junit", args=[campaign.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    suites = {s.get("name").split(" ")[0]: s for s in root.iter("testsuite")}
    assert len(suites) == 16
    step1 = suites["1"]
    criteria = campaign.plan.get(function__number=1).function.criteria.count()
    assert step1.get("tests") == str(criteria) and step1.get("failures") == "0"
    case = next(c for c in suites["2"].iter("testcase") if c.get("name").startswith(failed.key))
    assert "2 Heartbeats of 3 expected arrived" in case.find("failure").text
    assert suites["2"].get("failures") == "1"
    skipped = [c.find("skipped") for c in suites["3"].iter("testcase")]
    assert skipped and all(s is not None and s.get("message") == "not observed" for s in skipped)
    assert "the operator could not plug in" in skipped[0].text
    (case5,) = suites["5"].iter("testcase")
    assert case5.find("skipped").get("message") == "Not applicable: no local authorization"
    assert case5.find("error") is None


EXPORTS = [
    ("stations:frame_export", "station", ["csv"]),
    ("stations:frame_export", "station", ["jsonl"]),
    ("campaigns:campaign_frames", "campaign", ["csv"]),
    ("campaigns:campaign_frames", "campaign", ["jsonl"]),
    ("campaigns:attempt_frames", "attempt", ["csv"]),
    ("campaigns:attempt_frames", "attempt", ["jsonl"]),
    ("campaigns:verdicts_json", "campaign", []),
    ("campaigns:verdicts_junit", "campaign", []),
]


@pytest.mark.parametrize("name,owner,extra", EXPORTS)
def test_a_vendor_gets_its_own_exports_and_404_for_another_vendors(
    client, vendor_user, campaign, name, owner, extra
):
    target = {
        "station": campaign.station,
        "campaign": campaign,
        "attempt": campaign.plan.get(function__number=1).attempts.get(),
    }[owner]
    url = reverse(name, args=[target.pk, *extra])
    client.force_login(vendor_user)
    assert client.get(url).status_code == 200
    client.force_login(VendorFactory(username="other-vendor"))
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_the_pages_link_their_exports(vendor_client, campaign):
    station = campaign.station
    page = vendor_client.get(reverse("stations:live", args=[station.pk])).content.decode()
    assert reverse("stations:frame_export", args=[station.pk, "csv"]) in page
    assert reverse("stations:frame_export", args=[station.pk, "jsonl"]) in page
    page = vendor_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content
    for name, extra in [("verdicts_json", []), ("verdicts_junit", []),
                        ("campaign_frames", ["csv"]), ("campaign_frames", ["jsonl"])]:  # fmt: skip
        assert reverse(f"campaigns:{name}", args=[campaign.pk, *extra]) in page.decode()
    attempt = campaign.plan.get(function__number=1).attempts.get()
    page = vendor_client.get(reverse("campaigns:step_detail", args=[campaign.pk, 1])).content
    assert reverse("campaigns:attempt_frames", args=[attempt.pk, "csv"]) in page.decode()
    assert reverse("campaigns:attempt_frames", args=[attempt.pk, "jsonl"]) in page.decode()


FRAMES = 40_000
RAW = '[2,"%d","DataTransfer",{"vendorId":"lab","data":"' + "x" * 1000 + '"}]'


def test_the_export_streams_in_flat_memory(station):
    """40,000 frames of 1 KB: the export's 40 MB pass through a peak of a few chunks (2,000 rows
    each), where holding the rows alone (what a non-streaming export does) takes over twice the
    bound."""
    Frame.objects.bulk_create(
        Frame(station=station, timestamp=T0 + timedelta(milliseconds=n), direction="in",
              message_type="CALL", action="DataTransfer", unique_id=str(n), raw=RAW % n)
        for n in range(FRAMES)
    )  # fmt: skip
    bound = 16 * 1024 * 1024
    frames = frame_export.station_frames(station.pk)
    for fmt in frame_export.Format:
        tracemalloc.start()
        size = lines = 0
        for chunk in frame_export.chunks(frames, fmt):
            size += len(chunk)
            lines += chunk.count(b"\n")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert size > 40 * 1024 * 1024 and lines >= FRAMES, fmt
        assert peak < bound, (fmt, peak)
    tracemalloc.start()
    rows = list(frames.values_list(*frame_export.FIELDS))
    whole = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(rows) == FRAMES and whole > 2 * bound, whole


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_export_is_an_async_stream(vendor_user):
    """What daphne gets: an async body (a sync one would be read whole into a list first)."""
    station = await sync_to_async(StationFactory)(
        charger_model__manufacturer=vendor_user.manufacturer
    )
    for n in range(5):
        await sync_to_async(log)(station, T0 + timedelta(seconds=n), unique_id=str(n))
    client = AsyncClient()
    await client.aforce_login(vendor_user)
    response = await client.get(reverse("stations:frame_export", args=[station.pk, "jsonl"]))
    assert response.status_code == 200 and response.is_async
    lines = [line async for chunk in response.streaming_content for line in chunk.splitlines()]
    assert [json.loads(line)["unique_id"] for line in lines] == ["0", "1", "2", "3", "4"]
