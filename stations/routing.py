"""Websocket routes: the OCPP endpoint for stations, live streams for browsers."""

station_urlpatterns: list = []
browser_urlpatterns: list = []
