"""A station without a password is open to any client that knows its id: its pages say so; the
demo stations are protected with the password the demo simulator sends."""

import pytest
from django.urls import reverse

from stations.demo import DEMO_STATION_PASSWORD, demo_simulator_arguments, seed_demo
from stations.models import Station
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db

OPEN = "any client can use this id"


def test_an_open_station_is_marked_on_its_catalogue_and_live_pages(qa_client):
    station = StationFactory()
    for url in (
        reverse("stations:object_detail", args=["stations", station.pk]),
        reverse("stations:live", args=[station.pk]),
    ):
        assert OPEN in qa_client.get(url).content.decode(), url
    station.set_password("0123456789abcdefABCD")
    station.save()
    for url in (
        reverse("stations:object_detail", args=["stations", station.pk]),
        reverse("stations:live", args=[station.pk]),
    ):
        assert OPEN not in qa_client.get(url).content.decode(), url


def test_demo_stations_have_the_password_the_demo_simulator_sends():
    seed_demo()
    arguments = demo_simulator_arguments()
    sent = arguments[arguments.index("--password") + 1]
    assert sent == DEMO_STATION_PASSWORD
    for station in Station.objects.all():
        assert station.check_password(sent), station
