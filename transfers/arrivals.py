"""A station's firmware request is on record from the moment it reaches CertLab's server.

Django serves the firmware link (``views.firmware_file``), but under ASGI a request first waits
for Django's synchronous middleware and view thread, which every page view of the process
shares. Under load a request can wait there longer than a station waits for its download to
start; the station then gives up, reports DownloadFailed, and Django never runs the view. Had
only the view kept records, CertLab's transfer log would say the station never asked, and step
12 would hold CertLab's own queue against the station (issue 13).

So this ASGI wrapper around Django records the request as it arrives, on the database threads
of the Central System's answers (never Django's own queue), hands the record's id to the view in
the scope (the view marks when it began sending), and, once Django is done, ends the record of a
request that was never served: the station went away first, or CertLab answered an error.
"""

from __future__ import annotations

import logging
import re

from stations.answers import answer_db
from transfers import services

logger = logging.getLogger("transfers")

SCOPE_KEY = "certlab.firmware_download"  # the arrival's FirmwareDownload id, for the view
_PATH = re.compile(r"^/files/firmware/(?P<token>[^/]+)/(?P<filename>[^/]+)$")

_arrived = answer_db(services.firmware_download_arrived)
_unserved = answer_db(services.firmware_download_unserved)


def firmware_arrivals(app):
    """``app`` (Django's ASGI application) with firmware requests recorded on arrival."""

    async def recorded(scope, receive, send):
        match = _PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "GET":
            return await app(scope, receive, send)
        client = scope.get("client") or (None,)
        try:
            download = await _arrived(**match.groupdict(), remote_address=client[0])
        except Exception as error:  # the database is away: the view records what it serves
            logger.warning("Could not record the arrival of a firmware request: %s", error)
            download = None
        if download is None:
            return await app(scope, receive, send)

        answered: int | None = None

        async def watched(message):
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = message["status"]
            await send(message)

        try:
            await app({**scope, SCOPE_KEY: download.pk}, receive, watched)
        finally:
            if answered != 200:  # a file that went out: its stream recorded how far
                try:
                    await _unserved(arrived=download.pk, answered=answered)
                except Exception as error:
                    logger.warning("Could not record firmware request %s as unserved: %s",
                                   download.pk, error)  # fmt: skip

    return recorded
