"""Websocket routes: the OCPP endpoint for stations, live streams for browsers."""

from django.urls import path, re_path

from stations import consumers, live

station_urlpatterns: list = [
    re_path(r"^ocpp/(?P<charge_point_id>[^/]+)/?$", consumers.OcppConsumer.as_asgi()),
]
browser_urlpatterns: list = [
    path("stations/<int:pk>/frames/", live.FrameStreamConsumer.as_asgi()),
]
