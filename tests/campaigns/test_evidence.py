"""The tamper-evident record: an ended attempt's frames and checks are folded into a SHA-256
chain, a campaign's verdicts into its evidence digest; ``verify_campaign`` recomputes both from
the database and names each frame, check or verdict changed behind CertLab's back (by SQL)."""

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from campaigns import evidence, sealing, services
from campaigns.engine.results import CheckResult, Outcome
from campaigns.engine.runner import Ending, StepRun
from campaigns.engine.verdict import Proposed
from campaigns.execution import _finish
from campaigns.models import Attempt
from campaigns.recovery import attempts_end_aborted
from campaigns.sealing import attempt_seal
from stations.models import Frame
from tests.campaigns.report_campaign import full_campaign
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(vendor_user):
    return StationFactory(charger_model__manufacturer=vendor_user.manufacturer)


def _log_frames(attempt: Attempt, count: int) -> list[Frame]:
    frames = []
    for i in range(count):
        raw = json.dumps([2, f"u{attempt.pk}-{i}", "Heartbeat", {}])
        frames.append(Frame.objects.create(
            station=attempt.station, timestamp=attempt.started + timedelta(seconds=i + 1),
            direction="in", message_type="CALL", action="Heartbeat", unique_id=f"u{attempt.pk}-{i}",
            raw=raw, payload={},
        ))  # fmt: skip
    return frames


@pytest.fixture
def signed(station, qa_user):
    """A signed-off campaign whose attempts each saw three frames, sealed as CertLab does."""
    campaign = full_campaign(station=station, owner=qa_user)
    for attempt in Attempt.objects.filter(plan_item__campaign=campaign).order_by("pk"):
        _log_frames(attempt, 3)
    for attempt in Attempt.objects.filter(plan_item__campaign=campaign):
        attempt_seal(attempt)
    services.campaign_complete(campaign=campaign)
    services.campaign_sign_off(campaign=campaign, user=qa_user)
    campaign.refresh_from_db()
    return campaign


def verify(campaign) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_campaign", str(campaign.pk), stdout=out, stderr=out)
    except SystemExit as stop:
        return stop.code, out.getvalue()
    return 0, out.getvalue()


def _sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_chain_links_each_row_to_the_one_before():
    rows = [
        evidence.frame_row(id=1, direction="in", message_type="CALL", unique_id="a",
                           raw='[2,"a","Heartbeat",{}]'),
        evidence.check_row(key="1.a#x", outcome="passed", detail="ok", evidence=[1]),
    ]  # fmt: skip
    head, index = evidence.fold(rows)

    first = hashlib.sha256(evidence.GENESIS.encode() + evidence.canonical(rows[0])).hexdigest()
    assert head == hashlib.sha256(first.encode() + evidence.canonical(rows[1])).hexdigest()
    assert [name for name, _ in index] == ["frame 1", "check 1.a#x"]
    assert evidence.fold(rows[::-1])[0] != head


def test_an_attempt_is_sealed_over_the_frames_it_saw_in_log_order_then_its_checks(signed):
    attempt = Attempt.objects.filter(plan_item__campaign=signed).order_by("pk").first()
    frames = Frame.objects.filter(station=attempt.station, timestamp__gte=attempt.started,
                                  timestamp__lte=attempt.ended).order_by("id")  # fmt: skip
    names = [name for name, _ in attempt.evidence_rows]
    checks = [f"check {k}" for k in attempt.checks.order_by("id").values_list("key", flat=True)]
    assert names == [f"frame {f.pk}" for f in frames] + checks
    assert len(frames) == 3 and len(attempt.evidence_head) == 64
    assert signed.evidence_digest and len(signed.evidence_rows) == 16


def test_verify_passes_on_an_untouched_campaign(signed):
    code, out = verify(signed)
    assert code == 0 and "verified" in out and signed.evidence_digest in out


def test_verify_names_a_frame_whose_raw_text_was_changed_by_sql(signed):
    attempt = Attempt.objects.filter(plan_item__campaign=signed, plan_item__function__number=5)
    attempt = attempt.get()
    frame = Frame.objects.filter(station=attempt.station, timestamp__gt=attempt.started,
                                 timestamp__lt=attempt.ended).order_by("id")[1]  # fmt: skip
    _sql("UPDATE stations_frame SET raw = %s WHERE id = %s", '[2,"x","Heartbeat",{}]', frame.pk)
    code, out = verify(signed)
    assert code == 1
    assert f"step 5 attempt 1: frame {frame.pk}: changed" in out
    assert "verdict" not in out and "step 6" not in out


