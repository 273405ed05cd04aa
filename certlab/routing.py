"""Websocket routes of every app, and the HTTP routes served beside Django (the API's
long-polls), gathered in one place for the ASGI application."""

from django.urls import path

from api.longpoll import http_urlpatterns
from campaigns.routing import browser_urlpatterns as campaign_browser_urlpatterns
from certlab.home_live import HomeConsumer
from stations.routing import browser_urlpatterns as station_browser_urlpatterns
from stations.routing import station_urlpatterns

browser_urlpatterns = [
    *station_browser_urlpatterns,
    *campaign_browser_urlpatterns,
    path("home/", HomeConsumer.as_asgi()),
]

__all__ = ["browser_urlpatterns", "http_urlpatterns", "station_urlpatterns"]
