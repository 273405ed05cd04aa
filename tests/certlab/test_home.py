"""The home page to start the day: campaigns in progress with their progress, stations connected
now, prompts waiting (a link straight to each), recent sign-offs; a vendor sees their own only;
empty states say so; the number of queries does not grow with the rows."""

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import run_all, services
from campaigns.models import Attempt, AttemptStatus, Prompt, RunAll
from campaigns.vendor import campaign_share
from tests.factories import StationFactory, VendorFactory

pytestmark = pytest.mark.django_db


def running_campaign(station, owner, *, prompt: str = "", decided: int = 0):
    campaign = services.campaign_create(station=station, owner=owner)
    items = list(campaign.plan.filter(applicability="planned").order_by("function__number"))
    now = timezone.now()
    for item in items[:decided]:
        Attempt.objects.create(plan_item=item, station=station, number=1, status="finished",
                               final_verdict="ok", result_text="Ok", ended=now)  # fmt: skip
    item = items[decided]
    attempt = Attempt.objects.create(
        plan_item=item, station=station, number=1, status=AttemptStatus.RUNNING, started=now
    )
    campaign.status = "running"
    campaign.started = now
    campaign.save()
    if prompt:
        Prompt.objects.create(attempt=attempt, text=prompt, choices=["Done"],
                              deadline=now + timezone.timedelta(minutes=5))  # fmt: skip
    return campaign, attempt


def test_the_home_page_shows_the_day(qa_client, qa_user, vendor_user, mark_online):
    station = StationFactory(charge_point_id="CP-HOME-1",
                             charger_model__manufacturer=vendor_user.manufacturer)  # fmt: skip
    idle = StationFactory(charge_point_id="CP-HOME-IDLE")
    StationFactory(charge_point_id="CP-HOME-OFFLINE")
    mark_online(station)
    mark_online(idle)
    campaign, attempt = running_campaign(station, qa_user, prompt="Plug the cable in.", decided=3)
    signed = services.campaign_create(station=idle, owner=qa_user)
    signed.status, signed.signed_off, signed.signed_off_by = "signed_off", timezone.now(), qa_user
    signed.save()
    page = qa_client.get(reverse("home")).content.decode()
    total = campaign.plan.count()
    assert f"3 of {total} decided" in page
    assert "Plug the cable in." in page and attempt.get_absolute_url() in page
    assert "CP-HOME-1" in page and "CP-HOME-IDLE" in page and "CP-HOME-OFFLINE" not in page
    assert f"{reverse('campaigns:campaign_create')}?station={idle.pk}" in page
    assert reverse("campaigns:report", args=[signed.pk]) in page
    assert "No step is waiting" not in page


def test_a_running_sequence_shows_its_step_on_the_home_page(qa_client, qa_user, mark_online):
    station = StationFactory()
    mark_online(station)
    campaign = services.campaign_create(station=station, owner=qa_user)
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    page = qa_client.get(reverse("home")).content.decode()
    assert f'running all steps: <a href="{run.current.get_absolute_url()}">step ' in page


def test_empty_states_say_there_is_nothing(qa_client):
    page = qa_client.get(reverse("home")).content.decode()
    for text in ("No step is waiting for anyone.", "No campaign is running.",
                 "No station is connected.", "Nothing signed off yet."):  # fmt: skip
        assert text in page


def test_a_vendor_sees_only_their_own(vendor_client, vendor_user, qa_user, mark_online):
    own = StationFactory(charge_point_id="CP-OWN",
                         charger_model__manufacturer=vendor_user.manufacturer)  # fmt: skip
    other = StationFactory(charge_point_id="CP-ZETA")
    for station in (own, other):
        mark_online(station)
    campaign, _ = running_campaign(own, qa_user, prompt="Own prompt.")
    running_campaign(other, qa_user, prompt="ZETA prompt.")
    hidden = vendor_client.get(reverse("home")).content.decode()
    assert "CP-OWN" in hidden and "Own prompt." not in hidden and "· running" not in hidden
    campaign_share(campaign=campaign, user=qa_user)  # until then the lab's (issue 11.5)
    page = vendor_client.get(reverse("home")).content.decode()
    assert "CP-OWN" in page and "Own prompt." in page
    assert "ZETA" not in page
    assert "New campaign" not in page  # QA's to start


def test_the_queries_do_not_grow_with_the_rows(
    qa_client, qa_user, mark_online, django_assert_max_num_queries
):
    def add(n: int) -> None:
        for _ in range(n):
            station = StationFactory()
            mark_online(station)
            campaign, attempt = running_campaign(
                station, qa_user, prompt="Present the tag.", decided=1
            )
            RunAll.objects.create(campaign=campaign, started_by=qa_user, current=attempt,
                                  items=[attempt.plan_item_id], attempts=[attempt.pk])  # fmt: skip
            signed = services.campaign_create(station=station, owner=qa_user)
            signed.status, signed.signed_off = "signed_off", timezone.now()
            signed.signed_off_by = VendorFactory() if n % 2 else qa_user
            signed.save()

    add(1)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        qa_client.get(reverse("home"))
    add(5)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = qa_client.get(reverse("home")).content.decode()
    assert page.count("Present the tag.") == 6
    assert page.count("running all steps: ") == 6


def test_the_station_live_page_starts_a_campaign_for_that_station(
    qa_client, vendor_client, vendor_user
):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    live = reverse("stations:live", args=[station.pk])
    new = f"{reverse('campaigns:campaign_create')}?station={station.pk}"
    assert new in qa_client.get(live).content.decode()
    assert new not in vendor_client.get(live).content.decode()  # QA start campaigns
    form = qa_client.get(new).content.decode()
    assert f'<option value="{station.pk}" selected>' in form
