"""QA pages of the Central System: live station list, a station's live page with its frame log,
and the command console. Every station is fetched through ``selectors.stations_for`` (a vendor
sees its own manufacturer's, read-only; anything else is a 404); writes are for QA only.
Pending stations (unknown ids let in by CERTLAB_ALLOW_UNKNOWN_STATIONS) are QA's alone."""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import qa_required
from certlab import limits
from stations import frame_export as exports
from stations import ocpp_j, registry, selectors, services
from stations.console_text import console_payload_problem
from stations.frame_view import (
    FrameFilter,
    frame_json,
    frame_page,
    latest_frame_id,
    pending_frame_page,
)
from stations.models import (
    BootStatus,
    ChargerModel,
    Command,
    Frame,
    PendingStation,
    Station,
    StationSettings,
)
from stations.tasks import send_command


def _station(request: HttpRequest, pk: int) -> Station:
    return selectors.get_visible_or_404(selectors.stations_for(user=request.user), pk)


def _last_frame(station_field: str = "pk", **filters) -> Subquery:
    return Subquery(
        Frame.objects.of_station(OuterRef(station_field)).filter(**filters).values("timestamp")[:1]
    )


def _pending_frame_count() -> Subquery:
    # Correlated: one scan of the partial index per pending station, never a join over the log.
    frames = Frame.objects.filter(pending_station=OuterRef("pk")).order_by()
    return Subquery(frames.values("pending_station").annotate(n=Count("*")).values("n"))


@login_required
@require_GET
def station_list(request: HttpRequest) -> HttpResponse:
    stations = (
        selectors.stations_for(user=request.user)
        .select_related("live")
        .annotate(last_frame=_last_frame())
    )
    page = Paginator(stations, 50).get_page(request.GET.get("page"))
    online = registry.online_ids([s.charge_point_id for s in page.object_list])
    rows = [(s, s.charge_point_id in online) for s in page.object_list]
    pending = (
        PendingStation.objects.annotate(frame_count=_pending_frame_count())
        if request.user.is_qa
        else []
    )
    return render(
        request, "stations/live_list.html", {"page": page, "rows": rows, "pending": pending}
    )


@login_required
@require_GET
def station_live(request: HttpRequest, pk: int) -> HttpResponse:
    station = _station(request, pk)
    flt = FrameFilter.from_dict(request.GET.dict())
    # Read before the history: the live stream replays from here, so a frame saved meanwhile
    # is shown (once: the page drops a line it already has), never missed.
    latest_id = latest_frame_id(station.pk)
    frames, next_before = frame_page(station.pk, flt)
    latest = Frame.objects.of_station(station.pk)
    context = {
        "station": station,
        "online": bool(registry.online_ids([station.charge_point_id])),
        "live": getattr(station, "live", None),
        "settings": StationSettings.objects.filter(station=station).first(),
        "boot_statuses": BootStatus.choices,
        "last_frame": latest.values_list("timestamp", flat=True).first(),
        "last_heartbeat": latest.filter(action="Heartbeat", direction="in")
        .values_list("timestamp", flat=True)
        .first(),
        "connectors": station.connector_statuses.all(),
        "transactions": station.transactions.all()[:10],
        "meter_values": station.meter_values.all()[:12],
        "connections": station.connections.all()[:10],
        "frames": [frame_json(f) for f in frames],
        "latest_id": latest_id,
        "next_before": next_before,
        "filter": flt,
        "actions": sorted(ocpp_j.KNOWN_ACTIONS),
        "cs_actions": ocpp_j.CS_ACTIONS,
        "schemas": {a: _schema(a) for a in ocpp_j.CS_ACTIONS} if request.user.is_qa else {},
        "commands": station.commands.all()[:10] if request.user.is_qa else [],
    }
    return render(request, "stations/station_live.html", context)


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON value")


def _schema(action: str) -> dict:
    return json.loads((ocpp_j.SCHEMA_DIR / f"{action}.json").read_text(encoding="utf-8-sig"))


@login_required
@require_GET
def frame_history(request: HttpRequest, pk: int) -> JsonResponse:
    """An older page of the frame log as rendered lines and the cursor of the next one."""
    station = _station(request, pk)
    flt = FrameFilter.from_dict(request.GET.dict())
    before = _before(request)
    latest_id = latest_frame_id(station.pk) if before is None else None
    frames, next_before = frame_page(station.pk, flt, before=before)
    html = "".join(
        render_to_string("stations/_frame_line.html", {"f": frame_json(f)}) for f in frames
    )
    return JsonResponse({"html": html, "next": next_before, "latest": latest_id})


@login_required
@require_GET
def frame_export(request: HttpRequest, pk: int, fmt: exports.Format) -> StreamingHttpResponse:
    """The station's whole frame log, oldest first, as CSV or JSON Lines (streamed)."""
    station = _station(request, pk)
    frames = exports.station_frames(station.pk)
    return exports.response(
        request, frames, fmt, get_valid_filename(f"{station.charge_point_id}-frames")
    )


def _before(request: HttpRequest) -> int | None:
    """The ``before`` cursor of an older page of frames (None: the newest page)."""
    try:
        return int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        return None


