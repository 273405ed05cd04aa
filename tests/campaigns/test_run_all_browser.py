"""A QA engineer starts the day on the home page, creates a campaign from the connected station,
runs all its remaining steps from the campaign page and does each prompt on the simulator right
there, as the prompts arrive live; the verdicts so far fill in without a reload."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from campaigns import services
from campaigns.models import Applicability, Attempt, Campaign, RunAll
from tests.chromium import login
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

STEPS = (1, 6)  # a boot, and a charge started with a tag: two prompts on the simulator


def _plan_only(campaign: Campaign, numbers: tuple[int, ...]) -> None:
    """A short run for the test: the other steps planned out, as QA would for a retest day."""
    for item in campaign.plan.exclude(function__number__in=numbers):
        services.plan_item_set_applicability(
            plan_item=item, applicability=Applicability.NOT_SUPPORTED_BY_LAB,
            reason="Left out of this browser test.",
        )  # fmt: skip


def _attempts(campaign: Campaign) -> list[tuple[int, str, str]]:
    """Each step's attempts as they ended: a failure says why a step was not Ok."""
    attempts = Attempt.objects.filter(plan_item__campaign=campaign).order_by("pk")
    return list(attempts.values_list("plan_item__function__number", "status", "proposed_text"))


async def test_qa_runs_all_steps_from_the_home_page_with_prompts(
    lab, worker, chromium_page, tmp_path
):
    await lab.start()
    await sync_to_async(UserFactory)(username="qa-day")
    page = chromium_page
    base = f"http://127.0.0.1:{lab.servers.http_port}"
    await login(page, base, "qa-day")
    station = page.locator(".home-stations li", has_text=lab.station.charge_point_id)
    await station.get_by_role("link", name="New campaign").click()
    assert await page.input_value("#id_station") == str(lab.station.pk)
    await page.check("#id_rehearsal")
    await page.select_option("#id_answer_prompts_on_simulator", "no")  # prompts to a person
    await page.click("text=Create campaign")
    await page.wait_for_url(f"{base}/campaigns/*/")
    campaign = await sync_to_async(Campaign.objects.get)(station=lab.station)
    await sync_to_async(_plan_only)(campaign, STEPS)

    await page.reload()
    await page.click(f"text=Run all remaining steps ({len(STEPS)})")
    await page.locator(".run-all").wait_for()
    assert "Step 1 of 2" in await page.inner_text(".run-all-now")
    prompts = 0
    try:
        # Each prompt arrives on this page live; the run ends on its own after the last step.
        while True:
            ahead = page.locator(".run-all .prompt button.sim, .run-all-finished, .run-all-stopped")
            await ahead.first.wait_for(timeout=180000)
            if await page.locator(".run-all .prompt button.sim").count() == 0:
                break
            assert "Waiting on a prompt" in await page.inner_text(".run-all h2")
            async with page.expect_navigation():  # the answer comes back to this page
                await page.click(".run-all .prompt button.sim")
            assert page.url == f"{base}/campaigns/{campaign.pk}/"
            prompts += 1
            assert prompts <= 10, "more prompts than the two steps ask"
        # The table below follows without a reload: both steps proposed Ok.
        done = page.locator("table.report tr", has_text="1st attempt: finished, proposed Ok")
        await done.nth(len(STEPS) - 1).wait_for(timeout=30000)
    except Exception:
        await page.screenshot(path=str(tmp_path / "run-all.png"), full_page=True)
        print("attempts:", await sync_to_async(_attempts)(campaign))
        raise
    panel = await page.inner_text(".run-all")
    assert "Finished" in panel and "Every step ran." in panel, panel
    rows = page.locator(".run-all-done tbody tr")
    assert await rows.count() == len(STEPS)
    for index, number in enumerate(STEPS):
        row = await rows.nth(index).inner_text()
        assert row.startswith(str(number)) and "Finished" in row and "Ok" in row, row
    assert prompts >= 1
    run = await sync_to_async(RunAll.objects.get)(campaign=campaign)
    assert run.status == "finished" and len(run.attempts) == len(STEPS)
    # The home page: nothing waits on a prompt any more; the campaign is in progress.
    await page.goto(f"{base}/")
    assert "No step is waiting for anyone." in await page.inner_text(".home-prompts")
    assert lab.station.charge_point_id in await page.inner_text(".home-campaigns")


def test_a_step_that_ends_before_the_live_panel_joins_still_refreshes_the_table(
    daphne_server, browser_page, mark_online
):
    """The run's last step ends between the page's render and its socket joining the run's group
    (a busy machine widens that gap): its announcement reached nobody, yet the table follows."""
    from django.utils import timezone
    from playwright.sync_api import expect

    from campaigns.models import AttemptStatus
    from tests.chromium import PASSWORD
    from tests.factories import StationFactory

    qa = UserFactory(username="qa-race")
    station = StationFactory()
    mark_online(station)
    campaign = services.campaign_create(station=station, owner=qa)
    item = campaign.plan.get(function__number=1)
    attempt = Attempt.objects.create(
        plan_item=item, station=station, status=AttemptStatus.RUNNING, number=1,
        started=timezone.now(),
    )  # fmt: skip
    run = RunAll.objects.create(
        campaign=campaign, started_by=qa, items=[item.pk], current=attempt, attempts=[attempt.pk]
    )

    def end_the_run_silently(route) -> None:
        # The page is rendered, its live script not yet loaded: the step ends and the run
        # finishes now, as the worker ends them, with nobody listening to their announcements.
        Attempt.objects.filter(pk=attempt.pk).update(
            status=AttemptStatus.FINISHED, ended=timezone.now(), proposed_verdict="ok"
        )
        RunAll.objects.filter(pk=run.pk).update(
            status="finished", reason="Every step ran.", ended=timezone.now()
        )
        route.continue_()

    page = browser_page
    page.goto(f"{daphne_server.base_url}/accounts/login/")
    page.fill("#id_username", "qa-race")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{daphne_server.base_url}/")
    page.route("**/run_all_live*.js", end_the_run_silently)
    rendered = page.goto(f"{daphne_server.base_url}/campaigns/{campaign.pk}/").text()
    assert "1st attempt: running" in rendered and "run-all-running" in rendered
    row = page.locator("table.report tr", has_text="Boot notification")
    expect(page.locator(".run-all h2")).to_contain_text("Finished", timeout=30_000)
    expect(row).to_contain_text("1st attempt: finished, proposed Ok", timeout=30_000)
