"""Fixtures for file transfers: storage in a temporary folder, stations with firmware files,
and an FTP server running in a thread of the test process.

The in-process server shares the test's database connection, the way Django's live-server
thread does, so its writes are visible to the test and rolled back after it. That is safe
because the server does all its database work before it answers a command, while the client
in the test waits for that answer. One end-to-end test runs the server as its own process.
"""

from __future__ import annotations

import ftplib
import threading
from collections.abc import Iterator

import pytest
from django.core.files.base import ContentFile
from django.db import connections
from pyftpdlib.ioloop import IOLoop

from tests.factories import FirmwareVersionFactory, StationFactory
from transfers import services
from transfers.ftp_server import build_server

FIRMWARE_BYTES = bytes(range(256)) * 400  # 100 kB, every byte value


@pytest.fixture
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CERTLAB_FTP_ROOT = tmp_path / "ftp"
    return tmp_path


@pytest.fixture
def station(db, vendor_user):
    """A station of the vendor user's manufacturer, with a firmware file for its model."""
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    return station


def add_firmware_file(station, name="fw-2.0.bin", content=FIRMWARE_BYTES):
    firmware = FirmwareVersionFactory(charger_model=station.charger_model)
    firmware.file.save(name, ContentFile(content), save=True)
    return firmware


@pytest.fixture
def firmware(station, storage):
    return add_firmware_file(station)


@pytest.fixture
def account(station):
    return services.ftp_account_get_or_create(station=station)


class InProcessFTP:
    def __init__(self, server) -> None:
        self.server = server
        self.port = server.address[1]
        self.handler = server.handler

    def client(self, username: str | None = None, password: str | None = None) -> ftplib.FTP:
        ftp = ftplib.FTP(timeout=10)
        ftp.connect("127.0.0.1", self.port)
        if username is not None:
            ftp.login(username, password)
        return ftp


@pytest.fixture
def ftp_server(db, storage, settings) -> Iterator[InProcessFTP]:
    ioloop = IOLoop()
    server = build_server(
        host="127.0.0.1",
        port=0,
        root=settings.CERTLAB_FTP_ROOT,
        max_upload_bytes=10 * 2**20,
        min_free_bytes=0,
        auth_failed_delay=0.05,
        ioloop=ioloop,
    )
    shared = connections["default"]
    shared.inc_thread_sharing()
    stop = threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        connections["default"] = shared
        try:
            while not stop.is_set():
                ioloop.loop(timeout=0.02, blocking=False)
        except BaseException as error:  # surfaced by the fixture, not lost in the thread
            failures.append(error)
        finally:
            server.close_all()

    thread = threading.Thread(target=serve, name="ftp-server", daemon=True)
    thread.start()
    try:
        yield InProcessFTP(server)
    finally:
        stop.set()
        thread.join(10)
        shared.dec_thread_sharing()
    assert not thread.is_alive(), "the FTP server thread did not stop"
    assert not failures, failures