@qa_required
@require_POST
def console_send(request: HttpRequest, pk: int) -> HttpResponse:
    station = _station(request, pk)
    action = request.POST.get("action", "")
    raw = request.POST.get("raw", "").strip()
    typed = max(len(raw), len(request.POST.get("payload", "")))
    if typed > limits.CONSOLE_FRAME:
        return JsonResponse(
            {"error": f"A frame from the console is at most {limits.CONSOLE_FRAME} characters "
                      f"(this one has {typed})."},
            status=400,
        )  # fmt: skip
    try:
        timeout = float(request.POST.get("timeout") or 30)
    except ValueError:
        timeout = math.nan
    if not math.isfinite(timeout):
        return JsonResponse({"error": "The timeout must be a number of seconds."}, status=400)
    timeout = min(max(timeout, 1), 300)
    try:
        payload = (
            None
            if raw
            else json.loads(request.POST.get("payload") or "{}", parse_constant=_not_json)
        )
    except ValueError as exc:
        return JsonResponse({"error": f"Not JSON: {exc}"}, status=400)
    if "\x00" in raw or "\\u0000" in json.dumps(payload):
        return JsonResponse(
            {
                "error": "The NUL character cannot be stored: send a raw frame with the "
                "escape \\u0000 in it to see how the station takes one."
            },
            status=400,
        )
    if not raw and action not in ocpp_j.CS_ACTIONS:
        return JsonResponse({"error": "Choose one of the Central System actions."}, status=400)
    if not raw and (problem := console_payload_problem(action, payload)):
        return JsonResponse({"error": problem}, status=400)
    command = Command.objects.create(
        station=station,
        action="" if raw else action,
        payload=payload,
        raw=raw,
        timeout=timeout,
        requested_by=request.user,
    )
    transaction.on_commit(lambda: send_command.delay(command.pk))
    return JsonResponse({"id": command.pk, "url": f"{request.path}{command.pk}/"}, status=202)


@login_required
@require_GET
def command_detail(request: HttpRequest, pk: int, command_pk: int) -> JsonResponse:
    station = _station(request, pk)
    if not request.user.is_qa:
        return JsonResponse({"error": "QA only"}, status=403)
    command = get_object_or_404(Command, pk=command_pk, station=station)
    return JsonResponse(
        {
            "id": command.pk,
            "status": command.status,
            "status_label": command.get_status_display(),
            "response": command.response,
            "error": command.error,
            "finished": command.finished.isoformat() if command.finished else None,
        }
    )


@qa_required
@require_POST
def boot_settings(request: HttpRequest, pk: int) -> HttpResponse:
    station = _station(request, pk)
    status = request.POST.get("boot_status", "")
    try:
        interval = int(request.POST.get("heartbeat_interval", ""))
    except ValueError:
        interval = -1
    if status not in BootStatus.values or not 0 < interval <= 86400:
        messages.error(request, "Pick a boot answer and an interval between 1 and 86400 s.")
    else:
        StationSettings.objects.update_or_create(
            station=station, defaults={"boot_status": status, "heartbeat_interval": interval}
        )
        messages.success(request, f"The next BootNotification is answered {status}.")
    return redirect("stations:live", pk=station.pk)


@qa_required
@require_GET
def pending_detail(request: HttpRequest, pending_pk: int) -> HttpResponse:
    """A pending station: what it said at boot, its connections and its frames, newest first,
    one page at a time (a page of its own: nothing streams live for a pending station)."""
    pending = get_object_or_404(PendingStation, pk=pending_pk)
    flt = FrameFilter.from_dict(request.GET.dict())
    before = _before(request)
    frames, next_before = pending_frame_page(pending.pk, flt, before=before)
    context = {
        "pending": pending,
        "online": bool(registry.online_ids([pending.charge_point_id])),
        "boot_payload": json.dumps(pending.boot_payload, indent=2, ensure_ascii=False)
        if pending.boot_payload
        else "",
        "connections": pending.connections.all()[:10],
        "charger_models": selectors.charger_models_for(user=request.user),
        "frames": [frame_json(f) for f in frames],
        "filter": flt,
        "filter_query": urlencode(flt.as_query()),
        "older_query": urlencode({**flt.as_query(), "before": next_before}) if next_before else "",
        "paged": before is not None,
        "actions": sorted(ocpp_j.KNOWN_ACTIONS),
    }
    return render(request, "stations/pending_detail.html", context)


@qa_required
@require_POST
def pending_adopt(request: HttpRequest, pending_pk: int) -> HttpResponse:
    pending = get_object_or_404(PendingStation, pk=pending_pk)
    model = get_object_or_404(ChargerModel, pk=request.POST.get("charger_model") or 0)
    station = services.pending_station_adopt(pending=pending, charger_model=model)
    messages.success(
        request, f"Adopted {station} with its frames: it is known from its next connection."
    )
    return redirect("stations:live", pk=station.pk)


@qa_required
@require_POST
def pending_delete(request: HttpRequest, pending_pk: int) -> HttpResponse:
    pending = get_object_or_404(PendingStation, pk=pending_pk)
    services.pending_station_delete(pending=pending)
    messages.success(request, f"Pending station {pending.charge_point_id} deleted.")
    return redirect("stations:live_list")
