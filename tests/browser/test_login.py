"""A person in a real browser against a real daphne: logging in, seeing one's own catalogue,
bad credentials answered on the page."""

import pytest

from tests.factories import StationFactory, VendorFactory

pytestmark = pytest.mark.e2e


def test_vendor_logs_in_and_sees_only_its_own_stations(daphne_server, browser_page, tmp_path):
    vendor = VendorFactory(username="maker-a")
    StationFactory(charge_point_id="OWN-CP-1", charger_model__manufacturer=vendor.manufacturer)
    StationFactory(charge_point_id="FOREIGN-CP-1")

    page = browser_page
    page.goto(f"{daphne_server.base_url}/catalogue/stations/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "maker-a")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/catalogue/stations/")
    table = page.inner_text("main")
    assert "OWN-CP-1" in table
    assert "FOREIGN-CP-1" not in table
    assert page.locator("text=New station").count() == 0
    page.screenshot(path=str(tmp_path / "vendor-stations.png"))

    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")


def test_wrong_password_is_answered_on_the_login_page(daphne_server, browser_page):
    VendorFactory(username="maker-b")
    page = browser_page
    page.goto(f"{daphne_server.base_url}/accounts/login/")
    page.fill("#id_username", "maker-b")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")
    assert "Please enter a correct username and password" in page.inner_text(".errors")
