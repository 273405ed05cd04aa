"""The station live page follows the stream without a reload: its state card (last frame, last
heartbeat) and the recent commands sent from its console."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from playwright.sync_api import expect

from stations import frame_log
from tests.factories import StationFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_state_card_and_recent_commands_change_without_a_reload(daphne_server, browser_page):
    UserFactory(username="qa-live")
    station = StationFactory(charge_point_id="LIVE-CARD-1")
    page = browser_page
    page.goto(f"{daphne_server.base_url}/accounts/login/")
    page.fill("#id_username", "qa-live")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{daphne_server.base_url}/catalogue/live/{station.pk}/")
    assert page.inner_text("#last-heartbeat") == "—"
    # Playwright's expect polls without eval (a string predicate polled in the page is eval, which
    # the page's policy refuses whenever the condition is not true at the first look).
    expect(page.locator("#live-state")).to_have_text(re.compile(r"^live"), timeout=30_000)

    at = datetime(2026, 12, 1, 10, 0, 5, 123456, tzinfo=UTC)
    heartbeat = {"type": "frame.logged", "charge_point_id": station.charge_point_id,
                 "connection_id": None, "timestamp": at.isoformat(), "direction": "in",
                 "message_type": "CALL", "action": "Heartbeat", "unique_id": "hb-1",
                 "raw": '[2,"hb-1","Heartbeat",{}]', "payload": {}, "error": ""}  # fmt: skip
    # Sent the way the frame log announces a logged frame (the real channel layer, Redis).
    # (from a thread of its own: Playwright's loop runs in this one)
    with ThreadPoolExecutor(1) as pool:
        announce = async_to_sync(frame_log._announce)
        pool.submit(announce, station.charge_point_id, [heartbeat]).result()
    expect(page.locator("#last-heartbeat")).to_have_text("2026-12-01 10:00:05", timeout=30_000)
    assert page.inner_text("#last-frame") == "2026-12-01 10:00:05.123456"

    assert not page.is_visible("#recent-commands")
    page.select_option("#console-action", "ClearCache")
    page.click("#console-form button.primary")
    page.wait_for_selector("#recent-commands [data-command]", state="attached")
    assert page.is_visible("#recent-commands")
    assert "ClearCache" in page.text_content("#recent-commands [data-command]")
