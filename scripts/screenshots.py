"""Screenshots of CertLab's main pages for the README (docs/screenshots/), taken from a running
lab with the demo data, so that they can be taken again whenever the pages change:

    make run                                  # in one terminal: the embedded lab, demo data
    .venv/bin/python scripts/screenshots.py   # in another (--base, --out to change)

It acts as QA would: a rehearsal campaign created from the demo station on the home page, three
of its steps run one after the other (the API's run-all, so that it stays short), the pages shot
while a prompt waits, each prompt then done on the simulator, the proposed verdicts recorded,
the report; and, once QA shared it, the vendor's view of the same campaign. Playwright drives
Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the tests' launch, shared)

QA = ("qa", "certlab-qa")  # stations/demo.py's logins
VENDOR = ("hiconics", "certlab-vendor")
STATION = "DEMO-HICONICS-01"  # the demo station the built-in simulator plays
STEPS = [1, 6, 7]  # a boot, a charge started and one stopped: prompts on the simulator
VIEWPORT = {"width": 1280, "height": 900}
RUN_LIMIT = 900  # s the three steps may take on a busy machine


def login(page: Page, base: str, user: tuple[str, str]) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user[0])
    page.fill("#id_password", user[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def api(page: Page, method: str, url: str, data: dict | None = None) -> dict:
    """A JSON call with the page's session, as the browser's own forms would make it."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.fetch(
        url, method=method, data=json.dumps(data or {}),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Referer": url},
    )  # fmt: skip
    if not response.ok:
        raise SystemExit(f"{method} {url}: {response.status} {response.text()}")
    return response.json()


def shot(page: Page, out: Path, name: str, *, full: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / name), full_page=full)
    print(f"  {out / name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="the running lab's URL")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    base, out = args.base.rstrip("/"), args.out
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(60000)
        login(page, base, QA)

        # A rehearsal campaign from the station's live page, prompts left to a person.
        page.locator(".home-stations li", has_text=STATION).get_by_role("link").first.click()
        page.wait_for_selector("#frame-log")
        page.click("text=New campaign")
        page.check("#id_rehearsal")
        page.select_option("#id_answer_prompts_on_simulator", "no")
        page.fill("#id_prompt_timeout", "300")  # time for the shots before a prompt expires
        page.click("text=Create campaign")
        page.wait_for_url(f"{base}/campaigns/*/")
        campaign_url = page.url
        campaign = int(campaign_url.rstrip("/").rsplit("/", 1)[1])
        api(page, "POST", f"{base}/api/v1/campaigns/{campaign}/run-all/", {"steps": STEPS})

        page.goto(campaign_url)
        page.wait_for_selector(".run-all .prompt", timeout=RUN_LIMIT * 1000)
        page.set_viewport_size({**VIEWPORT, "height": 1400})  # down to the run's prompt
        shot(page, out, "campaign-run-all.png")
        page.set_viewport_size(VIEWPORT)
        page.goto(f"{base}/")
        shot(page, out, "home.png")
        page.click(".home-prompts a")
        page.wait_for_selector(".attempt .prompt")
        shot(page, out, "step-prompt.png")
        page.goto(f"{base}/")
        page.locator(".home-stations li", has_text=STATION).get_by_role("link").first.click()
        page.wait_for_selector("#frames > li")
        shot(page, out, "station-live.png")

        # The rest of the run: each prompt done on the simulator from the campaign page.
        page.goto(campaign_url)
        deadline = time.monotonic() + RUN_LIMIT
        while time.monotonic() < deadline:
            page.locator(
                ".run-all .prompt button.sim, .run-all-finished, .run-all-stopped"
            ).first.wait_for(timeout=RUN_LIMIT * 1000)
            if page.locator(".run-all .prompt button.sim").count() == 0:
                break
            with page.expect_navigation():  # the answer comes back to this page
                page.click(".run-all .prompt button.sim")
        run = api(page, "GET", f"{base}/api/v1/campaigns/{campaign}/run-all/")
        for attempt in run["attempts"]:
            if attempt["proposed_verdict"] in ("ok", "failed"):
                api(page, "POST", f"{base}/api/v1/attempts/{attempt['id']}/verdict/",
                    {"verdict": attempt["proposed_verdict"],
                     "result_text": attempt["proposed_text"]})  # fmt: skip
        page.goto(f"{base}/campaigns/{campaign}/report/")
        shot(page, out, "report.png")

        # A campaign is the vendor's once QA share it (or sign it off).
        api(page, "POST", f"{base}/api/v1/campaigns/{campaign}/share/")
        vendor = browser.new_context(viewport=VIEWPORT).new_page()
        login(vendor, base, VENDOR)
        vendor.goto(campaign_url)
        shot(vendor, out, "vendor-campaign.png")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
