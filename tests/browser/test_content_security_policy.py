"""Every main page works under CertLab's content security policy: no inline script or style, so
the browser reports no violation and the pages' own scripts still run."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from campaigns import services
from campaigns.events import attempt_changed_sync
from campaigns.models import Attempt, AttemptStatus, Check, Prompt
from tests.factories import StationFactory, UserFactory

pytestmark = pytest.mark.e2e

# Listens before any page script runs; Playwright's init scripts are not subject to the policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_the_main_pages_raise_no_policy_violation(daphne_server, browser_page):
    qa = UserFactory(username="qa-csp")
    station = StationFactory()
    campaign = services.campaign_create(station=station, owner=qa)
    item = campaign.plan.get(function__number=4)
    now = datetime.now(UTC)
    attempt = Attempt.objects.create(
        plan_item=item, station=station, number=1, status=AttemptStatus.FINISHED, started=now,
        ended=now, proposed_verdict="ok", proposed_text="Ok, Configuration (1)",
        attachments={"configuration": [{"key": "HeartbeatInterval", "readonly": False,
                                        "value": "60"}]},
    )  # fmt: skip
    Check.objects.create(attempt=attempt, criterion=item.function.criteria.get(key="4.a"),
                         key="4.a#list", outcome="passed", detail="1 key", at=now,
                         evidence=[{"direction": "in", "message_type": "CALLRESULT",
                                    "action": "GetConfiguration", "timestamp": now.isoformat(),
                                    "raw": '[3,"x",{"configurationKey":[]}]'}])  # fmt: skip
    base = daphne_server.base_url
    pages = [
        "/",
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/steps/4/",
        f"/campaigns/{campaign.pk}/report/",
        "/campaigns/new/",
        "/campaigns/catalogue/",
        "/catalogue/live/",
        f"/catalogue/live/{station.pk}/",
        f"/catalogue/stations/{station.pk}/",
        "/catalogue/stations/new/",
        "/api/tokens/",
        "/api/v1/docs/",
    ]
    page = browser_page
    console_violations: list[str] = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and console_violations.append(m.text),
    )
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "qa-csp")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    seen = {}
    for path in pages:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        seen[path] = page.evaluate("window.__cspViolations")
    assert {path: found for path, found in seen.items() if found} == {}
    assert console_violations == []
    # The live page's script ran under the policy: its websocket ('self') opened and said so.
    page.goto(f"{base}/catalogue/live/{station.pk}/")
    # (expect polls without eval, which this very policy refuses to a polled string predicate)
    expect(page.locator("#live-state")).to_have_text(re.compile(r"^live"), timeout=30_000)
    # The home page's script too: a prompt opening shows there without a reload.
    page.goto(f"{base}/")
    expect(page.locator(".home-grid[data-live=on]")).to_have_count(1, timeout=30_000)
    expect(page.locator(".home-prompts")).to_contain_text("No step is waiting")
    running = Attempt.objects.create(plan_item=campaign.plan.get(function__number=5),
                                     station=station, number=1, status=AttemptStatus.RUNNING,
                                     started=now)  # fmt: skip
    Prompt.objects.create(attempt=running, text="Plug the cable in.", choices=["Done"],
                          deadline=datetime.now(UTC) + timedelta(minutes=5))  # fmt: skip
    with ThreadPoolExecutor(1) as engine:  # as the worker announces it (Playwright holds a loop)
        engine.submit(attempt_changed_sync, running.pk, "prompt").result(timeout=30)
    expect(page.locator(".home-prompts")).to_contain_text("Plug the cable in.", timeout=30_000)
    assert page.evaluate("window.__cspViolations") == []


def test_complete_asks_first_and_print_prints_under_the_policy(daphne_server, browser_page):
    qa = UserFactory(username="qa-csp")
    campaign = services.campaign_create(station=StationFactory(), owner=qa)
    campaign.status = "running"
    campaign.save(update_fields=["status"])
    base = daphne_server.base_url
    page = browser_page
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "qa-csp")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.goto(f"{base}/campaigns/{campaign.pk}/")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("button:text('Complete')")
    assert asked and asked[0].startswith("Complete the campaign?")
    assert page.locator("ul.messages").count() == 0  # nothing was sent
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("button:text('Complete')")
    assert page.locator("ul.messages li").count() >= 1  # the server answered the post
    # The report's Print link works through the page's script, not an inline handler.
    page.goto(f"{base}/campaigns/{campaign.pk}/report/")
    page.evaluate("window.print = () => { window.__printed = true; }")
    page.click("a[data-print]")
    assert page.evaluate("window.__printed === true")