def test_verify_names_a_deleted_frame_and_a_changed_check(signed):
    attempt = Attempt.objects.get(plan_item__campaign=signed, plan_item__function__number=3)
    check = attempt.checks.order_by("id").first()
    frame_id = attempt.evidence_rows[0][0].split()[1]
    _sql("UPDATE campaigns_check SET outcome = 'failed' WHERE id = %s", check.pk)
    _sql("DELETE FROM stations_frame WHERE id = %s", int(frame_id))
    code, out = verify(signed)
    assert code == 1
    assert f"step 3 attempt 1: check {check.key}: changed" in out
    assert f"step 3 attempt 1: frame {frame_id}: missing" in out


def test_verify_names_a_verdict_or_result_text_changed_by_sql(signed):
    _sql(
        "UPDATE campaigns_attempt SET final_verdict = 'failed' WHERE id = %s",
        Attempt.objects.get(plan_item__campaign=signed, plan_item__function__number=7).pk,
    )
    _sql(
        "UPDATE campaigns_attempt SET result_text = 'Ok, trust me' WHERE id = %s",
        Attempt.objects.get(plan_item__campaign=signed, plan_item__function__number=9).pk,
    )
    code, out = verify(signed)
    assert code == 1
    assert "step 7 verdict: changed" in out and "step 9 verdict: changed" in out
    assert "frame" not in out and "check" not in out


def test_a_frame_logged_after_the_seal_is_not_a_change(signed):
    attempt = Attempt.objects.get(plan_item__campaign=signed, plan_item__function__number=2)
    _log_frames(attempt, 1)  # late: within the attempt's time, but logged after it was sealed
    assert verify(signed)[0] == 0


def test_a_recorded_verdict_reseals_the_campaign(station, qa_user):
    campaign = full_campaign(station=station, owner=qa_user)
    attempt = Attempt.objects.filter(plan_item__campaign=campaign).order_by("pk").first()
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="failed",
                                    result_text="Failed: boot rejected")  # fmt: skip
    campaign.refresh_from_db()
    before = campaign.evidence_digest
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok", result_text="Ok")
    campaign.refresh_from_db()
    assert before and campaign.evidence_digest != before


def test_an_attempt_ended_by_the_sweep_is_sealed(station, qa_user):
    campaign = full_campaign(station=station, owner=qa_user)
    item = campaign.plan.get(function__number=1)
    attempt = Attempt.objects.create(plan_item=item, station=station, number=5, status="queued",
                                     started_by=qa_user, abort_requested=True)  # fmt: skip
    assert attempt.pk in attempts_end_aborted()
    attempt.refresh_from_db()
    assert attempt.evidence_head == evidence.GENESIS and attempt.evidence_rows == []


def test_the_attempt_is_sealed_where_the_worker_finishes_it(station, qa_user):
    campaign = services.campaign_create(station=station, owner=qa_user)
    started = timezone.now() - timedelta(minutes=1)
    attempt = Attempt.objects.create(plan_item=campaign.plan.get(function__number=9),
                                     station=station, number=1, status="running",
                                     started_by=qa_user, started=started)  # fmt: skip
    frames = _log_frames(attempt, 2)
    result = CheckResult("9.a", "9.a#status", Outcome.PASSED, "Available", [frames[0].pk],
                         timezone.now())  # fmt: skip
    run = StepRun(Ending.FINISHED, "", {"9.a": Outcome.PASSED}, Proposed.OK, "Ok", False)
    _finish(attempt.pk, SimpleNamespace(results=[result], attachments={}), run)
    attempt.refresh_from_db()
    assert [n for n, _ in attempt.evidence_rows] == [
        f"frame {frames[0].pk}",
        f"frame {frames[1].pk}",
        "check 9.a#status",
    ]
    assert (
        attempt.evidence_head
        == evidence.fold(sealing.attempt_rows(attempt, last_frame=attempt.evidence_last_frame))[0]
    )


