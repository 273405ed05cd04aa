"""A station's firmware request is on record from its arrival at CertLab's server (issue 13):
served, given up on while CertLab was busy before the view, or answered with an error.

Through the real ASGI path (transfers.arrivals around Django's ASGI application), with a
middleware that holds each request (BusyLab) where a test needs CertLab's own queue.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from tests.transfers.conftest import FIRMWARE_BYTES
from transfers import services
from transfers.arrivals import firmware_arrivals
from transfers.models import FirmwareDownload

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30  # s, generous: every wait below ends on an event long before on a healthy machine


@pytest.fixture
def app():
    return firmware_arrivals(get_asgi_application())


@pytest.fixture
def link(station, firmware):
    token = services.firmware_token_make(station=station, firmware=firmware)
    return f"/files/firmware/{token}/{services.firmware_file_name(firmware)}"


def _scope(path: str, method: str = "GET") -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.9", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def _response(communicator: ApplicationCommunicator) -> tuple[int, bytes]:
    start = await communicator.receive_output(WAIT)
    body = b""
    while True:
        message = await communicator.receive_output(WAIT)
        body += message.get("body", b"")
        if not message.get("more_body"):
            return start["status"], body


async def _downloads() -> list[FirmwareDownload]:
    # Off Django's thread for sync code, which a test may be holding.
    return await asyncio.to_thread(lambda: list(FirmwareDownload.objects.order_by("pk")))


async def test_a_served_request_is_one_record_received_then_served_whole(app, link):
    communicator = ApplicationCommunicator(app, _scope(link))
    await communicator.send_input({"type": "http.request", "body": b""})
    status, body = await _response(communicator)
    await communicator.wait(WAIT)

    assert (status, body) == (200, FIRMWARE_BYTES)
    [download] = await _downloads()
    assert download.complete and download.bytes_sent == len(FIRMWARE_BYTES)
    assert download.started <= download.served <= download.finished
    assert download.remote_address == "127.0.0.9"
    assert download.lab_wait is None  # served at once: nothing worth saying


class BusyLab:
    """A Django middleware standing for CertLab busy elsewhere (its load, its database): every
    request waits here until the test releases it."""

    holding = threading.Event()
    release = threading.Event()
    done = threading.Event()

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        self.holding.set()
        self.release.wait(WAIT)
        try:
            return self.get_response(request)
        finally:
            self.done.set()


@pytest.fixture
def busy_app(settings):
    for event in (BusyLab.holding, BusyLab.release, BusyLab.done):
        event.clear()
    settings.MIDDLEWARE = [f"{__name__}.BusyLab", *settings.MIDDLEWARE]
    yield firmware_arrivals(get_asgi_application())
    BusyLab.release.set()


async def test_a_request_given_up_while_certlab_was_busy_is_on_record_as_never_served(
    busy_app, link
):
    """The soak's step 12 under load: the request waited inside CertLab, the station gave up
    first. The record shows it arrived and that CertLab never sent the file, even when the
    view gets to run at last."""
    communicator = ApplicationCommunicator(busy_app, _scope(link))
    await communicator.send_input({"type": "http.request", "body": b""})
    assert await asyncio.to_thread(BusyLab.holding.wait, WAIT), "the request reached Django"
    [waiting] = await _downloads()  # on record before Django got to it
    assert waiting.served is None and waiting.finished is None

    await communicator.send_input({"type": "http.disconnect"})  # the station gives up
    BusyLab.release.set()  # then CertLab gets to the view at last, for nobody
    await communicator.wait(WAIT)
    assert BusyLab.done.is_set()

    [download] = await _downloads()
    assert download.served is None and not download.complete and download.bytes_sent == 0
    assert download.finished is not None
    assert download.error.startswith("the station closed the connection after ")
    assert download.error.endswith("before CertLab began sending the file")


async def test_a_request_certlab_answered_with_an_error_is_on_record_with_the_answer(
    app, link, firmware
):
    # The file is gone from CertLab's storage: the link is valid, the lab cannot serve it.
    await asyncio.to_thread(lambda: firmware.file.storage.delete(firmware.file.name))
    communicator = ApplicationCommunicator(app, _scope(link))
    await communicator.send_input({"type": "http.request", "body": b""})
    status, body = await _response(communicator)
    await communicator.wait(WAIT)

    assert status == 404 and b"missing on the lab side" in body
    [download] = await _downloads()
    assert download.served is None and download.error == "not served: CertLab answered HTTP 404"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_what_is_not_a_fetch_of_a_valid_link_leaves_no_record(app, link, method):
    path = link if method == "HEAD" else link.replace("/files/firmware/", "/files/firmware/x")
    communicator = ApplicationCommunicator(app, _scope(path, method))
    await communicator.send_input({"type": "http.request", "body": b""})
    status, _ = await _response(communicator)
    await communicator.wait(WAIT)

    assert status == (200 if method == "HEAD" else 404)
    assert await _downloads() == []
