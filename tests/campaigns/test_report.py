"""The report a lab signs, read back from the PDF a user downloads (pypdf): the seed layout with
the platform, the four header fields, all 16 functions with their criteria, verdicts and retest
history, the marks where due, the firmware after the update, the evidence appendix with numbered
frames, the history appendix, page furniture on every page; and the HTML's links from criteria
to frames."""

import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from campaigns import services
from campaigns.catalogue import load_catalogue
from campaigns.vendor import campaign_share
from tests.campaigns.report_campaign import UPDATE, add_history, full_campaign
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(vendor_user):
    vendor_user.manufacturer.number = "1104190610010"
    vendor_user.manufacturer.save()
    return StationFactory(charger_model__manufacturer=vendor_user.manufacturer)


def pdf_pages(client, campaign) -> list[str]:
    response = client.get(reverse("campaigns:report_pdf", args=[campaign.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_pdf_has_the_seed_layout_all_16_functions_and_the_retest_history(
    qa_client, qa_user, station, settings
):
    settings.CERTLAB_PLATFORM_NAME = "Example Platform"
    settings.CERTLAB_LAB_NAME = "Example Lab"
    campaign = full_campaign(station=station, owner=qa_user, frames=40)
    pages = pdf_pages(qa_client, campaign)
    text = flat(" ".join(pages))
    assert "Test Report Charge Station connected with OCPP 1.6 to Example Platform" in text
    maker = station.charger_model.manufacturer
    assert f"Manufacturer Name {maker.name}" in text
    assert "Manufacturer Number 1104190610010" in text
    assert f"Manufacturer Model {station.charger_model.name}" in text
    assert f"Firmware Version {campaign.firmware.version}" in text
    for function in load_catalogue().functions:
        assert flat(function.title) in text, function.title
        for criterion in function.criteria:
            head = criterion.text.split(" i. ")[0]
            assert flat(head)[:80] in text, criterion.id
    assert text.count("Ok, step ") >= 15
    assert (
        "1st attempt failed: station did not come back online after the update; "
        "retest Ok, step 12 passed"
    ) in text
    assert "Example Lab" in text and "Test period 2026-11-22 09:00 to" in text
    assert "Sign-off" in flat(pages[-1]) and "Signature" in flat(pages[-1])


def test_every_pdf_page_has_the_running_header_page_n_of_m_and_draft(qa_client, qa_user, station):
    campaign = full_campaign(station=station, owner=qa_user, frames=400)
    pages = pdf_pages(qa_client, campaign)
    total = len(pages)
    assert total > 20
    head = f"{station.charge_point_id} · campaign #{campaign.pk} · report revision 1"
    for number, page in enumerate(pages, start=1):
        assert head in page, number
        assert f"page {number} of {total}" in page, number
        assert "DRAFT — not signed off" in page, number
        assert "REHEARSAL" not in page, number


def test_a_signed_off_report_has_no_draft_mark_and_names_who_signed(qa_client, qa_user, station):
    campaign = full_campaign(station=station, owner=qa_user)
    services.campaign_complete(campaign=campaign)
    services.campaign_sign_off(campaign=campaign, user=qa_user)
    pages = pdf_pages(qa_client, campaign)
    assert not any("DRAFT" in page for page in pages)
    last = flat(pages[-1])
    assert f"Name {qa_user.get_full_name() or qa_user.get_username()}" in last
    assert f"Date {campaign.signed_off:%Y-%m-%d}" in last


def test_a_rehearsal_report_says_rehearsal_on_every_page(qa_client, qa_user, station):
    campaign = full_campaign(station=station, owner=qa_user, rehearsal=True)
    pages = pdf_pages(qa_client, campaign)
    assert all("REHEARSAL — not a certification" in page for page in pages)
    html = qa_client.get(reverse("campaigns:report", args=[campaign.pk])).content.decode()
    assert "REHEARSAL — not a certification" in html and "DRAFT — not signed off" in html


def test_after_step_12_installed_the_report_says_so_and_later_steps_say_their_firmware(
    qa_client, qa_user, station
):
    campaign = full_campaign(station=station, owner=qa_user)
    under_test = campaign.firmware.version
    text = flat(" ".join(pdf_pages(qa_client, campaign)))
    assert f"Firmware Version {under_test} (under test)" in text
    assert f"Firmware after update {UPDATE} (installed in step 12, 2nd attempt" in text
    assert text.count(f"Ran on firmware {UPDATE} (after the update in step 12)") == 4  # 13-16
    assert f"Before the update {under_test}" in text
    assert f"After the update {UPDATE}" in text


def test_without_an_installed_update_there_is_no_after_update_line(qa_client, qa_user, station):
    campaign = full_campaign(station=station, owner=qa_user, install=False)
    text = flat(" ".join(pdf_pages(qa_client, campaign)))
    assert "Firmware after update" not in text and "Ran on firmware" not in text
    assert "After the update not installed" in text


def test_the_appendix_carries_each_steps_evidence_with_numbered_frames(qa_client, qa_user, station):
    campaign = full_campaign(station=station, owner=qa_user, frames=64)
    text = flat(" ".join(pdf_pages(qa_client, campaign)))
    # 64 frames of final attempts, numbered once each through the report, each with its JSON.
    for number in (1, 2, 33, 64):
        assert f"F{number} " in text
    assert "F65 " not in text
    assert '"measurand": "Voltage"' in text  # pretty JSON
    assert "station -> CS · CALL MeterValues" in text
    assert "Configuration list (GetConfiguration)" in text and "Key39" in text
    assert "Meter values over the transaction" in text
    assert "diag-20261122.zip" in text and "48213" in text and "9f2c" + "0" * 60 in text
    assert "Firmware download record" in text and f"{UPDATE}.bin" in text
    assert "Offline replay" in text and "StopTransaction" in text
    assert "Earlier attempts" in text and "1st" in text


def test_a_long_result_text_is_printed_whole(qa_client, qa_user, station):
    words = " ".join(f"word{i:04d}" for i in range(180))  # ~1,800 characters
    campaign = full_campaign(station=station, owner=qa_user, long_result=words)
    text = flat(" ".join(pdf_pages(qa_client, campaign)))
    assert all(f"word{i:04d}" in text for i in range(180))
    # One "word" far wider than its column: wrapped at any character, never cut.
    campaign.plan.get(function__number=1).attempts.update(result_text="q" * 1500)
    longer = " ".join(pdf_pages(qa_client, campaign))
    assert longer.count("q") - text.count("q") == 1500


def test_the_html_links_every_criterion_result_to_its_frames(qa_client, qa_user, station):
    campaign = full_campaign(station=station, owner=qa_user, frames=64)
    html = qa_client.get(reverse("campaigns:report", args=[campaign.pk])).content.decode()
    assert 'href="#criterion-3.d"' in html and 'id="criterion-3.d"' in html
    assert '<ol class="sub"><li>i. If not in error' in html
    for anchor in re.findall(r'href="#(frame-\d+)"', html):
        assert f'id="{anchor}"' in html
    assert len(set(re.findall(r'href="#(frame-\d+)"', html))) == 64


def test_a_vendor_gets_404_for_another_vendors_report(vendor_client, qa_user):
    other = full_campaign(station=StationFactory(), owner=qa_user)
    for name in ("report", "report_pdf"):
        assert vendor_client.get(reverse(f"campaigns:{name}", args=[other.pk])).status_code == 404


def test_a_long_table_breaks_across_pages_with_its_header_on_each(qa_client, qa_user, station):
    campaign = full_campaign(station=station, owner=qa_user)
    rows = [{"key": f"LongKey{i:03d}", "readonly": False, "value": f"v{i}"} for i in range(300)]
    campaign.plan.get(function__number=4).attempts.update(attachments={"configuration": rows})
    pages = [flat(page) for page in pdf_pages(qa_client, campaign)]
    holding = [page for page in pages if "LongKey" in page]
    assert len(holding) >= 3
    assert all("key value readonly LongKey" in page for page in holding)  # header, then rows
    shown = " ".join(holding)
    assert all(f"LongKey{i:03d}" in shown for i in range(300))  # every row, none cut


def test_a_long_history_is_printed_whole_with_its_header_on_every_page_and_no_lab_only_entry(
    vendor_client, qa_user, station
):
    qa_user.first_name, qa_user.last_name = "Łukasz", "Żółć"  # beyond WinAnsi
    qa_user.save()
    campaign = full_campaign(station=station, owner=qa_user)
    campaign_share(campaign=campaign, user=qa_user)
    # 300 changes, every tenth with texts over several lines, every seventh a lab-only note.
    entries = add_history(campaign, entries=300, user=qa_user, lab_only_every=7)
    pages = pdf_pages(vendor_client, campaign)
    start = next(i for i, page in enumerate(pages) if "Appendix: history of the report" in page)
    appendix = pages[start:-1]
    assert "Sign-off" in pages[-1] and len(appendix) >= 5
    for number, page in enumerate(appendix, start=start + 1):
        assert "When Who What Before After Reason" in flat(page), number
        assert f"page {number} of {len(pages)}" in page, number
    squeezed = re.sub(r"\s+", "", "".join(appendix))
    shown = [entry for entry in entries if not entry.lab_only]
    for entry in shown:
        when = f"{timezone.localtime(entry.at):%Y-%m-%d %H:%M:%S}"
        row = [when, "ŁukaszŻółć", entry.before, entry.after, entry.reason]
        for text in row:
            assert re.sub(r"\s+", "", text) in squeezed, text
    assert "Step3,1stattempt:Resulttext" in squeezed
    # Newest first: the entries' tags (H0001…) in descending order.
    positions = [squeezed.index(tag(entry)) for entry in shown]
    assert positions == sorted(positions, reverse=True) and len(shown) == 258
    hidden = [entry for entry in entries if entry.lab_only]
    text = " ".join(pages)
    assert len(hidden) == 42 and "LAB-ONLY" not in text and "Internal note" not in text
    assert [tag(entry) for entry in hidden if tag(entry) in text] == []


def tag(entry) -> str:
    """The H0042 each text of add_history's entry 42 carries."""
    return re.search(r"H\d{4}", entry.after).group()
