"""Firmware links for stations, and the pages where QA and vendors see what was transferred."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotFound,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from certlab.downloads import uploaded_file_response
from stations import selectors as catalogue
from stations.models import Station
from transfers import arrivals, selectors, services
from transfers.models import FirmwareDownload, Protocol

logger = logging.getLogger("transfers")

CHUNK_BYTES = 256 * 1024


# --- Firmware for stations: no login, the signed link is the credential ----------------------


@require_http_methods(["GET", "HEAD"])
def firmware_file(request: HttpRequest, token: str, filename: str) -> HttpResponse:
    remote = request.META.get("REMOTE_ADDR")
    try:
        station, firmware = services.firmware_link_resolve(token, filename)
    except services.FirmwareLinkError as error:
        if error.missing:
            logger.warning("Firmware link for a missing file refused for %s: %s", remote, filename)
        else:
            logger.warning("Firmware link refused for %s: %s", remote, error)
        refuse = HttpResponseForbidden if error.expired else HttpResponseNotFound
        return refuse(f"{error}\n", content_type="text/plain; charset=utf-8")
    try:
        handle = firmware.file.open("rb")
    except OSError:
        logger.error("Firmware file %s is missing from storage", firmware.file.name)
        return HttpResponseNotFound(
            "The firmware file is missing on the lab side.\n",
            content_type="text/plain; charset=utf-8",
        )
    size = firmware.file.size
    headers = {
        "Content-Length": str(size),
        "Content-Disposition": content_disposition_header(True, filename),
    }
    if request.method == "HEAD":
        handle.close()
        return HttpResponse(content_type="application/octet-stream", headers=headers)
    download = services.firmware_download_start(
        station=station,
        firmware=firmware,
        protocol=Protocol.HTTP,
        remote_address=remote,
        arrived=getattr(request, "scope", {}).get(arrivals.SCOPE_KEY),
    )
    stream = _RecordedStream(handle, download)
    # Under ASGI a synchronous iterator would be read whole into memory before sending.
    content = stream.achunks() if isinstance(request, ASGIRequest) else stream.chunks()
    return StreamingHttpResponse(content, content_type="application/octet-stream", headers=headers)


class _RecordedStream:
    """Streams a firmware file and records how much of it went out.

    The download is recorded complete as the file's last chunk is handed to the server, not
    when the server asks the stream for its end: a station that has every byte may close the
    connection first, and then the stream is only closed when the garbage collector gets to it,
    seconds later, long after the station said Downloaded. (Whether the station got the bytes
    is what its FirmwareStatusNotification says.) A stream closed before its last chunk records
    how far it got.
    """

    def __init__(self, handle, download: FirmwareDownload) -> None:
        self._handle = handle
        self._download = download
        self._sent = 0
        self._finished = False

    def _with_last(self) -> Iterator[tuple[bytes, bool]]:
        chunk = self._handle.read(CHUNK_BYTES)
        while chunk:
            following = self._handle.read(CHUNK_BYTES)
            self._sent += len(chunk)
            yield chunk, not following
            chunk = following

    def chunks(self) -> Iterator[bytes]:
        try:
            for chunk, last in self._with_last():
                if last:
                    self.finish()
                yield chunk
        finally:
            self.finish()

    async def achunks(self) -> AsyncIterator[bytes]:
        try:
            for chunk, last in self._with_last():
                if last:
                    await sync_to_async(self.finish)()
                yield chunk
        finally:
            await sync_to_async(self.finish)()

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._handle.close()
        complete = self._sent == self._download.file_size
        services.firmware_download_finish(
            download=self._download,
            bytes_sent=self._sent,
            complete=complete,
            error="" if complete else "the client went away",
        )


# --- Pages -------------------------------------------------------------------------------------


def _station_for_user_or_404(request: HttpRequest, pk: int) -> Station:
    return get_object_or_404(catalogue.stations_for(user=request.user), pk=pk)


@login_required
@require_GET
def station_transfers(request: HttpRequest, pk: int) -> HttpResponse:
    station = _station_for_user_or_404(request, pk)
    uploads = selectors.diagnostics_files_visible(user=request.user).filter(station=station)
    page = Paginator(uploads, 50).get_page(request.GET.get("page"))
    downloads = selectors.firmware_downloads_visible(user=request.user).filter(station=station)
    context = {
        "station": station,
        "page": page,
        "downloads": downloads[:50],
        "diagnostics_location": (
            services.diagnostics_location(station=station) if request.user.is_qa else None
        ),
    }
    return render(request, "transfers/station_transfers.html", context)


@login_required
@require_GET
def diagnostics_download(request: HttpRequest, pk: int) -> FileResponse:
    upload = get_object_or_404(selectors.diagnostics_files_visible(user=request.user), pk=pk)
    if not upload.file:
        raise Http404("This upload did not arrive whole; nothing was kept.")
    return uploaded_file_response(upload.file, filename=upload.file_name)


@login_required
@require_GET
def firmware_downloads(request: HttpRequest, pk: int) -> HttpResponse:
    firmware = get_object_or_404(catalogue.firmware_versions_for(user=request.user), pk=pk)
    downloads = selectors.firmware_downloads_visible(user=request.user).filter(firmware=firmware)
    page = Paginator(downloads, 50).get_page(request.GET.get("page"))
    return render(
        request, "transfers/firmware_downloads.html", {"firmware": firmware, "page": page}
    )
