"""QA in a real browser through a step with manual parts: the prompt appears live, the
simulator does the manual part at the press of a button, the verdict goes into the report.
And a vendor's browser cannot watch another manufacturer's attempt."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from campaigns import services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt
from tests.chromium import login
from tests.factories import UserFactory, VendorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_qa_runs_a_step_with_prompts_from_the_browser(lab, worker, tmp_path, chromium_page):
    await lab.start()
    qa = await sync_to_async(UserFactory)(username="qa-browser")
    campaign = await sync_to_async(services.campaign_create)(
        station=lab.station, owner=qa,
        parameters=LabParameters.fast(answer_prompts_on_simulator=False, prompt_timeout=60),
    )  # fmt: skip
    base = f"http://127.0.0.1:{lab.servers.http_port}"
    page = chromium_page
    page.set_default_timeout(20000)
    await login(page, base, "qa-browser")
    await page.goto(f"{base}/campaigns/{campaign.pk}/steps/10/")
    await page.click("text=Run step")
    # Four manual parts: two errors to create, two to clear. Each prompt arrives live.
    for _ in range(4):
        button = page.locator("button.sim")
        try:
            await button.wait_for()
        except Exception:
            await page.screenshot(path=str(tmp_path / "stuck.png"), full_page=True)
            raise
        countdown = await page.inner_text(".prompt .seconds")
        assert 0 < int(countdown) <= 60
        await button.click()
        await page.wait_for_load_state()
    await page.locator("text=Record verdict").wait_for(timeout=60000)
    await page.screenshot(path=str(tmp_path / "step10.png"), full_page=True)
    proposed = await page.input_value("#id_result_text")
    assert proposed.startswith("Ok")
    await page.click("text=Record verdict")
    await page.locator("text=Verdict recorded.").wait_for()
    await page.goto(f"{base}/campaigns/{campaign.pk}/report/")
    row = await page.inner_text("table.report-table tbody tr:nth-child(10)")
    assert "Any hardware related notifications" in row
    assert proposed in row
    attempt = await sync_to_async(Attempt.objects.get)(plan_item__campaign=campaign)
    assert attempt.final_verdict == "ok"


async def test_a_vendor_browser_cannot_watch_another_manufacturers_attempt(lab, chromium_page):
    await lab.start()
    qa = await sync_to_async(UserFactory)(username="qa-2")
    await sync_to_async(VendorFactory)(username="other-vendor")
    campaign = await sync_to_async(services.campaign_create)(station=lab.station, owner=qa)
    item = await sync_to_async(campaign.plan.get)(function__number=15)
    attempt = await sync_to_async(Attempt.objects.create)(
        plan_item=item, station=lab.station, number=1, status="finished"
    )
    base = f"http://127.0.0.1:{lab.servers.http_port}"
    page = chromium_page
    await login(page, base, "other-vendor")
    response = await page.goto(f"{base}/campaigns/{campaign.pk}/steps/15/")
    assert response.status == 404
    closed = await page.evaluate(
        """(url) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve("open");
            ws.onclose = () => resolve("closed");
        })""",
        f"ws://127.0.0.1:{lab.servers.http_port}/ws/attempts/{attempt.pk}/",
    )
    assert closed == "closed"
