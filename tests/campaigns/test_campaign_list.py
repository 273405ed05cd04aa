"""The campaign list: a page of campaigns with each one's progress, in a few queries."""

from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Applicability, Attempt, AttemptStatus, Campaign, CampaignStatus
from campaigns.vendor import campaign_share
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


def _decide(campaign, number, *verdicts):
    item = campaign.plan.get(function__number=number)
    for n, verdict in enumerate(verdicts, start=1):
        Attempt.objects.create(plan_item=item, station=campaign.station, number=n,
                               status=AttemptStatus.FINISHED, final_verdict=verdict,
                               ended=timezone.now())  # fmt: skip


@pytest.fixture
def campaigns_in_all_states(qa_user):
    """Undecided, decided, retested, decided then retest pending, not applicable."""
    station = StationFactory()
    fresh = services.campaign_create(station=station, owner=qa_user)
    busy = services.campaign_create(station=station, owner=qa_user)
    _decide(busy, 1, "ok")
    _decide(busy, 2, "failed", "ok")
    _decide(busy, 3, "failed", "")  # a retest without a verdict yet: still decided
    _decide(busy, 4, "")  # an attempt without a verdict: not decided
    busy.plan.filter(function__number__in=[15, 16]).update(
        applicability=Applicability.NOT_APPLICABLE, reason="No local cache"
    )
    return [fresh, busy]


def test_progress_counts_the_steps_the_report_calls_decided(campaigns_in_all_states):
    progress = selectors.progress_for(campaigns=campaigns_in_all_states)
    for campaign in campaigns_in_all_states:
        rows = selectors.report_rows(campaign=campaign)
        assert progress[campaign.pk] == (sum(1 for r in rows if r.verdict), len(rows))
    fresh, busy = campaigns_in_all_states
    assert progress[fresh.pk] == (0, 16)
    assert progress[busy.pk] == (5, 16)


def test_the_list_shows_each_campaigns_progress(qa_client, campaigns_in_all_states):
    html = qa_client.get(reverse("campaigns:campaign_list")).content.decode()
    assert '<progress max="16" value="5"></progress> 5/16' in html
    assert '<progress max="16" value="0"></progress> 0/16' in html


def test_a_page_of_campaigns_takes_a_fixed_number_of_queries(
    qa_client, qa_user, django_assert_max_num_queries
):
    station = StationFactory()
    for _ in range(30):
        _decide(services.campaign_create(station=station, owner=qa_user), 1, "ok")
    with django_assert_max_num_queries(6):
        response = qa_client.get(reverse("campaigns:campaign_list"))
    assert response.content.decode().count("1/16") == 25


def test_the_list_of_one_station_pages_with_its_filter_kept(qa_client, qa_user):
    station, other = StationFactory(), StationFactory()
    for _ in range(27):
        services.campaign_create(station=station, owner=qa_user)
    services.campaign_create(station=other, owner=qa_user)
    url = reverse("campaigns:campaign_list")
    first = qa_client.get(url, {"station": station.pk})
    assert first.context["page"].paginator.count == 27
    assert f'href="?station={station.pk}&amp;page=2"' in first.content.decode()
    second = qa_client.get(url, {"station": station.pk, "page": 2})
    assert {c.station for c in second.context["page"].object_list} == {station}


def test_a_vendor_cannot_list_another_manufacturers_station(vendor_client, qa_user):
    station = StationFactory()
    services.campaign_create(station=station, owner=qa_user)
    url = reverse("campaigns:campaign_list")
    assert vendor_client.get(url, {"station": station.pk}).status_code == 404
    for bad in ("abc", "99999999999999999999999"):
        assert vendor_client.get(url, {"station": bad}).status_code == 404


def test_a_station_page_shows_its_latest_campaigns_and_links_to_all(qa_client, qa_user):
    station = StationFactory()
    for _ in range(12):
        services.campaign_create(station=station, owner=qa_user)
    html = qa_client.get(reverse("stations:object_detail", args=["stations", station.pk]))
    html = html.content.decode()
    assert html.count('class="badge status-draft"') == 10
    assert f'href="/campaigns/?station={station.pk}">All 12 campaigns' in html


def test_each_row_shows_the_campaigns_number_and_creation_time(qa_client, qa_user):
    station = StationFactory()
    first = services.campaign_create(station=station, owner=qa_user)
    second = services.campaign_create(station=station, owner=qa_user)
    Campaign.objects.filter(pk=first.pk).update(
        created=timezone.make_aware(datetime(2025, 3, 4, 9, 15))
    )
    html = qa_client.get(reverse("campaigns:campaign_list"), {"station": station.pk})
    html = html.content.decode()
    assert f'href="{first.get_absolute_url()}">#{first.pk}</a>' in html
    assert f'href="{second.get_absolute_url()}">#{second.pk}</a>' in html
    assert ">2025-03-04 09:15</time>" in html


def test_the_status_filter_lists_one_status_and_pages_with_the_station_kept(qa_client, qa_user):
    station, other = StationFactory(), StationFactory()
    for _ in range(27):
        services.campaign_create(station=station, owner=qa_user)
    Campaign.objects.filter(station=station).exclude(
        pk__in=Campaign.objects.filter(station=station).order_by("pk")[:2]
    ).update(status=CampaignStatus.RUNNING)
    services.campaign_create(station=other, owner=qa_user)
    Campaign.objects.filter(station=other).update(status=CampaignStatus.RUNNING)
    url = reverse("campaigns:campaign_list")
    first = qa_client.get(url, {"station": station.pk, "status": "running"})
    assert first.context["page"].paginator.count == 25
    drafts = qa_client.get(url, {"station": station.pk, "status": "draft"})
    assert drafts.context["page"].paginator.count == 2
    assert {c.status for c in drafts.context["page"].object_list} == {"draft"}
    everywhere = qa_client.get(url, {"status": "running"})
    assert everywhere.context["page"].paginator.count == 26
    assert 'href="?status=running&amp;page=2"' in everywhere.content.decode()
    second = qa_client.get(url, {"status": "running", "page": 2})
    assert [c.status for c in second.context["page"].object_list] == ["running"]
    html = first.content.decode()
    assert f'<input type="hidden" name="station" value="{station.pk}">' in html
    assert '<option value="running" selected>Running</option>' in html


def test_an_unknown_status_is_reported_and_ignored(qa_client, qa_user):
    services.campaign_create(station=StationFactory(), owner=qa_user)
    response = qa_client.get(reverse("campaigns:campaign_list"), {"status": "bogus"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 1
    assert "Status filter ignored" in response.content.decode()


def test_a_vendor_filtering_by_status_still_sees_only_its_own(vendor_client, vendor_user, qa_user):
    own = services.campaign_create(
        station=StationFactory(charger_model__manufacturer=vendor_user.manufacturer), owner=qa_user
    )
    services.campaign_create(station=StationFactory(), owner=qa_user)
    campaign_share(campaign=own, user=qa_user)
    Campaign.objects.update(status=CampaignStatus.COMPLETED)
    url = reverse("campaigns:campaign_list")
    response = vendor_client.get(url, {"status": "completed"})
    assert list(response.context["page"].object_list) == [own]
    assert vendor_client.get(url, {"status": "draft"}).context["page"].paginator.count == 0
