"""The station catalogue: the same four kinds as the catalogue pages, validated by their forms.

Reads go through stations.selectors (a vendor sees its own manufacturer's objects, anything else
is a 404); writes are QA's (api.permissions)."""

from __future__ import annotations

from django.db.models import BooleanField
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from api.errors import form_errors
from api.serializers.catalogue import (
    ChargerModelSerializer,
    DiagnosticsFileSerializer,
    FirmwareDownloadSerializer,
    FirmwareVersionSerializer,
    FramePageSerializer,
    FrameSerializer,
    ManufacturerSerializer,
    StationSerializer,
)
from api.views.common import FileRenderer, form_data
from api.views.frames import frame_page
from certlab.downloads import uploaded_file_response
from stations.catalogue import KINDS, limit_choices, save_form
from transfers import selectors as transfer_selectors


class CatalogueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List, read, create (POST) and change (PATCH) one kind of catalogue object."""

    slug = ""
    http_method_names = ["get", "post", "patch", "head", "options"]

    @property
    def kind(self):
        return KINDS[self.slug]

    def get_queryset(self):
        return self.kind.visible(user=self.request.user).order_by("pk")

    def create(self, request, *args, **kwargs) -> Response:
        return self._save(None, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs) -> Response:
        return self._save(self.get_object(), status.HTTP_200_OK)

    def _save(self, instance, code: int) -> Response:
        form_class = self.kind.form
        data = form_data(self.request.data, instance, fields=form_class._meta.fields)
        if instance is None:
            data = {**_boolean_defaults(form_class), **data}
        form = form_class(data, self.request.FILES or None, instance=instance)
        limit_choices(form, user=self.request.user)
        if not form.is_valid():
            raise form_errors(form)
        obj = save_form(form, user=self.request.user)
        return Response(self.get_serializer(obj).data, status=code)


def _boolean_defaults(form_class) -> dict:
    """A yes/no field left out of a JSON body takes the model's default, not the False of an
    unticked HTML checkbox (a model's declared capabilities default to yes)."""
    model = form_class._meta.model
    fields = (model._meta.get_field(name) for name in form_class._meta.fields)
    return {f.name: f.get_default() for f in fields if isinstance(f, BooleanField)}


class ManufacturerViewSet(CatalogueViewSet):
    slug = "manufacturers"
    serializer_class = ManufacturerSerializer


class ChargerModelViewSet(CatalogueViewSet):
    slug = "models"
    serializer_class = ChargerModelSerializer


class FirmwareVersionViewSet(CatalogueViewSet):
    """Firmware versions; POST or PATCH a multipart body with ``file`` to upload the file."""

    slug = "firmware"
    serializer_class = FirmwareVersionSerializer

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=[FileRenderer])
    def file(self, request, pk=None) -> FileResponse:
        firmware = self.get_object()
        if not firmware.file:
            raise Http404("This firmware version has no file.")
        return uploaded_file_response(firmware.file)

    @extend_schema(request={"multipart/form-data": FirmwareVersionSerializer},
                   responses={201: FirmwareVersionSerializer})  # fmt: skip
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def upload(self, request) -> Response:
        """A vendor (or QA) uploads a firmware file for one of its own models (criterion 12.a):
        multipart ``charger_model``, ``version``, ``file`` (required), ``release_notes``. The
        answer gives its ``size`` and ``sha256``; another manufacturer's model is a 400. The one
        catalogue write a vendor may make."""
        form = self.kind.form(form_data(request.data, None, fields=self.kind.form._meta.fields),
                              request.FILES or None)  # fmt: skip
        form.fields["file"].required = True
        limit_choices(form, user=request.user)
        if not form.is_valid():
            raise form_errors(form)
        firmware = save_form(form, user=request.user)
        return Response(self.get_serializer(firmware).data, status=status.HTTP_201_CREATED)


FRAME_FILTERS = [
    OpenApiParameter("before", int, description="Frames older than this frame id (next page)."),
    OpenApiParameter("after", int, description="Frames newer than this id, oldest first (tail)."),
    OpenApiParameter("limit", int, description="At most this many (default 100, at most 500)."),
    OpenApiParameter("action", str, description="Only this OCPP action, e.g. StatusNotification"),
    OpenApiParameter("direction", str, enum=["in", "out"]),
    OpenApiParameter("message_type", str, enum=["CALL", "CALLRESULT", "CALLERROR", "invalid"]),
    OpenApiParameter("errors", bool, description="Only frames with something wrong."),
    OpenApiParameter("connection", int, description="Only the frames of one connection."),
]


class StationViewSet(CatalogueViewSet):
    slug = "stations"
    serializer_class = StationSerializer

    def get_queryset(self):
        stations = super().get_queryset()
        if self.action == "list" and (wanted := self.request.query_params.get("charge_point_id")):
            stations = stations.filter(charge_point_id=wanted)
        return stations

    @extend_schema(parameters=[OpenApiParameter("charge_point_id", str)])
    def list(self, request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=FRAME_FILTERS, responses=FramePageSerializer)
    @action(detail=True, methods=["get"], serializer_class=FrameSerializer)
    def frames(self, request, pk=None) -> Response:
        """The station's frames, newest first, a page at a time (``next`` holds the cursor)."""
        frames, links = frame_page(request, self.get_object())
        return Response({**links, "results": FrameSerializer(frames, many=True).data})

    @extend_schema(responses=DiagnosticsFileSerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=DiagnosticsFileSerializer)
    def diagnostics(self, request, pk=None) -> Response:
        """The station's diagnostics uploads, newest first."""
        station = self.get_object()
        uploads = transfer_selectors.diagnostics_files_visible(user=request.user).filter(
            station=station
        )
        page = self.paginate_queryset(uploads)
        return self.get_paginated_response(DiagnosticsFileSerializer(page, many=True).data)

    @extend_schema(responses=FirmwareDownloadSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="firmware-downloads",
        serializer_class=FirmwareDownloadSerializer,
    )
    def firmware_downloads(self, request, pk=None) -> Response:
        """Every fetch of a firmware file by the station, oldest first."""
        station = self.get_object()
        downloads = transfer_selectors.firmware_downloads_visible(user=request.user).filter(
            station=station
        )
        page = self.paginate_queryset(downloads)
        return self.get_paginated_response(FirmwareDownloadSerializer(page, many=True).data)


class DiagnosticsFileViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DiagnosticsFileSerializer

    def get_queryset(self):
        return transfer_selectors.diagnostics_files_visible(user=self.request.user)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=[FileRenderer])
    def file(self, request, pk=None) -> FileResponse:
        upload = self.get_object()
        if not upload.file:
            raise Http404("This upload did not arrive whole; nothing was kept.")
        return uploaded_file_response(upload.file, filename=upload.file_name)
