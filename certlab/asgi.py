"""The ASGI application: pages over HTTP, the OCPP endpoint and the browsers' live streams.

Stations are not browsers: the OCPP routes carry no session and no Origin check. Browser
websockets go through the session and the allowed-hosts Origin check.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certlab.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path, re_path  # noqa: E402

from certlab.routing import (  # noqa: E402
    browser_urlpatterns,
    http_urlpatterns,
    station_urlpatterns,
)
from stations import daphne_hooks, shutdown  # noqa: E402
from transfers.arrivals import firmware_arrivals  # noqa: E402

# Daphne tells the consumer why a socket ended, and hands it text frames that are not UTF-8.
daphne_hooks.install()
# A stopping daphne closes its stations' sockets and deregisters them before it exits.
shutdown.install()

browser_app = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(browser_urlpatterns)))
# A router behind middleware is not recognised as nested: mark it, so "ws/" matches as a prefix.
browser_app._path_routing = True

application = ProtocolTypeRouter(
    {
        # The API's long-polls are coroutines of their own; everything else is Django's, with
        # stations' firmware requests on record as they arrive, before Django's queue.
        "http": URLRouter([*http_urlpatterns, re_path(r"", firmware_arrivals(django_asgi_app))]),
        "websocket": URLRouter([*station_urlpatterns, path("ws/", browser_app)]),
    }
)

# What start-up loaded (Django, the apps, URL patterns, schemas) lives as long as the process:
# keep it out of the collector's full passes, which would walk all of it while the event loop
# waits.
gc.freeze()
