"""Pages at a laptop's 1280 px: wide tables scroll inside their box, the page never sideways."""

import json
from datetime import UTC, datetime

import pytest

from campaigns import services
from campaigns.models import Attempt, AttemptStatus, Check
from stations.models import ConnectorStatus, MeterValue, Transaction
from tests.factories import StationFactory, UserFactory

pytestmark = pytest.mark.e2e

WIDTH = 1280


def _log_in(page, base_url: str, username: str) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _overflow(page) -> int:
    """How many pixels the document is wider than the viewport."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_station_live_page_with_transactions_fits_1280px(daphne_server, browser_page, tmp_path):
    UserFactory(username="qa-layout")
    station = StationFactory(charge_point_id="HICONICS-HK180-0001")
    now = datetime.now(UTC)
    for connector in (1, 2):
        ConnectorStatus.objects.create(station=station, connector_id=connector,
                                       status="SuspendedEVSE", error_code="ConnectorLockFailure",
                                       info="Lock motor current too high", updated=now,
                                       vendor_error_code="E-LOCK-0042")  # fmt: skip
        tx = Transaction.objects.create(station=station, connector_id=connector,
                                        id_tag="04E91C2A7F3B80ABCDEF", id_tag_status="Accepted",
                                        meter_start=1234567, meter_stop=1298765, started_at=now,
                                        stopped_at=now, stop_reason="EVDisconnected")  # fmt: skip
        MeterValue.objects.create(station=station, transaction=tx, connector_id=connector,
                                  timestamp=now, measurand="Energy.Active.Import.Register",
                                  phase="L1-N", unit="Wh", value="1298765.5",
                                  context="Sample.Periodic")  # fmt: skip

    page = browser_page
    _log_in(page, daphne_server.base_url, "qa-layout")
    page.goto(f"{daphne_server.base_url}/catalogue/live/{station.pk}/")
    assert "04E91C2A7F3B80ABCDEF" in page.inner_text("main")
    page.screenshot(path=str(tmp_path / "station-live.png"), full_page=True)
    assert _overflow(page) <= 0


def test_step_page_with_long_evidence_and_configuration_fits_1280px(
    daphne_server, browser_page, tmp_path
):
    qa = UserFactory(username="qa-layout")
    campaign = services.campaign_create(station=StationFactory(), owner=qa)
    item = campaign.plan.get(function__number=4)
    now = datetime.now(UTC)
    sampled = ",".join(["Energy.Active.Import.Register", "Current.Import", "Voltage"] * 4)
    attempt = Attempt.objects.create(
        plan_item=item, station=campaign.station, number=1, status=AttemptStatus.FINISHED,
        started=now, ended=now, proposed_verdict="ok", proposed_text="Ok",
        attachments={
            "configuration": [
                {"key": "MeterValuesSampledData", "readonly": False, "value": sampled},
                {"key": "AuthorizationKey", "readonly": False, "value": "A" * 120},
            ],
            "triggers": [{"message": "BootNotification", "note": "x" * 200}],
        },
    )  # fmt: skip
    raw = json.dumps([3, "8f1c2d3e", {"configurationKey": [{"key": "K", "value": sampled}]}])
    Check.objects.create(attempt=attempt, criterion=item.function.criteria.get(key="4.a"),
                         key="4.a#list", outcome="passed", detail="42 keys", at=now,
                         evidence=[{"direction": "in", "message_type": "CALLRESULT",
                                    "action": "GetConfiguration", "timestamp": now.isoformat(),
                                    "raw": raw}])  # fmt: skip

    page = browser_page
    _log_in(page, daphne_server.base_url, "qa-layout")
    page.goto(f"{daphne_server.base_url}/campaigns/{campaign.pk}/steps/4/")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.screenshot(path=str(tmp_path / "step.png"), full_page=True)
    assert page.is_visible("text=AuthorizationKey")
    assert _overflow(page) <= 0


def test_station_live_page_without_frames_says_so_and_hides_what_does_not_apply(
    daphne_server, browser_page
):
    UserFactory(username="qa-layout")
    station = StationFactory()

    page = browser_page
    _log_in(page, daphne_server.base_url, "qa-layout")
    page.goto(f"{daphne_server.base_url}/catalogue/live/{station.pk}/")
    assert page.is_visible("text=No frames to show")
    assert page.is_hidden("#older")
    assert page.is_visible("#console-fields")
    page.check("#console-raw-mode")
    assert page.is_hidden("#console-fields") and page.is_visible("#console-raw")


def test_campaign_page_with_a_very_long_note_wraps_it_within_1280px(
    daphne_server, browser_page, tmp_path
):
    qa = UserFactory(username="qa-layout")
    note = "Firmware taken from https://vendor.example/" + "x" * 400 + "\n" + "long note " * 300
    campaign = services.campaign_create(station=StationFactory(), owner=qa, notes=note)
    page = browser_page
    _log_in(page, daphne_server.base_url, "qa-layout")
    page.goto(f"{daphne_server.base_url}/campaigns/{campaign.pk}/")
    assert "long note" in page.inner_text("dl.facts")
    page.screenshot(path=str(tmp_path / "campaign-long-note.png"), full_page=True)
    assert page.evaluate("document.querySelector('.two-col').scrollWidth") <= WIDTH
    assert _overflow(page) <= 0
