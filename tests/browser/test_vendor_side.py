"""A vendor in a real browser against a real daphne: uploads a firmware file for its model and
sees it with its SHA-256, and of the campaigns sees only those shared with it."""

import hashlib

import pytest

from campaigns import services
from campaigns.vendor import campaign_share
from tests.factories import ChargerModelFactory, StationFactory, UserFactory, VendorFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def campaigns_of_two_makers(daphne_server):
    """Made before the browser starts: sharing announces itself on the channel layer through
    async_to_sync, which refuses to run in a thread where sync Playwright keeps its event loop."""
    qa = UserFactory(username="qa-browser")
    vendor = VendorFactory(username="maker-up")
    model = ChargerModelFactory(manufacturer=vendor.manufacturer, name="UP-MODEL")
    shared = services.campaign_create(
        station=StationFactory(charge_point_id="OWN-SHARED", charger_model=model), owner=qa
    )
    campaign_share(campaign=shared, user=qa)
    draft = services.campaign_create(
        station=StationFactory(charge_point_id="OWN-DRAFT", charger_model=model), owner=qa
    )
    foreign = services.campaign_create(station=StationFactory(charge_point_id="ZETA-CP"), owner=qa)
    campaign_share(campaign=foreign, user=qa)
    return model, draft, foreign


def test_a_vendor_uploads_a_firmware_file_and_sees_only_its_shared_campaigns(
    daphne_server, campaigns_of_two_makers, browser_page, tmp_path
):
    model, draft, foreign = campaigns_of_two_makers
    firmware = tmp_path / "up-2.1.bin"
    firmware.write_bytes(b"\x7fELF firmware image " * 5000)

    page = browser_page
    base = daphne_server.base_url
    page.goto(f"{base}/catalogue/firmware/")
    page.fill("#id_username", "maker-up")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/catalogue/firmware/")
    page.click("text=Upload a firmware file")
    page.wait_for_url("**/catalogue/firmware/upload/")
    page.select_option("#id_charger_model", str(model.pk))
    page.fill("#id_version", "UP-2.1")
    page.set_input_files("#id_file", str(firmware))
    page.click("button[type=submit]")
    page.wait_for_url("**/catalogue/firmware/*/")
    facts = page.inner_text("main")
    assert hashlib.sha256(firmware.read_bytes()).hexdigest() in facts
    assert f"{firmware.stat().st_size} bytes" in facts and "maker-up" in facts
    page.screenshot(path=str(tmp_path / "vendor-firmware.png"))

    page.goto(f"{base}/campaigns/")
    listing = page.inner_text("main")
    assert "OWN-SHARED" in listing
    assert "OWN-DRAFT" not in listing and "ZETA" not in listing
    response = page.goto(f"{base}/campaigns/{draft.pk}/")
    assert response.status == 404
    response = page.goto(f"{base}/campaigns/{foreign.pk}/")
    assert response.status == 404
