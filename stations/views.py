"""Catalogue pages: one list, detail, create and edit view serve all four kinds.

Reads go through the selectors (a vendor's view of the catalogue is its own manufacturer's);
writes are for QA staff only and answer a vendor with 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import qa_required
from certlab.downloads import uploaded_file_response
from stations import boot_record, selectors
from stations import forms as station_forms
from stations.catalogue import KINDS, Kind, limit_choices, save_form
from stations.firmware_files import FirmwareSizeCap
from stations.forms import FirmwareVersionForm


def _kind(slug: str) -> Kind:
    try:
        return KINDS[slug]
    except KeyError:
        raise Http404("No such catalogue page.") from None


@login_required
@require_GET
def object_list(request: HttpRequest, slug: str) -> HttpResponse:
    kind = _kind(slug)
    page = Paginator(kind.visible(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "stations/object_list.html", {"kind": kind, "page": page})


@login_required
@require_GET
def object_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    kind = _kind(slug)
    obj = selectors.get_visible_or_404(kind.visible(user=request.user), pk)
    context = {"kind": kind, "object": obj, **_related(request, obj)}
    return render(request, f"stations/{kind.url_prefix}_detail.html", context)


def _related(request: HttpRequest, obj) -> dict:
    user = request.user
    if kind_name := obj._meta.model_name:
        if kind_name == "manufacturer":
            return {
                "models": selectors.charger_models_for(user=user).filter(manufacturer=obj),
                "stations": selectors.stations_for(user=user).filter(
                    charger_model__manufacturer=obj
                ),
            }
        if kind_name == "station":
            return {"last_boot": boot_record.last_boot(obj)}
        if kind_name == "chargermodel":
            return {
                "firmware": selectors.firmware_versions_for(user=user).filter(charger_model=obj),
                "stations": selectors.stations_for(user=user).filter(charger_model=obj),
            }
    return {}


@qa_required
def object_create(request: HttpRequest, slug: str) -> HttpResponse:
    return _edit(request, _kind(slug), None)


@qa_required
def object_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    kind = _kind(slug)
    return _edit(request, kind, selectors.get_visible_or_404(kind.visible(user=request.user), pk))


def _edit(request: HttpRequest, kind: Kind, instance) -> HttpResponse:
    form = kind.form(request.POST or None, request.FILES or None, instance=instance)
    limit_choices(form, user=request.user)
    if request.method == "POST" and form.is_valid():
        obj = save_form(form, user=request.user)
        verb = "Saved" if instance else "Created"
        messages.success(request, f"{verb} {kind.singular} “{obj}”.")
        return redirect(obj)
    status = 400 if request.method == "POST" else 200
    context = {"kind": kind, "form": form, "object": instance}
    return render(request, "stations/object_form.html", context, status=status)


@qa_required
@require_http_methods(["GET", "POST"])
def station_fill_from_boot(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what the last BootNotification would change in the record, to confirm; POST: do it."""
    station = selectors.get_visible_or_404(selectors.stations_for(user=request.user), pk)
    if request.method == "POST":
        try:
            taken = boot_record.station_fill_from_boot(station=station, user=request.user)
        except ValidationError as error:
            messages.error(request, "The record was not changed: " + " ".join(error.messages))
            return redirect(station)
        if taken:
            names = ", ".join(f"{c.label.lower()} {c.new or '(none)'}" for c in taken)
            messages.success(request, f"Taken from the last BootNotification: {names}.")
        else:
            messages.info(request, "The last BootNotification changes nothing in the record.")
        return redirect(station)
    context = {
        "object": station,
        "boot": boot_record.last_boot(station),
        "changes": boot_record.station_boot_changes(station=station),
    }
    return render(request, "stations/station_fill_from_boot.html", context)


@login_required
@require_GET
def firmware_download(request: HttpRequest, pk: int) -> FileResponse:
    firmware = selectors.get_visible_or_404(selectors.firmware_versions_for(user=request.user), pk)
    if not firmware.file:
        raise Http404("This firmware version has no file.")
    return uploaded_file_response(firmware.file)


# The size cap must act while the body streams in, before anything reads request.POST, and the
# CSRF middleware reads it for a POST: the check is exempted here and done inside instead, after
# the cap's upload handler is in place (as Django's documentation prescribes).
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def firmware_upload(request: HttpRequest) -> HttpResponse:
    """A vendor uploads a firmware file for one of its own models (QA may too); another
    manufacturer's model is not among the choices, and one posted anyway is refused."""
    cap = FirmwareSizeCap(request, limit=station_forms.MAX_FIRMWARE_BYTES)
    request.upload_handlers.insert(0, cap)
    return _firmware_upload(request, cap)


@csrf_protect
def _firmware_upload(request: HttpRequest, cap: FirmwareSizeCap) -> HttpResponse:
    form = FirmwareVersionForm(
        request.POST or None,
        request.FILES or None,
        initial={"charger_model": request.GET.get("model")},
    )
    form.fields["file"].required = True
    limit_choices(form, user=request.user)
    if cap.refused:  # the file was dropped as it passed the cap: say so, not "required"
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", cap.message())
    elif request.method == "POST" and form.is_valid():
        firmware = save_form(form, user=request.user)
        messages.success(request, f"Uploaded “{firmware}”: {firmware.file_size} bytes, "
                                  f"SHA-256 {firmware.file_sha256}.")  # fmt: skip
        return redirect(firmware)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "max_mb": station_forms.MAX_FIRMWARE_BYTES // (1024 * 1024)}
    return render(request, "stations/firmware_upload.html", context, status=status)


@login_required
@require_GET
def catalogue_home(request: HttpRequest) -> HttpResponse:
    return redirect("stations:object_list", slug="stations")
