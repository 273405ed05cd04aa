"""Django admin for the catalogue (and, below, the Central System's records)."""

from django.contrib import admin

from stations.forms import StationForm
from stations.models import (
    AuthorizationTag,
    ChargerModel,
    Command,
    Connection,
    ConnectorStatus,
    FirmwareVersion,
    Frame,
    Manufacturer,
    PendingStation,
    Station,
    StationSettings,
    Transaction,
)


@admin.register(Manufacturer)
class ManufacturerAdmin(admin.ModelAdmin):
    list_display = ("name", "number", "created")
    search_fields = ("name", "number")


@admin.register(ChargerModel)
class ChargerModelAdmin(admin.ModelAdmin):
    list_display = ("name", "manufacturer", "connector_count", "current_type", "max_power_kw")
    list_filter = ("manufacturer", "current_type")
    search_fields = ("name", "manufacturer__name")


@admin.register(FirmwareVersion)
class FirmwareVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "charger_model", "file", "created")
    list_filter = ("charger_model__manufacturer",)
    search_fields = ("version", "charger_model__name")


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    form = StationForm  # the password field hashes; the admin never shows or stores it plain
    list_display = ("charge_point_id", "charger_model", "expected_firmware", "serial_number")
    list_filter = ("charger_model__manufacturer",)
    search_fields = ("charge_point_id", "serial_number", "iccid")


# --- The Central System's records (read-mostly: the frame log is evidence) ---


@admin.register(AuthorizationTag)
class AuthorizationTagAdmin(admin.ModelAdmin):
    list_display = ["id_tag", "status", "parent_id_tag", "expiry_date", "note"]
    list_filter = ["status"]
    search_fields = ["id_tag"]


@admin.register(StationSettings)
class StationSettingsAdmin(admin.ModelAdmin):
    list_display = ["station", "boot_status", "heartbeat_interval"]


@admin.register(PendingStation)
class PendingStationAdmin(admin.ModelAdmin):
    list_display = ["charge_point_id", "first_seen", "last_seen", "remote_address"]


@admin.register(Frame)
class FrameAdmin(admin.ModelAdmin):
    list_display = [
        "timestamp",
        "station",
        "pending_station",
        "direction",
        "message_type",
        "action",
        "unique_id",
    ]
    list_filter = ["direction", "message_type", "has_error"]
    search_fields = ["unique_id", "station__charge_point_id"]
    raw_id_fields = ["station", "pending_station", "connection"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = [
        "station",
        "pending_station",
        "opened",
        "closed",
        "remote_address",
        "end_reason",
        "close_code",
        "close_reason",
        "refused",
    ]
    list_filter = ["end_reason"]
    raw_id_fields = ["station", "pending_station"]


admin.site.register([ConnectorStatus, Transaction, Command])
