"""The catalogue as JSON: manufacturers, charger models, firmware versions, stations, and the
frames and files of a station. Writes are validated by the pages' own forms (api.views)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from stations.forms import DECLARATION_FIELDS
from stations.models import ChargerModel, FirmwareVersion, Frame, Manufacturer, Station
from transfers.models import DiagnosticsFile, FirmwareDownload


class ManufacturerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Manufacturer
        fields = ["id", "name", "number", "created"]
        read_only_fields = ["created"]


class ChargerModelSerializer(serializers.ModelSerializer):
    max_power_kw = serializers.DecimalField(max_digits=7, decimal_places=1)

    class Meta:
        model = ChargerModel
        fields = [
            "id", "manufacturer", "name", "connector_count", "current_type", "max_power_kw",
            *DECLARATION_FIELDS,
        ]  # fmt: skip


class FirmwareVersionSerializer(serializers.ModelSerializer):
    file = serializers.FileField(required=False, write_only=True, help_text="The firmware file.")
    has_file = serializers.SerializerMethodField()
    file_name = serializers.SerializerMethodField()
    size = serializers.SerializerMethodField()
    sha256 = serializers.CharField(
        source="file_sha256", read_only=True, help_text="Taken while the file was uploaded."
    )
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = FirmwareVersion
        fields = [
            "id",
            "charger_model",
            "version",
            "release_notes",
            "created",
            "file",
            "has_file",
            "file_name",
            "size",
            "sha256",
            "uploaded_by",
            "download_url",
        ]
        read_only_fields = ["created"]

    def get_has_file(self, obj: FirmwareVersion) -> bool:
        return bool(obj.file)

    def get_file_name(self, obj: FirmwareVersion) -> str:
        return obj.file.name.rsplit("/", 1)[-1] if obj.file else ""

    @extend_schema_field(OpenApiTypes.INT)
    def get_size(self, obj: FirmwareVersion) -> int | None:
        if obj.file and obj.file_size is not None:
            return obj.file_size
        try:
            return obj.file.size if obj.file else None
        except OSError:  # the record names a file storage no longer has
            return None

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, obj: FirmwareVersion) -> str | None:
        return reverse("api:firmware-file", args=[obj.pk]) if obj.file else None


class StationSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        required=False,
        write_only=True,
        allow_blank=True,
        help_text="Basic-auth password (16-40 characters), stored hashed; empty keeps it.",
    )
    clear_password = serializers.BooleanField(required=False, write_only=True)
    has_password = serializers.BooleanField(read_only=True)
    capabilities = serializers.SerializerMethodField(
        help_text="The declaration in force: the model's, with this station's overrides (listed "
        "in station_overrides)."
    )

    class Meta:
        model = Station
        fields = [
            "id",
            "charge_point_id",
            "charger_model",
            "expected_firmware",
            "serial_number",
            "iccid",
            "is_simulator",
            "notes",
            "created",
            "has_password",
            "password",
            "clear_password",
            *DECLARATION_FIELDS,
            "capabilities",
        ]
        read_only_fields = ["created"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_capabilities(self, obj: Station) -> dict:
        return obj.capabilities.as_dict()


class FrameSerializer(serializers.ModelSerializer):
    class Meta:
        model = Frame
        fields = [
            "id",
            "timestamp",
            "direction",
            "message_type",
            "action",
            "unique_id",
            "raw",
            "payload",
            "error",
            "connection",
        ]


class FramePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="Older frames (or, with after=, newer).")
    previous = serializers.URLField(allow_null=True, help_text="Newer frames, oldest first.")
    results = FrameSerializer(many=True)


class DiagnosticsFileSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DiagnosticsFile
        fields = [
            "id",
            "station",
            "file_name",
            "size",
            "sha256",
            "started",
            "received",
            "complete",
            "error",
            "attempt_id",
            "download_url",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, obj: DiagnosticsFile) -> str | None:
        return reverse("api:diagnostics-file", args=[obj.pk]) if obj.file else None


class FirmwareDownloadSerializer(serializers.ModelSerializer):
    class Meta:
        model = FirmwareDownload
        fields = [
            "id",
            "station",
            "firmware",
            "protocol",
            "file_name",
            "file_size",
            "started",
            "served",
            "finished",
            "bytes_sent",
            "complete",
            "error",
            "attempt_id",
        ]