def test_the_signed_reports_pdf_and_html_print_the_evidence_digest_and_revision(qa_client, signed):
    pdf = qa_client.get(reverse("campaigns:report_pdf", args=[signed.pk]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    squeezed = re.sub(r"\s+", "", text)
    assert "Evidencedigest" + signed.evidence_digest in squeezed
    assert "reportrevision1" in squeezed.lower()
    html = qa_client.get(reverse("campaigns:report", args=[signed.pk])).content.decode()
    assert signed.evidence_digest in html


def test_a_changed_verdict_changes_the_digest_the_report_prints(qa_client, station, qa_user):
    campaign = full_campaign(station=station, owner=qa_user)
    attempt = Attempt.objects.filter(plan_item__campaign=campaign).order_by("pk").first()
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok", result_text="Ok")
    campaign.refresh_from_db()
    first = campaign.evidence_digest
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="failed",
                                    result_text="Failed: no boot")  # fmt: skip
    campaign.refresh_from_db()
    html = qa_client.get(reverse("campaigns:report", args=[campaign.pk])).content.decode()
    assert campaign.evidence_digest in html and first not in html


def test_a_signed_off_campaigns_evidence_is_frozen_against_every_page_that_changes_it(
    qa_client, signed
):
    attempt = Attempt.objects.get(plan_item__campaign=signed, plan_item__function__number=4)
    posts = [
        (reverse("campaigns:step_run", args=[signed.pk, 4]), {}),
        (reverse("campaigns:attempt_verdict", args=[attempt.pk]),
         {"verdict": "failed", "result_text": "Failed after all"}),
        (reverse("campaigns:step_plan", args=[signed.pk, 4]),
         {"applicability": "not_applicable", "reason": "no longer wanted"}),
        (reverse("campaigns:campaign_reopen", args=[signed.pk]), {}),
        (reverse("campaigns:campaign_complete", args=[signed.pk]), {}),
    ]  # fmt: skip
    for url, data in posts:
        response = qa_client.post(url, data, follow=True)
        assert response.status_code == 200, url
        assert "signed off; it can no longer change" in response.content.decode(), url
    assert Attempt.objects.filter(plan_item__campaign=signed).count() == 17  # 16 + step 12's retest
    attempt.refresh_from_db()
    assert attempt.final_verdict == "ok"
    assert signed.plan.get(function__number=4).applicability == "planned"
    assert verify(signed) == (
        0,
        f"campaign {signed.pk}: verified (digest {signed.evidence_digest})\n",
    )


def _bundle(client, campaign, tmp_path) -> Path:
    response = client.get(reverse("campaigns:evidence_bundle", args=[campaign.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.content)
    return path


def _offline(bundle: Path, tmp_path) -> subprocess.CompletedProcess:
    """The verifier as an auditor runs it: unpacked from the bundle, without CertLab."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extract("verify_bundle.py", tmp_path / "auditor")
        archive.extract("evidence.py", tmp_path / "auditor")
    return subprocess.run(
        [sys.executable, "-I", str(tmp_path / "auditor" / "verify_bundle.py"), str(bundle)],
        capture_output=True, text=True, cwd=tmp_path / "auditor", timeout=60,
    )  # fmt: skip


def test_the_offline_verifier_agrees_on_the_bundle_and_fails_on_one_byte_changed(
    qa_client, signed, tmp_path
):
    bundle = _bundle(qa_client, signed, tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("report.pdf").startswith(b"%PDF")
    assert manifest["evidence_digest"] == signed.evidence_digest
    good = _offline(bundle, tmp_path)
    assert good.returncode == 0 and "verified" in good.stdout, good.stdout + good.stderr
    data = bytearray(bundle.read_bytes())
    data[len(data) // 3] ^= 0x01
    bundle.write_bytes(bytes(data))
    bad = _offline(bundle, tmp_path)
    assert bad.returncode == 1 and "verified" not in bad.stdout


def test_the_offline_verifier_names_a_frame_changed_inside_a_rebuilt_bundle(
    qa_client, signed, tmp_path
):
    bundle = _bundle(qa_client, signed, tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["frames.jsonl"] = files["frames.jsonl"].replace(b"Heartbeat", b"HeartBeat", 1)
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["frames.jsonl"] = hashlib.sha256(files["frames.jsonl"]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    bad = _offline(bundle, tmp_path)
    assert bad.returncode == 1 and "do not fold to its chain head" in bad.stdout
