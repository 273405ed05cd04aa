"""Debian's chromium driven by Playwright (Playwright cannot download its own browser here):
the launch arguments and the login every browser test shares."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]  # fmt: skip
PASSWORD = "correct horse battery"  # tests.factories.UserFactory's


async def login(page, base: str, username: str) -> None:
    """Log in through the login page; the home page follows."""
    await page.goto(f"{base}/accounts/login/")
    await page.fill("#id_username", username)
    await page.fill("#id_password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")
