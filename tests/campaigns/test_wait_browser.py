"""QA in a real browser give up on a silent station: the heartbeat step waits minutes for the
simulator's next Heartbeat, the step page shows the wait and the silence counting up live, and
"End the wait" ends the step with its criteria not observed and the reason."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import async_playwright

from campaigns import services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt
from tests.campaigns.test_campaign_browser import CHROMIUM_ARGS, _login
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_qa_ends_a_long_wait_on_a_silent_station_from_the_browser(lab, worker, tmp_path):
    await lab.start()
    await sync_to_async(UserFactory)(username="qa-waits")
    qa = await sync_to_async(UserFactory)(username="qa-waits-owner")
    # A 120 s interval: the step then waits up to 540 s for two periodic Heartbeats.
    campaign = await sync_to_async(services.campaign_create)(
        station=lab.station, owner=qa,
        parameters=LabParameters.fast(heartbeat_interval=120, silence_limit=0),
    )  # fmt: skip
    base = f"http://127.0.0.1:{lab.servers.http_port}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                  args=CHROMIUM_ARGS)  # fmt: skip
        page = await browser.new_page()
        page.set_default_timeout(30000)
        await _login(page, base, "qa-waits")
        await page.goto(f"{base}/campaigns/{campaign.pk}/steps/2/")
        await page.click("text=Run step")
        wait = page.locator(".long-wait")
        try:
            await wait.wait_for(timeout=60000)
        except Exception:
            await page.screenshot(path=str(tmp_path / "no-wait.png"), full_page=True)
            raise
        assert "Waiting for 2 Heartbeat" in await wait.inner_text()
        assert "of up to 540 s" in await wait.inner_text()
        first = int(await page.inner_text(".long-wait .silent-seconds"))
        await asyncio.sleep(2.5)  # no frame from the station meanwhile: the silence grows
        later = int(await page.inner_text(".long-wait .silent-seconds"))
        assert later >= first + 2
        await page.screenshot(path=str(tmp_path / "waiting.png"), full_page=True)
        await page.click("text=End the wait (not observed)")
        await page.locator("text=Record verdict").wait_for(timeout=90000)
        proposed = await page.input_value("#id_result_text")
        assert proposed.startswith("QA ended the wait after "), proposed
        assert "s of silence (waiting for 2 Heartbeat)" in proposed
        assert await page.locator(".long-wait").count() == 0
        await browser.close()
    attempt = await sync_to_async(Attempt.objects.get)(plan_item__campaign=campaign)
    assert attempt.status == "finished" and attempt.proposed_verdict == "incomplete"
    assert attempt.waiting is None
    outcomes = await sync_to_async(dict)(
        attempt.criterion_results.values_list("criterion__key", "outcome")
    )
    assert outcomes["2.a"] == "not_observed" and outcomes["2.c"] == "not_observed"
    assert outcomes["2.b"] == "passed"
